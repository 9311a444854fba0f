import Foundation
import GRDB

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A photo that was not enrolled, and why.
public struct SkippedPhoto: Sendable, Equatable, Codable {
    public let path: String
    public let reason: String

    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }
}

/// An enroll's photos decoded, checked and embedded, not yet written
/// (``Gallery/plan(name:images:model:gallery:skipBad:)``, ``Gallery/enroll(_:)``).
public struct EnrollPlan: Sendable {
    struct Item: Sendable { var batch: Int; var path: String; var sha: String }
    let batches: [Gallery.EnrollBatch]
    let items: [Item]
    let embeddings: [[Float]]
    let skipped: [[SkippedPhoto]]
    let duplicates: [[SkippedPhoto]]
    let dropped: [SkippedPhoto]

    /// Whether no photo would become a template: every one failed or was given twice.
    public var enrollsNothing: Bool { items.isEmpty }
    /// The photos (and identity folders) that failed, in order.
    public var skippedPhotos: [SkippedPhoto] { skipped.flatMap { $0 } + dropped }
}

/// What one enroll did for one identity.
public struct EnrollmentReport: Sendable, Equatable, Codable {
    public let identity: String
    /// Whether this enroll created the identity.
    public let isNewIdentity: Bool
    /// Photos that became templates, in the order given.
    public let enrolled: [String]
    /// Photos already enrolled for this identity (same SHA-256), or given twice.
    public let duplicates: [SkippedPhoto]
    /// Photos (or an identity folder without photos) skipped as unreadable (`skipBad` only).
    public let skipped: [SkippedPhoto]
    /// The identity's templates after the enroll.
    public let templateCount: Int
}

extension Gallery {
    /// The photos of one person decoded, checked and embedded by `model`, not yet written
    /// (``enroll(_:)`` writes them): so a first enroll can find that nothing would be enrolled
    /// before any gallery is made. `gallery` is the gallery's path, for messages.
    public static func plan(name: String, images: [String], model: FaceModel, gallery: String, skipBad: Bool = false)
        throws(GalleryError) -> EnrollPlan
    {
        try validate(name: name)
        guard !images.isEmpty else { throw .nothingToEnroll(path: gallery, reason: "no photos given for \"\(name)\"") }
        return try prepare(
            [EnrollBatch(name: normalized(name), photos: images, skipped: [])], model: model, gallery: gallery,
            skipBad: skipBad)
    }

    /// `enrollFolder(root:skipBad:)`'s photos decoded, checked and embedded, not yet written.
    public static func planFolder(root: String, model: FaceModel, gallery: String, skipBad: Bool = false)
        throws(GalleryError) -> EnrollPlan
    {
        let folders = try Self.listing(root).folders.map(\.name)
        guard !folders.isEmpty else {
            throw .nothingToEnroll(path: root, reason: "no identity folders (expected \(root)/<name>/<photo>.pgm)")
        }
        var batches: [EnrollBatch] = []
        var dropped: [SkippedPhoto] = []
        for name in folders {
            let folder = FolderListing.join(root, name)
            do throws(GalleryError) {
                try Self.validate(name: name)
            } catch {
                if !skipBad { throw error }
                dropped.append(SkippedPhoto(path: folder, reason: error.description))
                continue
            }
            let photos = try Self.listing(folder).images.map(\.path)
            if photos.isEmpty {
                let reason = "no photos (.pgm, .ppm, .pnm, .pam, .png, .jpg, .jpeg or .webp files)"
                if !skipBad { throw .nothingToEnroll(path: folder, reason: reason) }
                batches.append(
                    EnrollBatch(name: Self.normalized(name), photos: [], skipped: [SkippedPhoto(path: folder, reason: reason)]))
                continue
            }
            batches.append(
                EnrollBatch(
                    name: Self.normalized(name), photos: photos,
                    skipped: []))
        }
        return try prepare(batches, model: model, gallery: gallery, skipBad: skipBad, dropped: dropped)
    }

    struct EnrollBatch: Sendable {
        var name: String
        var photos: [String]
        var skipped: [SkippedPhoto]
    }

