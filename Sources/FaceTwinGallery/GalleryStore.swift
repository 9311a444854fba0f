import Foundation

/// A gallery wherever it is kept: an SQLite file (``Gallery``, the default) or a PostgreSQL
/// database (`PostgresGallery` in FaceTwinPostgres). Callers (the CLI, a server) hold an
/// `any GalleryStore` and do not care which.
///
/// Every implementation gives the same guarantees: an enroll or an import is one transaction
/// (a killed process leaves nothing half-written), a gallery refuses a model other than the one
/// that made its templates (``GalleryError/modelMismatch(path:galleryFingerprint:galleryModelPath:modelFingerprint:modelPath:)``),
/// a schema newer than this build's is refused, names compare in Unicode NFC.
///
/// Calls are synchronous and may block on I/O: call them from a worker thread, never from an
/// event loop.
public protocol GalleryStore: AnyObject {
    /// Where the gallery is: a file path, or a database URL without its password. Messages start with it.
    var path: String { get }
    /// What the gallery records about itself.
    var info: GalleryInfo { get }
    /// The model bound to the gallery, or nil when it was opened for management only.
    var model: FaceModel? { get }
    /// Where the bound model was loaded from (absolute), for messages.
    var modelPath: String? { get }
    /// Whether opening it created the gallery.
    var isNew: Bool { get }

    /// Every identity with its number of templates, in natural name order.
    func identities() throws(GalleryError) -> [IdentitySummary]
    /// Whether an identity of that name (up to Unicode normalization) is enrolled.
    func contains(identity name: String) throws(GalleryError) -> Bool
    /// The templates of one identity, in enrollment order.
    func templates(of name: String) throws(GalleryError) -> [GalleryTemplate]
    /// Distances from a probe embedding to every identity's templates, in natural name order.
    func distances(probe: [Float]) throws(GalleryError) -> [IdentityDistance]
    /// Distances from a probe embedding to one identity's templates.
    func distances(probe: [Float], to name: String) throws(GalleryError) -> IdentityDistance
    /// Removes an identity and its templates; returns how many templates went.
    @discardableResult func remove(name: String) throws(GalleryError) -> Int
    /// Gives an identity a new name, keeping its templates.
    func rename(old: String, new: String) throws(GalleryError)
    /// Writes an enroll plan made with this gallery's model, in one transaction.
    func enroll(_ plan: EnrollPlan) throws(GalleryError) -> [EnrollmentReport]
    /// Adds an export's templates in one transaction: all of them or none.
    func importTemplates(_ export: TemplateExport) throws(GalleryError) -> ImportReport
    /// A token that changes whenever an identity or template is added, removed or renamed, by
    /// any process (``TemplateIndex`` reloads when it does).
    func generation() throws(GalleryError) -> GalleryGeneration
    /// Every usable template in one contiguous matrix, for identification.
    func loadIndex() throws(GalleryError) -> TemplateIndex

    // The API keys of `facetwin serve` (GalleryKeys.swift): only their SHA-256 is stored.

    /// Makes a key named `name` with `role`, stores its hash, returns the key (shown once).
    func addKey(name: String, role: KeyRole) throws(GalleryError) -> String
    /// The keys' names, roles and dates (never the keys), in natural name order.
    func keys() throws(GalleryError) -> [APIKeySummary]
    /// Deletes the key named `name`.
    func revokeKey(name: String) throws(GalleryError)
    /// The key's name and role when `key` is one of the gallery's keys, else nil.
    func authenticate(key: String) throws(GalleryError) -> APIKeySummary?
}

/// What ``GalleryStore/generation()`` returns: equal tokens mean an unchanged gallery.
public struct GalleryGeneration: Hashable, Sendable, CustomStringConvertible {
    public let token: String
    public init(_ token: String) { self.token = token }
    public var description: String { token }
}

extension GalleryStore {
    /// Enrolls photos of one person: every photo is decoded, hashed and embedded first, then
    /// everything is written in one transaction (see ``Gallery/plan(name:images:model:gallery:skipBad:)``).
    public func enroll(name: String, images: [String], skipBad: Bool = false) throws(GalleryError) -> EnrollmentReport {
        guard let model else { throw .noModel(path: path) }
        return try enroll(Gallery.plan(name: name, images: images, model: model, gallery: path, skipBad: skipBad))[0]
    }

