import Foundation
import GRDB

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A gallery of enrolled people: an SQLite database (through GRDB) with one row per
/// identity and one template per enrolled photo (the photo's embedding, its path and its
/// SHA-256), bound to the fingerprint of the model that made the templates.
///
/// Why SQLite: an enroll is one transaction, so a bad photo cannot leave a half-enrolled
/// person behind; readers and writers of other processes wait for each other's short
/// transactions (busy timeout). `list`, `show`, `verify` and `identify` open it read-only. Why the model's
/// fingerprint: distances between embeddings of two different models mean nothing, so a
/// gallery refuses every model but its own (a recalibrated threshold is fine: the
/// fingerprint covers the weights, not the metadata).
///
/// The file is created readable and writable by its owner only (0600; SQLite gives its
/// `-journal` file the database's permissions): face templates are biometric data.
/// Deleted rows are overwritten with zeros (`PRAGMA secure_delete`), so `remove` does not
/// leave a person's templates behind in free pages.
///
/// Schema (version 1):
///
///     gallery_meta(id = 1, schema_version, model_fingerprint, model_path, embedding_size, created_at)
///     identities(id, name UNIQUE, created_at)
///     templates(id, identity_id → identities ON DELETE CASCADE, embedding BLOB (little-endian
///               Float32), image_path, image_sha256, enrolled_at, UNIQUE(identity_id, image_sha256))
///     api_keys(…): migration v2, the API keys of `facetwin serve` (GalleryKeys.swift)
public final class Gallery: GalleryStore {
    /// The gallery file, as given.
    public let path: String
    /// What the gallery records about itself.
    public let info: GalleryInfo
    /// The model bound to this gallery (its fingerprint is the gallery's), or nil when the
    /// gallery was opened for management only (list, show, remove, rename).
    public let model: FaceModel?
    /// Where the bound model was loaded from (absolute), for messages.
    public let modelPath: String?
    /// Whether opening it created the gallery.
    public let isNew: Bool

    /// The connection reads go through: read-only unless the gallery was opened to enroll,
    /// so listing, verifying and identifying never write to the file or its folder.
    private(set) var database: DatabaseQueue
    private var isWritable: Bool

    /// The schema this build writes and reads.
    public static let schemaVersion = 1

    /// SQLite's `application_id` (header bytes 68…71) of a gallery: "FTwG". Set when the
    /// gallery is created, so a file with it is provably FaceTwin's even when incomplete.
    public static let applicationID: Int32 = 0x4654_7747

    /// How ``init(path:model:modelPath:mode:)`` treats a missing gallery file.
    public enum OpenMode: Sendable {
        /// Create a new gallery bound to the model when there is none (enroll).
        case openOrCreate
        /// Throw ``GalleryError/notFound(path:)`` when there is none (verify, identify).
        case openExisting
    }

    /// Opens the gallery at `path` bound to `model`, or creates it (mode `.openOrCreate`).
    ///
    /// - Parameters:
    ///   - model: the model that embeds photos and probes.
    ///   - modelPath: where the model was loaded from; stored (made absolute) in a new
    ///     gallery, so later commands can find the model without being told.
    /// - Throws: ``GalleryError/modelMismatch(path:galleryFingerprint:galleryModelPath:modelFingerprint:modelPath:)``
    ///   when an existing gallery was made with another model; `.notFound` (mode
    ///   `.openExisting`), `.notAGallery`, `.newerSchema` or `.database` otherwise.
    ///
    /// Mode `.openExisting` opens read-only: nothing is written until a write (enroll,
    /// remove, rename) asks for it.
    public convenience init(path: String, model: FaceModel, modelPath: String, mode: OpenMode = .openOrCreate)
        throws(GalleryError)
    {
        try self.init(path: path, binding: (model, Self.absolute(modelPath), model.fingerprint), mode: mode)
    }

    /// Opens an existing gallery without a model, read-only, for listing and editing
    /// identities (`remove` and `rename` open it for writing when called).
    /// Enrolling and matching throw ``GalleryError/noModel(path:)``.
    ///
    /// `forWriting`: the caller is about to write (remove, rename, an enroll with the gallery's
    /// own model), so a transaction a killed write left in the rollback journal is rolled back
    /// now, as an enroll does; without it such a gallery throws ``GalleryError/interruptedWrite(path:)``.
    public convenience init(path: String, forWriting: Bool = false) throws(GalleryError) {
        try self.init(path: path, binding: nil, mode: .openExisting, rollsBack: forWriting)
    }