    /// Decodes, hashes and embeds everything. `dropped`: identity folders left out for their
    /// names (`skipBad`), reported after the rest, each as an identity with nothing enrolled.
    static func prepare(
        _ batches: [EnrollBatch], model: FaceModel, gallery path: String, skipBad: Bool, dropped: [SkippedPhoto] = []
    ) throws(GalleryError) -> EnrollPlan {
        typealias Prepared = EnrollPlan.Item
        var prepared: [Prepared] = []
        var pixels: [Float] = []
        var skipped = batches.map(\.skipped)
        var duplicates = [[SkippedPhoto]](repeating: [], count: batches.count)
        for (b, batch) in batches.enumerated() {
            var seen: [String: String] = [:]
            for photo in batch.photos {
                do throws(ImageError) {
                    let input = try model.prepareImage(at: photo)
                    let sha = try Self.sha256(ofFile: photo)
                    if let first = seen[sha] {
                        duplicates[b].append(SkippedPhoto(path: photo, reason: "same photo as \(first)"))
                        continue
                    }
                    seen[sha] = photo
                    pixels += input
                    prepared.append(Prepared(batch: b, path: photo, sha: sha))
                } catch {
                    // No face (blank, or a refused multi-face photo): a failure to enroll, reported, not fatal.
                    if error.isFailureToAcquire {
                        skipped[b].append(SkippedPhoto(path: photo, reason: "failure to enroll (FTE): " + Self.reason(error)))
                        continue
                    }
                    if !skipBad { throw .badPhoto(gallery: path, identity: batch.name, error: error) }
                    skipped[b].append(SkippedPhoto(path: photo, reason: Self.reason(error)))
                }
            }
        }
        var embeddings = model.embed(pixels: pixels, count: prepared.count)
        // A NaN template would never match (and a NaN distance never sorts): the photo is bad.
        if let bad = embeddings.firstIndex(where: { !$0.allSatisfy(\.isFinite) }) {
            var keep: [Int] = []
            for (i, e) in embeddings.enumerated() {
                if e.allSatisfy(\.isFinite) { keep.append(i); continue }
                let item = prepared[i]
                let error = ImageError.nonFiniteEmbedding(path: item.path)
                if !skipBad { throw .badPhoto(gallery: path, identity: batches[prepared[bad].batch].name, error: error) }
                skipped[item.batch].append(SkippedPhoto(path: item.path, reason: Self.reason(error)))
            }
            prepared = keep.map { prepared[$0] }
            embeddings = keep.map { embeddings[$0] }
        }
        return EnrollPlan(
            batches: batches, items: prepared, embeddings: embeddings, skipped: skipped, duplicates: duplicates,
            dropped: dropped)
    }

    /// Writes a plan made with this gallery's model, in one transaction.
    public func enroll(_ plan: EnrollPlan) throws(GalleryError) -> [EnrollmentReport] {
        guard model != nil else { throw .noModel(path: path) }
        let now = Date()

        let reports = try write { db in try plan.write(into: SQLiteWrites(db: db), at: now) }
        return reports + plan.droppedReports
    }

    // MARK: - Files

    /// Hex SHA-256 of a file's bytes.
    static func sha256(ofFile path: String) throws(ImageError) -> String {
        let fd: Int32
        do { fd = try InputFile.open(path) } catch { throw .cannotOpen(path: path, reason: error.message) }
        defer { close(fd) }
        var hash = SHA256()
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = buffer.withUnsafeMutableBytes { posixRead(fd, $0.baseAddress!, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw .cannotOpen(path: path, reason: String(cString: strerror(errno)))
            }
            if n == 0 { break }
            buffer.withUnsafeBytes { hash.update(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
        }
        return hash.hexDigest()
    }

    /// An image error's text without its leading path.
    static func reason(_ error: ImageError) -> String {
        let d = error.description
        return d.hasPrefix(error.path + ": ") ? String(d.dropFirst(error.path.count + 2)) : d
    }

    /// The folder's entries (``FolderListing``), its problems as gallery errors naming it.
    static func listing(_ directory: String) throws(GalleryError) -> FolderListing {
        do {
            return try FolderListing(directory)
        } catch {
            switch error {
            case .rootNotFound: throw .folder(path: directory, reason: "folder not found")
            case .notADirectory:
                throw .folder(path: directory, reason: "not a directory (expected <root>/<name>/<photo> folders)")
            case .unreadableDirectory(_, let reason): throw .folder(path: directory, reason: "cannot list directory: \(reason)")
            default: throw .folder(path: directory, reason: error.description)
            }
        }
    }
}

/// The C library's `read` (inside `Gallery`, `read` names the database read).
func posixRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int {
    read(fd, buffer, count)
}

/// A gallery write transaction's writes on SQLite.
struct SQLiteWrites: GalleryWriteTransaction {
    let db: Database

    func identityID(name: String) throws -> Int64? { try Gallery.identityID(db, name: name) }

    func insertIdentity(name: String, at date: Date) throws -> Int64 {
        try db.execute(sql: "INSERT INTO identities (name, created_at) VALUES (?, ?)", arguments: [name, date])
        return db.lastInsertedRowID
    }

    func enrolledPath(identity: Int64, sha256: String) throws -> String? {
        try String.fetchOne(
            db, sql: "SELECT image_path FROM templates WHERE identity_id = ? AND image_sha256 = ?",
            arguments: [identity, sha256])
    }

    func insertTemplate(identity: Int64, embedding: [Float], imagePath: String, sha256: String, at date: Date) throws -> Bool {
        try db.execute(
            sql: """
                INSERT OR IGNORE INTO templates (identity_id, embedding, image_path, image_sha256, enrolled_at)
                VALUES (?, ?, ?, ?, ?)
                """, arguments: [identity, TemplateCodec.encode(embedding), imagePath, sha256, date])
        return db.changesCount == 1
    }

    func templateCount(identity: Int64) throws -> Int {
        try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM templates WHERE identity_id = ?", arguments: [identity]) ?? 0
    }

    func allIdentities() throws -> [(id: Int64, name: String)] {
        try Row.fetchAll(db, sql: "SELECT id, name FROM identities ORDER BY id").map {
            (try $0.decode(Int64.self, forColumn: "id"), try $0.decode(String.self, forColumn: "name"))
        }
    }
}