    /// Enrolls every identity folder under `root` (`root/<name>/<photo>`), all in one
    /// transaction (see ``Gallery/planFolder(root:model:gallery:skipBad:)``).
    public func enrollFolder(root: String, skipBad: Bool = false) throws(GalleryError) -> [EnrollmentReport] {
        guard let model else { throw .noModel(path: path) }
        return try enroll(Gallery.planFolder(root: root, model: model, gallery: path, skipBad: skipBad))
    }

    /// Every template, identities in natural name order, each identity's in enrollment order.
    public func allTemplates() throws(GalleryError) -> [GalleryTemplate] {
        var all: [GalleryTemplate] = []
        for identity in try identities() { all += try templates(of: identity.name) }
        return all
    }

    /// The export file's text (see ``TemplateExport``) and its number of templates.
    public func exportText() throws(GalleryError) -> ExportedText {
        var text = TemplateExport.comment(fingerprint: info.modelFingerprint, dimension: info.embeddingSize) + "\n"
        text += TemplateExport.header(dimension: info.embeddingSize) + "\n"
        let templates = try allTemplates()
        for t in templates {
            var cells = [CSV.field(t.identity), CSV.field(t.imagePath), t.imageSHA256]
            for v in t.embedding { cells.append(String(format: "%.9g", Double(v))) }
            text += cells.joined(separator: ",") + "\n"
        }
        return ExportedText(text: text, templateCount: templates.count)
    }

    /// Writes every template to `path` (atomically, through `OutputFile`); returns how many.
    @discardableResult
    public func export(to path: String) throws(GalleryError) -> Int {
        let export = try exportText()
        do { try OutputFile.write(export.text, to: path) } catch { throw .file(error) }
        return export.templateCount
    }

    /// Every template of this gallery as an export (the fingerprint kept), to copy it into another gallery.
    public func templateExport() throws(GalleryError) -> TemplateExport {
        let rows = try allTemplates().enumerated().map { i, t in
            TemplateExport.Row(
                identity: t.identity, imagePath: t.imagePath, imageSHA256: t.imageSHA256, embedding: t.embedding, line: i + 3)
        }
        return TemplateExport(path: path, modelFingerprint: info.modelFingerprint, dimension: info.embeddingSize, rows: rows)
    }

    /// The checks every store makes before an import writes anything: the export's model and dimension.
    public func checkImport(_ export: TemplateExport) throws(GalleryError) {
        var accepted: Set<String> = [info.modelFingerprint]
        if let model { accepted.formUnion([model.fingerprint, model.weightsFingerprint]) }
        guard accepted.contains(export.modelFingerprint) else {
            throw .exportModelMismatch(
                file: export.path, fileFingerprint: export.modelFingerprint, target: "gallery \(path)",
                targetFingerprint: info.modelFingerprint)
        }
        guard export.dimension == info.embeddingSize else {
            throw .badExport(
                file: export.path, line: 1,
                problem: "dimension \(export.dimension), but gallery \(path) holds embeddings of \(info.embeddingSize) values")
        }
    }
}

/// The writes of one transaction of a store, in the terms enroll and import need. Each store
/// implements it over its own connection inside its own transaction; the logic of what to
/// write (`EnrollPlan/write(into:)`, `TemplateExport/write(into:)`) is shared.
public protocol GalleryWriteTransaction {
    /// The identity whose name is `name` up to Unicode normalization, or nil.
    func identityID(name: String) throws -> Int64?
    /// Adds an identity (its name already in NFC); its id.
    func insertIdentity(name: String, at date: Date) throws -> Int64
    /// The path the photo of that SHA-256 was enrolled as for this identity, or nil.
    func enrolledPath(identity: Int64, sha256: String) throws -> String?
    /// Adds a template; false (nothing written) when the identity has one of the same SHA-256.
    func insertTemplate(identity: Int64, embedding: [Float], imagePath: String, sha256: String, at date: Date) throws -> Bool
    /// The identity's number of templates.
    func templateCount(identity: Int64) throws -> Int
    /// Every identity's id and name as stored.
    func allIdentities() throws -> [(id: Int64, name: String)]
}