    /// Creation is safe when several processes create the same gallery at once, and after a
    /// kill at any point:
    /// - a new gallery is made complete (tables, metadata, ``applicationID``) in a temporary
    ///   file in the same folder, then hard-linked to `path`; `link(2)` fails atomically when
    ///   `path` exists, and then the gallery another process put there is opened. So `path`
    ///   is never an incomplete gallery, and no process unlinks a file another may hold.
    /// - an empty (0-byte) file, or one with FaceTwin's ``applicationID`` and no table at all,
    ///   is "ours, unfinished" (what older versions left after a kill) and is replaced by a
    ///   complete gallery under an exclusive `flock` of the unfinished file, after checking that
    ///   the path still names that same file. With any table of its own it is someone's data:
    ///   refused, left as it is.
    /// - an interrupted temporary is removed by the next writer (its pid is gone).
    private init(
        path: String, binding: (model: FaceModel, path: String, fingerprint: String)?, mode: OpenMode,
        rollsBack: Bool = false
    ) throws(GalleryError) {
        self.path = path
        self.model = binding?.model
        self.modelPath = binding?.path
        let writable = mode == .openOrCreate && binding != nil
        let rollsBack = writable || rollsBack
        let meta = binding.map {
            GalleryInfo(
                schemaVersion: Self.schemaVersion, modelFingerprint: $0.fingerprint, modelPath: $0.path,
                embeddingSize: $0.model.config.embeddingSize, createdAt: Date())
        }

        var isNew = false
        var opened: (DatabaseQueue, GalleryInfo)? = nil
        for _ in 0..<20 {
            var st = stat()
            if stat(path, &st) != 0 {
                let code = errno
                guard code == ENOENT else { throw .database(path: path, message: String(cString: strerror(code))) }
                guard writable, let meta else { throw .notFound(path: path) }
                if try Self.create(path: path, meta: meta) { isNew = true }
                continue
            }
            switch st.st_mode & S_IFMT {
            case S_IFREG: break
            case S_IFDIR: throw .notAGallery(path: path, reason: "it is a directory")
            default: throw .notAGallery(path: path, reason: "it is \(InputFile.kind(st.st_mode)), not a regular file")
            }
            if st.st_size == 0 {
                guard writable, let meta else { throw .notAGallery(path: path, reason: "empty file") }
                if try Self.replaceUnfinished(path: path, meta: meta, expected: st) { isNew = true }
                continue
            }
            let queue: DatabaseQueue
            do {
                queue = try Self.openQueue(path: path, readonly: true, immutable: Self.isQuietWAL(path))
            } catch {
                let e = Self.galleryError(error, path: path)
                // A killed write's journal: a writing command rolls it back, then checks again.
                guard case .interruptedWrite = e, rollsBack else { throw e }
                try Self.rollBackInterruptedWrite(path: path)
                continue
            }
            do throws(CheckFailure) {
                opened = (queue, try Self.checkIsGallery(queue, path: path))
                break
            } catch {
                guard case .unfinished = error else {
                    if case .failed(let e) = error {
                        guard case .interruptedWrite = e, rollsBack else { throw e }
                        try Self.rollBackInterruptedWrite(path: path)
                        continue
                    }
                    continue
                }
                guard writable, let meta else {
                    throw .notAGallery(
                        path: path, reason: "an unfinished FaceTwin gallery (its creation was interrupted); enroll recreates it")
                }
                if try Self.replaceUnfinished(path: path, meta: meta, expected: st) { isNew = true }
                continue
            }
        }
        guard var (queue, stored) = opened else {
            throw .database(path: path, message: "the file kept changing while it was opened")
        }

        // A gallery made before the probe preparation was part of the fingerprint recorded the
        // weights' fingerprint alone (`FaceModel.weightsFingerprint`): still accepted.
        if let binding, stored.modelFingerprint != binding.fingerprint,
            stored.modelFingerprint != binding.model.weightsFingerprint
        {
            throw .modelMismatch(
                path: path, galleryFingerprint: stored.modelFingerprint, galleryModelPath: stored.modelPath,
                modelFingerprint: binding.fingerprint, modelPath: binding.path)
        }
        if let binding, stored.embeddingSize != binding.model.config.embeddingSize {
            throw .embeddingSize(path: path, expected: stored.embeddingSize, got: binding.model.config.embeddingSize)
        }
        if writable {
            // Checked as FaceTwin's above, read-only: only now is it opened for writing.
            queue = try Self.openWriter(path: path)
            stored = try Self.readInfo(queue, path: path)
        }
        self.database = queue
        self.isWritable = writable
        self.info = stored
        self.isNew = isNew
    }