extension EnrollPlan {
    /// Writes the plan through one transaction's writes; the reports, one per identity.
    public func write(into tx: any GalleryWriteTransaction, at now: Date) throws -> [EnrollmentReport] {
        var reports: [EnrollmentReport] = []
        for (b, batch) in batches.enumerated() {
            var id = try tx.identityID(name: batch.name)
            let isNew = id == nil
            var enrolled: [String] = []
            var dups = duplicates[b]
            for (i, item) in items.enumerated() where item.batch == b {
                if let id, let earlier = try tx.enrolledPath(identity: id, sha256: item.sha) {
                    dups.append(SkippedPhoto(path: item.path, reason: "already enrolled for \"\(batch.name)\" (as \(earlier))"))
                    continue
                }
                if id == nil { id = try tx.insertIdentity(name: batch.name, at: now) }
                _ = try tx.insertTemplate(
                    identity: id!, embedding: embeddings[i], imagePath: item.path, sha256: item.sha, at: now)
                enrolled.append(item.path)
            }
            let count = try id.map { try tx.templateCount(identity: $0) } ?? 0
            reports.append(
                EnrollmentReport(
                    identity: batch.name, isNewIdentity: isNew && id != nil, enrolled: enrolled,
                    duplicates: dups, skipped: skipped[b], templateCount: count))
        }
        return reports
    }

    /// The reports of identity folders left out for their names, after the written ones.
    public var droppedReports: [EnrollmentReport] {
        dropped.map {
            EnrollmentReport(
                identity: Gallery.visible(($0.path as NSString).lastPathComponent), isNewIdentity: false, enrolled: [],
                duplicates: [], skipped: [$0], templateCount: 0)
        }
    }
}

extension TemplateExport {
    /// Writes every row through one transaction's writes (a row whose identity already has a
    /// template of the same SHA-256 is left out and counted).
    public func write(into tx: any GalleryWriteTransaction, at now: Date) throws -> ImportReport {
        var imported = 0
        var duplicates = 0
        var created: [String] = []
        // Every identity once, by its NFC name: a lookup per row would scan the table for names
        // stored in another form, once per new identity (quadratic in a large import).
        var ids: [String: Int64] = [:]
        for (id, name) in try tx.allIdentities() where ids[Gallery.normalized(name)] == nil {
            ids[Gallery.normalized(name)] = id
        }
        for row in rows {
            let key = Gallery.normalized(row.identity)
            var id = ids[key]
            if id == nil {
                id = try tx.insertIdentity(name: key, at: now)
                created.append(row.identity)
            }
            ids[key] = id
            if try tx.insertTemplate(
                identity: id!, embedding: row.embedding, imagePath: row.imagePath, sha256: row.imageSHA256, at: now)
            {
                imported += 1
            } else {
                duplicates += 1
            }
        }
        return ImportReport(imported: imported, duplicates: duplicates, newIdentities: created)
    }
}

/// Min and mean distances per identity from rows of (identity, stored embedding), the rows of
/// one identity together: what ``GalleryStore/distances(probe:)`` returns, in natural name order.
public enum GalleryDistances {
    public static func summarize(
        probe: [Float], rows: [(identity: String, embedding: Data)], size: Int, path: String
    ) throws(GalleryError) -> [IdentityDistance] {
        var order: [String] = []
        var acc: [String: (min: Double, sum: Double, count: Int, skipped: Int)] = [:]
        for (identity, data) in rows {
            let e = try TemplateCodec.decode(data, size: size, path: path)
            let d = exactDistance(probe, e)
            var a = acc[identity] ?? (.infinity, 0, 0, 0)
            if acc[identity] == nil { order.append(identity) }
            // A template holding NaN or infinity (or one so large its distance overflows) is
            // skipped and counted, never compared.
            if d.isFinite, Float(d).isFinite {
                a = (Swift.min(a.min, d), a.sum + d, a.count + 1, a.skipped)
            } else {
                a.skipped += 1
            }
            acc[identity] = a
        }
        return NaturalOrder.sorted(order).map { identity in
            let a = acc[identity]!
            return IdentityDistance(
                name: identity, minDistance: a.count > 0 ? Float(a.min) : .infinity,
                meanDistance: a.count > 0 ? Float(a.sum / Double(a.count)) : .infinity, templateCount: a.count,
                skippedTemplates: a.skipped)
        }
    }

    /// The Euclidean distance, summed in Double in index order (what every path of FaceTwin reports).
    @inline(__always)
    static func exactDistance(_ probe: [Float], _ e: [Float]) -> Double {
        var sum = 0.0
        for c in 0..<probe.count {
            let diff = Double(probe[c]) - Double(e[c])
            sum += diff * diff
        }
        return sum.squareRoot()
    }
}

/// A gallery's export file as text (``GalleryStore/exportText()``).
public struct ExportedText: Equatable, Sendable {
    public var text: String
    public var templateCount: Int

    public init(text: String, templateCount: Int) {
        self.text = text
        self.templateCount = templateCount
    }
}