    /// Makes a complete gallery in a temporary file beside `path` and links it to `path`
    /// unless something is already there. Returns whether this call put the gallery there.
    private static func create(path: String, meta: GalleryInfo) throws(GalleryError) -> Bool {
        let temporary = try makeComplete(beside: path, meta: meta)
        defer { unlink(temporary) }  // the temporary's own name: private to this process
        if link(temporary, path) == 0 {
            WritePoint.here("gallery: linked into place")
            OutputFile.syncDirectory(OutputFile.directoryName(path))
            return true
        }
        let code = errno
        if code == EEXIST { return false }
        throw .database(path: path, message: "cannot create: \(String(cString: strerror(code)))")
    }

    /// Replaces an unfinished gallery (0 bytes, or FaceTwin's applicationID without the
    /// tables) with a complete one, if `path` still names the file `expected` describes.
    private static func replaceUnfinished(path: String, meta: GalleryInfo, expected: stat) throws(GalleryError) -> Bool {
        let fd = systemOpen(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { return false }  // gone: start over
        defer { close(fd) }
        guard flock(fd, LOCK_EX) == 0 else {
            throw .database(path: path, message: "cannot lock: \(String(cString: strerror(errno)))")
        }
        // Under the lock: still the same file at `path`, still unfinished?
        var held = stat(), now = stat()
        guard fstat(fd, &held) == 0, stat(path, &now) == 0, held.st_dev == now.st_dev, held.st_ino == now.st_ino,
            held.st_dev == expected.st_dev, held.st_ino == expected.st_ino,
            held.st_size == 0 || isUnfinished(path: path)
        else { return false }
        let temporary = try makeComplete(beside: path, meta: meta)
        guard systemRename(temporary, path) == 0 else {
            let message = String(cString: strerror(errno))
            unlink(temporary)
            throw .database(path: path, message: "cannot replace the unfinished gallery: \(message)")
        }
        WritePoint.here("gallery: unfinished file replaced")
        OutputFile.syncDirectory(OutputFile.directoryName(path))
        return true
    }

    /// A temporary file beside `path` holding a complete, empty gallery (fsynced); its path.
    private static func makeComplete(beside path: String, meta: GalleryInfo) throws(GalleryError) -> String {
        let directory = OutputFile.directoryName(path)
        OutputFile.removeStaleTemporaries(in: directory)
        let temporary = OutputFile.temporaryName(for: path)
        let fd = systemOpen(temporary, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .database(path: path, message: "cannot create: \(String(cString: strerror(errno)))") }
        _ = fchmod(fd, 0o600)  // exactly 0600, whatever the umask
        close(fd)
        WritePoint.here("gallery: temporary created")
        do {
            let queue = try openQueue(path: temporary, readonly: false)
            try queue.writeWithoutTransaction { db in
                try db.inTransaction(.immediate) {
                    try db.execute(sql: "PRAGMA application_id = \(applicationID)")
                    return .commit
                }
            }
            WritePoint.here("gallery: marker written")
            try migrator(creating: meta).migrate(queue)
            WritePoint.here("gallery: tables written")
            try queue.close()
            let sync = systemOpen(temporary, O_RDONLY | O_CLOEXEC)
            if sync >= 0 {
                _ = fsync(sync)
                close(sync)
            }
            WritePoint.here("gallery: temporary complete")
        } catch {
            unlink(temporary)
            unlink(temporary + "-journal")
            throw galleryError(error, path: path)
        }
        return temporary
    }

    /// Whether the SQLite file at `path` carries FaceTwin's applicationID but has no gallery
    /// metadata table: a creation that was interrupted.
    private static func isUnfinished(path: String) -> Bool {
        guard let queue = try? openQueue(path: path, readonly: true) else { return false }
        defer { try? queue.close() }
        return
            (try? queue.read { db in
                try Int32.fetchOne(db, sql: "PRAGMA application_id") == applicationID && (try hasNoTablesOfItsOwn(db))
            }) ?? false
    }

    // MARK: - Reading

    /// Every identity with its number of templates, in natural name order (`s2` before `s10`).
    public func identities() throws(GalleryError) -> [IdentitySummary] {
        let rows = try read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT i.name, i.created_at, COUNT(t.id) AS template_count, MAX(t.enrolled_at) AS last_enrolled
                    FROM identities i LEFT JOIN templates t ON t.identity_id = i.id
                    GROUP BY i.id
                    """)
        }
        let path = self.path
        var summaries: [IdentitySummary] = []
        for row in rows {
            summaries.append(
                IdentitySummary(
                    name: try Self.column(row, "name", of: "identities", path: path),
                    templateCount: try Self.column(row, "template_count", of: "identities", path: path),
                    enrolledAt: try Self.column(row, "created_at", of: "identities", path: path),
                    lastEnrolledAt: try Self.column(row, "last_enrolled", of: "templates", path: path)))
        }
        return summaries.sorted { NaturalOrder.areInIncreasingOrder($0.name, $1.name) }
    }

    /// The templates of one identity, in enrollment order.
    public func templates(of name: String) throws(GalleryError) -> [GalleryTemplate] {
        let size = info.embeddingSize
        let path = self.path
        let rows: [Row]? = try read { db in
            guard let id = try Self.identityID(db, name: name) else { return nil }
            return try Row.fetchAll(
                db,
                sql: """
                    SELECT t.id, t.embedding, t.image_path, t.image_sha256, t.enrolled_at
                    FROM templates t WHERE t.identity_id = ? ORDER BY t.id
                    """, arguments: [id])
        }
        guard let rows else { throw .unknownIdentity(path: path, name: name) }
        var templates: [GalleryTemplate] = []
        for row in rows {
            func column<T: DatabaseValueConvertible>(_ name: String) throws(GalleryError) -> T {
                try Self.column(row, name, of: "templates", path: path)
            }
            templates.append(
                GalleryTemplate(
                    id: try column("id"), identity: name,
                    embedding: try TemplateCodec.decode(try column("embedding"), size: size, path: path),
                    imagePath: try column("image_path"), imageSHA256: try column("image_sha256"),
                    enrolledAt: try column("enrolled_at")))
        }
        return templates
    }

    /// Distances from a probe embedding to every identity's templates: the smallest and the
    /// mean Euclidean distance, per identity, in natural name order.
    public func distances(probe: [Float]) throws(GalleryError) -> [IdentityDistance] {
        try distances(probe: probe, only: nil)
    }

    /// Distances from a probe embedding to one identity's templates.
    /// - Throws: ``GalleryError/unknownIdentity(path:name:)`` for a name not in the gallery.
    public func distances(probe: [Float], to name: String) throws(GalleryError) -> IdentityDistance {
        guard let d = try distances(probe: probe, only: name).first else { throw .unknownIdentity(path: path, name: name) }
        return d
    }

    private func distances(probe: [Float], only name: String?) throws(GalleryError) -> [IdentityDistance] {
        let size = info.embeddingSize
        let path = self.path
        guard probe.count == size else { throw .embeddingSize(path: path, expected: size, got: probe.count) }
        let rows = try read { db -> [Row] in
            var only: Int64? = nil
            if let name {
                guard let id = try Self.identityID(db, name: name) else { return [] }
                only = id
            }
            return try Row.fetchAll(
                db,
                sql: """
                    SELECT i.name, t.embedding FROM identities i JOIN templates t ON t.identity_id = i.id
                    \(only == nil ? "" : "WHERE i.id = ?")
                    ORDER BY i.id, t.id
                    """, arguments: only.map { StatementArguments([$0]) } ?? StatementArguments())
        }
        var pairs: [(identity: String, embedding: Data)] = []
        pairs.reserveCapacity(rows.count)
        for row in rows {
            pairs.append(
                (
                    try Self.column(row, "name", of: "identities", path: path),
                    try Self.column(row, "embedding", of: "templates", path: path)
                ))
        }
        return try GalleryDistances.summarize(probe: probe, rows: pairs, size: size, path: path)
    }

    /// Whether an identity of that name (up to Unicode normalization) is enrolled.
    public func contains(identity name: String) throws(GalleryError) -> Bool {
        try read { db in try Self.identityID(db, name: name) != nil }
    }

    // MARK: - Editing

    /// Removes an identity and all its templates; returns how many templates went.
    @discardableResult
    public func remove(name: String) throws(GalleryError) -> Int {
        let path = self.path
        let removed: Int? = try write { db in
            guard let id = try Self.identityID(db, name: name) else { return nil }
            let count = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM templates WHERE identity_id = ?", arguments: [id]) ?? 0
            try db.execute(sql: "DELETE FROM identities WHERE id = ?", arguments: [id])
            return count
        }
        guard let removed else { throw .unknownIdentity(path: path, name: name) }
        return removed
    }

    /// Gives an identity a new name, keeping its templates.
    public func rename(old: String, new: String) throws(GalleryError) {
        try Self.validate(name: new)
        let path = self.path
        enum Outcome { case done, unknown, taken }
        let outcome: Outcome = try write { db in
            guard let id = try Self.identityID(db, name: old) else { return .unknown }
            if let other = try Self.identityID(db, name: new), other != id { return .taken }
            try db.execute(sql: "UPDATE identities SET name = ? WHERE id = ?", arguments: [Self.normalized(new), id])
            return .done
        }
        switch outcome {
        case .done: return
        case .unknown: throw .unknownIdentity(path: path, name: old)
        case .taken: throw .duplicateIdentity(path: path, name: new)
        }
    }

    // MARK: - Names

    /// Longest identity name accepted, in characters.
    public static let maxNameLength = 200

    /// Identity names are free text (people's names, folder names) but not empty, without
    /// control or invisible formatting characters (Unicode Cc, Cf — zero-width spaces and joiners,
    /// the bidirectional overrides and isolates that make a printed name read differently — and
    /// the line and paragraph separators), without surrounding white space (which would make
    /// `verify --claim` fail on an invisible difference), and at most ``maxNameLength`` characters.
    public static func validate(name: String) throws(GalleryError) {
        if name.isEmpty { throw .invalidName(name: name, reason: "empty") }
        if name.count > maxNameLength {
            throw .invalidName(name: visible(String(name.prefix(40))) + "…", reason: "longer than \(maxNameLength) characters")
        }
        if name.unicodeScalars.contains(where: isInvisible) {
            throw .invalidName(
                name: visible(name), reason: "contains control or invisible formatting characters (shown as \\u{…})")
        }
        if let first = name.first, let last = name.last, first.isWhitespace || last.isWhitespace {
            throw .invalidName(name: name, reason: "starts or ends with white space")
        }
    }

    /// Control (Cc), format (Cf: zero-width and bidirectional controls) and line/paragraph
    /// separator (Zl, Zp) characters.
    static func isInvisible(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .control, .format, .lineSeparator, .paragraphSeparator: return true
        default: return false
        }
    }

    /// The name with every invisible character written as `\u{XXXX}`, safe to print.
    static func visible(_ name: String) -> String {
        name.unicodeScalars.map { isInvisible($0) ? "\\u{\(String($0.value, radix: 16, uppercase: true))}" : String($0) }.joined()
    }

    // MARK: - Internals

    /// An identity name in Unicode NFC: "é" typed as one code point or as "e" and a combining
    /// accent is one name, stored and looked up in one form.
    public static func normalized(_ name: String) -> String { name.precomposedStringWithCanonicalMapping }

    /// The identity whose name is `name` up to Unicode normalization (a name stored in another
    /// form is found too).
    static func identityID(_ db: Database, name: String) throws -> Int64? {
        let nfc = normalized(name)
        if let id = try Int64.fetchOne(db, sql: "SELECT id FROM identities WHERE name = ?", arguments: [nfc]) { return id }
        for row in try Row.fetchAll(db, sql: "SELECT id, name FROM identities") {
            if let stored: String = row["name"], normalized(stored) == nfc { return row["id"] }
        }
        return nil
    }

    func read<T>(_ body: (Database) throws -> T) throws(GalleryError) -> T {
        do {
            return try database.read(body)
        } catch {
            throw Self.galleryError(error, path: path)
        }
    }

    /// Runs `body` in one IMMEDIATE transaction (the write lock is taken at its start, so two
    /// writers queue behind the busy timeout instead of failing on a lock upgrade). A gallery
    /// opened read-only is reopened for writing first.
    func write<T>(_ body: (Database) throws -> T) throws(GalleryError) -> T {
        if !isWritable {
            database = try Self.openWriter(path: path)
            isWritable = true
        }
        do {
            var result: T?
            try database.writeWithoutTransaction { db in
                try db.inTransaction(.immediate) {
                    result = try body(db)
                    WritePoint.here("gallery: written, before commit")
                    return .commit
                }
            }
            return result!
        } catch {
            throw Self.galleryError(error, path: path)
        }
    }

    static func galleryError(_ error: any Error, path: String) -> GalleryError {
        if let e = error as? GalleryError { return e }
        if let e = error as? DatabaseError {
            if e.resultCode == .SQLITE_NOTADB { return .notAGallery(path: path, reason: "not an SQLite database") }
            if e.extendedResultCode == .SQLITE_READONLY_ROLLBACK { return .interruptedWrite(path: path) }
            return .database(path: path, message: e.message ?? "\(e.resultCode)")
        }
        return .database(path: path, message: "\(error)")
    }

    /// One column of a row read from the gallery, or a `notAGallery` error naming the table
    /// and column when the stored value is missing or not of the column's type (a malformed
    /// date, a number where a blob belongs, …): a damaged row must not crash every command.
    static func column<T: DatabaseValueConvertible>(_ row: Row, _ name: String, of table: String, path: String)
        throws(GalleryError) -> T
    {
        do {
            return try row.decode(T.self, forColumn: name)
        } catch {
            let value = row[name] as DatabaseValue? ?? .null
            var shown = "\(value)"
            if shown.count > 40 { shown = String(shown.prefix(40)) + "…" }
            throw .notAGallery(path: path, reason: "a damaged row: \(table).\(name) holds \(shown), not a valid \(T.self)")
        }
    }

    static func absolute(_ path: String) -> String {
        let url =
            path.hasPrefix("/")
            ? URL(fileURLWithPath: path)
            : URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent(path)
        return url.standardizedFileURL.path
    }

    /// A connection to the gallery file. Read-only connections write nothing: no journal
    /// mode change, no `-wal`/`-shm` files. Galleries use SQLite's rollback journal rather
    /// than WAL for that reason: every connection to a WAL file, even a read-only one,
    /// creates the `-wal` and `-shm` files beside it. Enrolls are short transactions, and
    /// readers and writers wait for each other through the busy timeout.
    ///
    /// `immutable`: opened as SQLite's `immutable=1` URI, which takes no lock and makes no
    /// companion file; for a file in WAL mode that has none (``isQuietWAL(_:)``), where even a
    /// read-only connection would leave `-wal` and `-shm` files beside someone else's database.
    static func openQueue(path: String, readonly: Bool, immutable: Bool = false) throws -> DatabaseQueue {
        if immutable {
            var config = Configuration()
            config.readonly = true
            var allowed = CharacterSet.urlPathAllowed
            allowed.remove(charactersIn: "?#%")
            let absolute = Self.absolute(path).addingPercentEncoding(withAllowedCharacters: allowed) ?? path
            return try DatabaseQueue(path: "file:\(absolute)?immutable=1", configuration: config)
        }
        var config = Configuration()
        config.readonly = readonly
        config.foreignKeysEnabled = true
        // An enroll running elsewhere holds the lock for a moment: wait, don't fail.
        config.busyMode = .timeout(30)
        config.journalMode = .default
        if !readonly {
            config.prepareDatabase { db in
                try db.execute(sql: "PRAGMA secure_delete = ON")
            }
        }
        return try DatabaseQueue(path: path, configuration: config)
    }

    /// Opens a gallery already checked to be FaceTwin's for writing: applies this build's
    /// pending migrations, and moves a gallery an older version left in WAL mode to the
    /// rollback journal (when no other connection has it open; else on a later write).
    private static func openWriter(path: String) throws(GalleryError) -> DatabaseQueue {
        do {
            OutputFile.removeStaleTemporaries(in: OutputFile.directoryName(path))
            let queue = try openQueue(path: path, readonly: false)
            let (completed, mode) = try queue.read { db in
                (try migrator(creating: nil).hasCompletedMigrations(db), try String.fetchOne(db, sql: "PRAGMA journal_mode"))
            }
            if !completed { try migrator(creating: nil).migrate(queue) }
            if mode == "wal" {
                try? queue.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA journal_mode = DELETE") }
                for suffix in ["-wal", "-shm"] { _ = chmod(path + suffix, 0o600) }
            }
            return queue
        } catch {
            throw galleryError(error, path: path)
        }
    }

    /// Whether the database holds no table, view, index or trigger but GRDB's migration log:
    /// what an interrupted creation leaves (the marker written, the tables not yet).
    static func hasNoTablesOfItsOwn(_ db: Database) throws -> Bool {
        try Int.fetchOne(
            db,
            sql: """
                SELECT COUNT(*) FROM sqlite_master
                WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name != 'grdb_migrations'
                """) == 0
    }

    /// Whether `path` is an SQLite file in WAL mode (header bytes 18–19 both 2) with no `-wal`
    /// or `-shm` file beside it.
    static func isQuietWAL(_ path: String) -> Bool {
        guard access(path + "-wal", F_OK) != 0, access(path + "-shm", F_OK) != 0,
            let fd = try? InputFile.open(path)
        else { return false }
        defer { close(fd) }
        var header = [UInt8](repeating: 0, count: 20)
        let n = header.withUnsafeMutableBytes { posixRead(fd, $0.baseAddress!, 20) }
        return n == 20 && Array(header[0..<16]) == Array("SQLite format 3\0".utf8) && header[18] == 2 && header[19] == 2
    }

    /// Rolls back the transaction a killed write left in the gallery's rollback journal: the
    /// first read through a connection that may write does it (SQLite's hot-journal recovery),
    /// restoring the last committed state.
    private static func rollBackInterruptedWrite(path: String) throws(GalleryError) {
        do {
            let queue = try openQueue(path: path, readonly: false)
            _ = try queue.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM sqlite_master") }
        } catch {
            throw galleryError(error, path: path)
        }
    }

    /// Why a read-only check did not give the gallery's metadata.
    private enum CheckFailure: Error {
        /// FaceTwin's applicationID without the gallery tables: an interrupted creation.
        case unfinished
        case failed(GalleryError)
    }

    /// An existing, non-empty file must already be a FaceTwin gallery: checked read-only,
    /// before anything could write to someone else's database.
    private static func checkIsGallery(_ queue: DatabaseQueue, path: String) throws(CheckFailure) -> GalleryInfo {
        do {
            try queue.read { db in
                guard try db.tableExists("grdb_migrations"), try db.tableExists("gallery_meta"),
                    try String.fetchOne(db, sql: "SELECT identifier FROM grdb_migrations WHERE identifier = 'v1'") != nil
                else {
                    if try Int32.fetchOne(db, sql: "PRAGMA application_id") == applicationID {
                        // Unfinished: our mark and nothing else. Anything more is someone's data.
                        if try hasNoTablesOfItsOwn(db) { throw CheckFailure.unfinished }
                        throw GalleryError.notAGallery(
                            path: path,
                            reason: "an SQLite database with FaceTwin's application id but other tables; left as it is")
                    }
                    throw GalleryError.notAGallery(path: path, reason: "an SQLite database without FaceTwin's gallery tables")
                }
                if try migrator(creating: nil).hasBeenSuperseded(db) { throw GalleryError.newerSchema(path: path) }
            }
            return try readInfo(queue, path: path)
        } catch let e as CheckFailure {
            throw e
        } catch {
            throw .failed(galleryError(error, path: path))
        }
    }

    private static func readInfo(_ queue: DatabaseQueue, path: String) throws(GalleryError) -> GalleryInfo {
        do {
            return try queue.read { db in
                guard let row = try Row.fetchOne(db, sql: "SELECT * FROM gallery_meta WHERE id = 1") else {
                    throw GalleryError.notAGallery(path: path, reason: "no gallery metadata")
                }
                func column<T: DatabaseValueConvertible>(_ name: String) throws -> T {
                    try Self.column(row, name, of: "gallery_meta", path: path)
                }
                let version: Int = try column("schema_version")
                if version > schemaVersion { throw GalleryError.newerSchema(path: path) }
                let size: Int = try column("embedding_size")
                guard NetworkConfig.limits.embedding.contains(size) else {
                    throw GalleryError.notAGallery(
                        path: path, reason: "gallery_meta.embedding_size \(size) is not a possible embedding size")
                }
                return GalleryInfo(
                    schemaVersion: version, modelFingerprint: try column("model_fingerprint"),
                    modelPath: try column("model_path"),
                    embeddingSize: size, createdAt: try column("created_at"))
            }
        } catch {
            throw galleryError(error, path: path)
        }
    }

    /// The schema's migrations. `creating` is the metadata a new gallery starts with; the
    /// first migration writes it together with the tables, so a gallery never exists
    /// without its model fingerprint.
    private static func migrator(creating meta: GalleryInfo?) -> DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            guard let meta else {
                throw GalleryError.notAGallery(path: db.configuration.label ?? "gallery", reason: "no gallery metadata")
            }
            try db.execute(
                sql: """
                    CREATE TABLE gallery_meta (
                        id INTEGER PRIMARY KEY CHECK (id = 1),
                        schema_version INTEGER NOT NULL,
                        model_fingerprint TEXT NOT NULL,
                        model_path TEXT NOT NULL,
                        embedding_size INTEGER NOT NULL CHECK (embedding_size > 0),
                        created_at DATETIME NOT NULL
                    );
                    CREATE TABLE identities (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        name TEXT NOT NULL UNIQUE,
                        created_at DATETIME NOT NULL
                    );
                    CREATE TABLE templates (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        identity_id INTEGER NOT NULL REFERENCES identities(id) ON DELETE CASCADE,
                        embedding BLOB NOT NULL,
                        image_path TEXT NOT NULL,
                        image_sha256 TEXT NOT NULL,
                        enrolled_at DATETIME NOT NULL,
                        UNIQUE (identity_id, image_sha256)
                    );
                    CREATE INDEX templates_identity ON templates(identity_id);
                    """)
            try db.execute(
                sql: """
                    INSERT INTO gallery_meta (id, schema_version, model_fingerprint, model_path, embedding_size, created_at)
                    VALUES (1, ?, ?, ?, ?, ?)
                    """,
                arguments: [meta.schemaVersion, meta.modelFingerprint, meta.modelPath, meta.embeddingSize, meta.createdAt])
        }
        registerKeyMigration(&migrator)  // v2: api_keys (GalleryKeys.swift)
        return migrator
    }
}

/// What a gallery records about itself.
public struct GalleryInfo: Sendable, Equatable, Codable {
    public let schemaVersion: Int
    /// ``FaceModel/fingerprint`` of the model that made every template.
    public let modelFingerprint: String
    /// Where that model was (absolute path) when the gallery was created.
    public let modelPath: String
    /// Values per embedding.
    public let embeddingSize: Int
    public let createdAt: Date

    public init(schemaVersion: Int, modelFingerprint: String, modelPath: String, embeddingSize: Int, createdAt: Date) {
        self.schemaVersion = schemaVersion
        self.modelFingerprint = modelFingerprint
        self.modelPath = modelPath
        self.embeddingSize = embeddingSize
        self.createdAt = createdAt
    }
}

/// One identity of a gallery.
public struct IdentitySummary: Sendable, Equatable, Codable {
    public let name: String
    public let templateCount: Int
    /// When the identity was first enrolled.
    public let enrolledAt: Date
    /// When its latest template was enrolled.
    public let lastEnrolledAt: Date?

    public init(name: String, templateCount: Int, enrolledAt: Date, lastEnrolledAt: Date?) {
        self.name = name
        self.templateCount = templateCount
        self.enrolledAt = enrolledAt
        self.lastEnrolledAt = lastEnrolledAt
    }
}

/// One enrolled photo.
public struct GalleryTemplate: Sendable, Equatable, Codable {
    public let id: Int64
    public let identity: String
    public let embedding: [Float]
    /// The photo's path as given when it was enrolled.
    public let imagePath: String
    /// Hex SHA-256 of the photo file.
    public let imageSHA256: String
    public let enrolledAt: Date

    public init(id: Int64, identity: String, embedding: [Float], imagePath: String, imageSHA256: String, enrolledAt: Date) {
        self.id = id
        self.identity = identity
        self.embedding = embedding
        self.imagePath = imagePath
        self.imageSHA256 = imageSHA256
        self.enrolledAt = enrolledAt
    }
}

/// How far a probe is from one identity's templates.
public struct IdentityDistance: Sendable, Equatable, Codable {
    public let name: String
    /// The smallest distance to one of its templates.
    public let minDistance: Float
    /// The mean distance over its templates.
    public let meanDistance: Float
    /// Its usable templates (the distances are over these; infinity when there are none).
    public let templateCount: Int
    /// Its stored templates that hold NaN or infinity, skipped.
    public var skippedTemplates: Int = 0
}

extension Gallery {
    /// The file's identity (device, inode) and SQLite's file change counter (header bytes
    /// 24–27, which every committed write transaction of a rollback-journal database bumps),
    /// and for a gallery left in WAL mode, its `-wal` file's size and time.
    public func generation() throws(GalleryError) -> GalleryGeneration {
        let fd: Int32
        do { fd = try InputFile.open(path) } catch { throw .database(path: path, message: error.message) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw .database(path: path, message: String(cString: strerror(errno))) }
        var header = [UInt8](repeating: 0, count: 28)
        let n = header.withUnsafeMutableBytes { pread(fd, $0.baseAddress!, 28, 0) }
        guard n == 28 else { throw .notAGallery(path: path, reason: "shorter than an SQLite header") }
        let counter = header[24..<28].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        var wal = stat()
        let walPart = stat(path + "-wal", &wal) == 0 ? ":\(wal.st_size):\(wal.st_mtim.tv_sec).\(wal.st_mtim.tv_nsec)" : ""
        return GalleryGeneration("\(st.st_dev):\(st.st_ino):\(counter)\(walPart)")
    }

    /// Every usable template in one matrix (see ``TemplateIndex``), read in one transaction.
    public func loadIndex() throws(GalleryError) -> TemplateIndex {
        let generation = try generation()
        let builder = TemplateIndex.Builder(dimension: info.embeddingSize, path: path)
        let path = self.path
        try read { db in
            let count = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM templates") ?? 0
            builder.reserve(rows: count)
            let rows = try Row.fetchCursor(
                db,
                sql: """
                    SELECT i.id, i.name, t.embedding FROM identities i JOIN templates t ON t.identity_id = i.id
                    ORDER BY i.id, t.id
                    """)
            while let row = try rows.next() {
                let key: Int64 = try Self.column(row, "id", of: "identities", path: path)
                let name: String = try Self.column(row, "name", of: "identities", path: path)
                if case .blob = (row["embedding"] as DatabaseValue).storage, let blob = row.dataNoCopy(named: "embedding") {
                    builder.append(key: key, name: name, data: blob)
                } else {
                    builder.append(key: key, name: name, data: try Self.column(row, "embedding", of: "templates", path: path))
                }
            }
        }
        return try builder.finish(generation: generation)
    }
}
