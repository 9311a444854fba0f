import FaceTwin
import Foundation
import PostgresNIO

/// A gallery in a PostgreSQL database (`postgres://user@host:port/db`, or a unix socket:
/// `postgres://user@%2Frun%2Fpostgresql/db` or `postgres:///db?host=/run/postgresql`), shared
/// by every process that opens the same URL. The same schema ideas as the SQLite ``Gallery``,
/// in the database's schema `facetwin`:
///
///     facetwin.gallery_meta(id = 1, schema_version, model_fingerprint, model_path, embedding_size,
///                           created_at, generation)
///     facetwin.identities(id, name UNIQUE, created_at)
///     facetwin.templates(id, identity_id → identities ON DELETE CASCADE, embedding bytea (little-endian
///                        Float32), image_path, image_sha256, enrolled_at, UNIQUE(identity_id, image_sha256))
///
/// The same guarantees: the schema and its metadata are created in one transaction (DDL is
/// transactional in PostgreSQL), so a gallery never exists without its model fingerprint; an
/// enroll, import, remove or rename is one transaction, which the server rolls back when the
/// process dies before committing; every write transaction first bumps `generation` (taking the
/// metadata row's lock, so writers queue) and that counter is ``generation()``.
///
/// A small pool of connections per store (up to four, opened as concurrent calls need
/// them): each call holds one connection for its whole length, a write's transaction
/// included, so reads from several threads run at once while writers queue on the metadata row.
/// Calls block on the server's answers through SwiftNIO futures: call them from a worker thread;
/// on an event loop thread they throw instead of blocking it. (Unchecked `Sendable`: the pool's
/// two fields are guarded by its condition; everything else is immutable.)
public final class PostgresGallery: GalleryStore, @unchecked Sendable {
    public let path: String
    public let info: GalleryInfo
    public let model: FaceModel?
    public let modelPath: String?
    public let isNew: Bool

    /// The schema this build writes and reads.
    package static let schemaVersion = 1

    let location: PostgresLocation
    let logger: Logger
    /// Guards `idle` and `opened`; signalled when a connection comes back or a slot frees.
    private let pool = NSCondition()
    /// Connections open and not in use.
    private var idle: [PostgresConnection] = []
    /// Connections open (in use or idle) or being opened.
    private var opened = 0

    /// The most connections one store opens; a call beyond them waits for one to come back.
    /// (PostgresNIO's `PostgresClient` pools too, but only for `async` callers with a task that
    /// runs it; the gallery is synchronous, so it keeps its own.)
    package static let maxConnections = 4

    /// Opens the gallery at `url` bound to `model`, creating it (mode `.openOrCreate`) when the
    /// database has none. Same errors as ``Gallery/init(path:model:modelPath:mode:)``.
    public convenience init(url: String, model: FaceModel, modelPath: String, mode: Gallery.OpenMode = .openOrCreate)
        throws(GalleryError)
    {
        try self.init(
            url: url, binding: (model, Self.absolute(modelPath), model.fingerprint), create: mode == .openOrCreate)
    }

    /// Opens an existing gallery without a model, for listing and editing identities.
    public convenience init(url: String) throws(GalleryError) {
        try self.init(url: url, binding: nil, create: false)
    }

    private init(url: String, binding: (model: FaceModel, path: String, fingerprint: String)?, create: Bool)
        throws(GalleryError)
    {
        let location = try PostgresLocation(url)
        self.location = location
        self.path = location.display
        self.model = binding?.model
        self.modelPath = binding?.path
        var logger = Logger(label: "facetwin.postgres")
        logger.logLevel = .critical  // the library never prints
        self.logger = logger
        let connection = try Self.connect(location, logger: logger)
        do {
            var created = false
            var stored = try Self.readInfo(connection, location: location, logger: logger)
            if stored == nil {
                guard create, let binding else { throw try Self.missing(connection, location: location, logger: logger) }
                let meta = GalleryInfo(
                    schemaVersion: Self.schemaVersion, modelFingerprint: binding.fingerprint, modelPath: binding.path,
                    embeddingSize: binding.model.config.embeddingSize, createdAt: Date())
                created = try Self.create(connection, location: location, meta: meta, logger: logger)
                stored = try Self.readInfo(connection, location: location, logger: logger)
            }
            guard let stored else { throw GalleryError.notAGallery(path: location.display, reason: "no gallery metadata") }
            if let binding, stored.modelFingerprint != binding.fingerprint,
                stored.modelFingerprint != binding.model.weightsFingerprint
            {
                throw GalleryError.modelMismatch(
                    path: location.display, galleryFingerprint: stored.modelFingerprint, galleryModelPath: stored.modelPath,
                    modelFingerprint: binding.fingerprint, modelPath: binding.path)
            }
            if let binding, stored.embeddingSize != binding.model.config.embeddingSize {
                throw GalleryError.embeddingSize(
                    path: location.display, expected: stored.embeddingSize, got: binding.model.config.embeddingSize)
            }
            self.info = stored
            self.isNew = created
            idle = [connection]
            opened = 1
        } catch {
            Self.close(connection)
            throw Self.galleryError(error, path: location.display)
        }
    }

    deinit {
        for connection in idle { Self.close(connection) }
    }

    /// Closes a connection: waits for it off the event loops; on one (where waiting would block
    /// it) the connection is kept alive until its close completes.
    static func close(_ connection: PostgresConnection) {
        let closing = connection.close() as EventLoopFuture<Void>
        if MultiThreadedEventLoopGroup.currentEventLoop == nil {
            _ = try? closing.wait()
        } else {
            closing.whenComplete { _ in withExtendedLifetime(connection) {} }
        }
    }

    // MARK: - Connecting and the schema

    static func connect(_ location: PostgresLocation, logger: Logger) throws(GalleryError) -> PostgresConnection {
        try Self.checkNotOnEventLoop(location.display)
        let configuration: PostgresConnection.Configuration
        switch location.endpoint {
        case .socket(let socket):
            configuration = .init(
                unixSocketPath: socket, username: location.user, password: location.password, database: location.database)
        case .tcp(let host, let port):
            let tls: PostgresConnection.Configuration.TLS
            if location.requireTLS {
                do {
                    tls = .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
                } catch {
                    throw .database(path: location.display, message: "cannot set up TLS: \(error)")
                }
            } else {
                tls = .disable
            }
            configuration = .init(
                host: host, port: port, username: location.user, password: location.password, database: location.database,
                tls: tls)
        }
        do {
            return try PostgresConnection.connect(
                on: MultiThreadedEventLoopGroup.singleton.next(), configuration: configuration, id: 1, logger: logger
            ).wait()
        } catch {
            throw .database(path: location.display, message: "cannot connect: \(Self.message(error))")
        }
    }

    static func checkNotOnEventLoop(_ path: String) throws(GalleryError) {
        if MultiThreadedEventLoopGroup.currentEventLoop != nil {
            throw .database(
                path: path, message: "called on an event loop thread, which it would block; call the gallery from a worker thread"
            )
        }
    }

    /// The metadata, or nil when the database has no `facetwin.gallery_meta`.
    static func readInfo(_ connection: PostgresConnection, location: PostgresLocation, logger: Logger) throws -> GalleryInfo? {
        guard try metaExists(connection, logger: logger) else { return nil }
        let rows = try connection.query(
            """
            SELECT schema_version, model_fingerprint, model_path, embedding_size, created_at
            FROM facetwin.gallery_meta WHERE id = 1
            """, logger: logger
        ).wait().rows
        guard let row = rows.first else { throw GalleryError.notAGallery(path: location.display, reason: "no gallery metadata") }
        let version = try row.makeRandomAccess()[0].decode(Int.self)
        if version > schemaVersion { throw GalleryError.newerSchema(path: location.display) }
        let (_, fingerprint, modelPath, size, created) = try row.decode((Int, String, String, Int, Date).self)
        guard NetworkConfig.limits.embedding.contains(size) else {
            throw GalleryError.notAGallery(
                path: location.display, reason: "gallery_meta.embedding_size \(size) is not a possible embedding size")
        }
        return GalleryInfo(
            schemaVersion: version, modelFingerprint: fingerprint, modelPath: modelPath, embeddingSize: size, createdAt: created)
    }

    /// Whether `facetwin.gallery_meta` exists, read from the catalog tables with the statement's
    /// snapshot (a creator that waited for another's lock sees the other's tables; `to_regclass`
    /// may answer from a stale catalog cache).
    static func metaExists(_ connection: PostgresConnection, logger: Logger) throws -> Bool {
        let rows = try connection.query(
            """
            SELECT count(*) FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = 'facetwin' AND c.relname = 'gallery_meta'
            """, logger: logger
        ).wait().rows
        return try rows.first?.decode(Int.self) ?? 0 > 0
    }

    /// The error for a database without a gallery: none there, or a `facetwin` schema of something else.
    static func missing(_ connection: PostgresConnection, location: PostgresLocation, logger: Logger) throws -> GalleryError {
        let rows = try connection.query("SELECT count(*) FROM pg_namespace WHERE nspname = 'facetwin'", logger: logger).wait()
        if try rows.rows.first?.decode(Int.self) ?? 0 > 0 {
            return .notAGallery(
                path: location.display, reason: "a schema \"facetwin\" without the gallery's tables; left as it is")
        }
        return .notFound(path: location.display)
    }

    /// Creates the schema, its tables and the metadata in one transaction, unless another
    /// process did first (an advisory lock orders creators). Whether this call created it.
    static func create(_ connection: PostgresConnection, location: PostgresLocation, meta: GalleryInfo, logger: Logger) throws
        -> Bool
    {
        _ = try connection.query("BEGIN", logger: logger).wait()
        do {
            _ = try connection.query("SELECT pg_advisory_xact_lock(\(Self.creationLock))", logger: logger).wait()
            if try metaExists(connection, logger: logger) {
                _ = try connection.query("COMMIT", logger: logger).wait()
                return false
            }
            let schema = try connection.query("SELECT count(*) FROM pg_namespace WHERE nspname = 'facetwin'", logger: logger)
                .wait()
            if try schema.rows.first?.decode(Int.self) ?? 0 > 0 {
                throw GalleryError.notAGallery(
                    path: location.display, reason: "a schema \"facetwin\" without the gallery's tables; left as it is")
            }
            for statement in [
                "CREATE SCHEMA facetwin",
                """
                CREATE TABLE facetwin.gallery_meta (
                    id integer PRIMARY KEY CHECK (id = 1),
                    schema_version integer NOT NULL,
                    model_fingerprint text NOT NULL,
                    model_path text NOT NULL,
                    embedding_size integer NOT NULL CHECK (embedding_size > 0),
                    created_at timestamptz NOT NULL,
                    generation bigint NOT NULL DEFAULT 0
                )
                """,
                """
                CREATE TABLE facetwin.identities (
                    id bigserial PRIMARY KEY,
                    name text NOT NULL UNIQUE,
                    created_at timestamptz NOT NULL
                )
                """,
                """
                CREATE TABLE facetwin.templates (
                    id bigserial PRIMARY KEY,
                    identity_id bigint NOT NULL REFERENCES facetwin.identities(id) ON DELETE CASCADE,
                    embedding bytea NOT NULL,
                    image_path text NOT NULL,
                    image_sha256 text NOT NULL,
                    enrolled_at timestamptz NOT NULL,
                    UNIQUE (identity_id, image_sha256)
                )
                """,
                "CREATE INDEX templates_identity ON facetwin.templates(identity_id)"
            ] {
                _ = try connection.query(PostgresQuery(unsafeSQL: statement), logger: logger).wait()
            }
            _ = try connection.query(
                """
                INSERT INTO facetwin.gallery_meta (id, schema_version, model_fingerprint, model_path, embedding_size, created_at)
                VALUES (1, \(meta.schemaVersion), \(meta.modelFingerprint), \(meta.modelPath), \(meta.embeddingSize), \(meta.createdAt))
                """, logger: logger
            ).wait()
            _ = try connection.query("COMMIT", logger: logger).wait()
            return true
        } catch {
            _ = try? connection.query("ROLLBACK", logger: logger).wait()
            throw error
        }
    }

    /// The API keys of `facetwin serve`: only their SHA-256 (GalleryKeys.swift).
    static let keysTable = """
        CREATE TABLE IF NOT EXISTS facetwin.api_keys (
            id bigserial PRIMARY KEY,
            name text NOT NULL UNIQUE,
            role text NOT NULL CHECK (role IN ('admin', 'enroll', 'verify')),
            key_sha256 text NOT NULL UNIQUE,
            created_at timestamptz NOT NULL
        )
        """

    /// The advisory lock key that orders gallery creators ("FTwG").
    static let creationLock: Int64 = 0x4654_7747

    // MARK: - Running queries

    /// A connection for one call: an idle one, else a new one while fewer than
    /// ``maxConnections`` are open, else the first to come back.
    func take() throws(GalleryError) -> PostgresConnection {
        try Self.checkNotOnEventLoop(path)
        pool.lock()
        while idle.isEmpty && opened >= Self.maxConnections { pool.wait() }
        if let connection = idle.popLast() {
            pool.unlock()
            return connection
        }
        opened += 1
        pool.unlock()
        do {
            return try Self.connect(location, logger: logger)
        } catch {
            pool.lock()
            opened -= 1
            pool.signal()
            pool.unlock()
            throw error
        }
    }

    /// Gives a connection back. One that is closed, or `broken` (its transaction could not be
    /// rolled back), is closed and forgotten: the next call opens another.
    func give(_ connection: PostgresConnection, broken: Bool = false) {
        let keep = !broken && !connection.isClosed
        pool.lock()
        if keep { idle.append(connection) } else { opened -= 1 }
        pool.signal()
        pool.unlock()
        if !keep { Self.close(connection) }
    }

    /// Runs `body` with a connection of the pool, its own for the call.
    func withConnection<T>(_ body: (PostgresConnection) throws -> T) throws(GalleryError) -> T {
        let connection = try take()
        defer { give(connection) }
        do {
            return try body(connection)
        } catch {
            throw Self.galleryError(error, path: path)
        }
    }

    func rows(_ query: PostgresQuery) throws(GalleryError) -> [PostgresRow] {
        try withConnection { c in try c.query(query, logger: logger).wait().rows }
    }

    /// Runs `body` in one transaction that first bumps the generation (and so holds the
    /// metadata row's lock until it ends: writers queue). Rolled back on any error.
    /// `changesTemplates: false` (the keys): no generation bump, no identification index reload.
    func write<T>(changesTemplates: Bool = true, _ body: (PostgresWrites) throws -> T) throws(GalleryError) -> T {
        let c = try take()
        var broken = false
        defer { give(c, broken: broken) }
        do {
            _ = try c.query("BEGIN", logger: logger).wait()
            if changesTemplates {
                _ = try c.query("UPDATE facetwin.gallery_meta SET generation = generation + 1 WHERE id = 1", logger: logger)
                    .wait()
            }
            let result = try body(PostgresWrites(connection: c, logger: logger))
            WritePoint.here("gallery: written, before commit")
            _ = try c.query("COMMIT", logger: logger).wait()
            return result
        } catch {
            // A connection whose transaction may still be open never goes back to the pool.
            if (try? c.query("ROLLBACK", logger: logger).wait()) == nil { broken = true }
            throw Self.galleryError(error, path: path)
        }
    }

    static func galleryError(_ error: any Error, path: String) -> GalleryError {
        if let e = error as? GalleryError { return e }
        return .database(path: path, message: message(error))
    }

    /// A one-line account of a PostgresNIO error: the server's message when there is one.
    static func message(_ error: any Error) -> String {
        if let e = error as? PSQLError {
            if let server = e.serverInfo?[.message] {
                return server + (e.serverInfo?[.sqlState].map { " (SQLSTATE \($0))" } ?? "")
            }
            if let underlying = e.underlying { return "\(e.code): \(underlying)" }
            return "\(e.code)"
        }
        if let e = error as? PostgresDecodingError { return "unexpected value in column \(e.columnName): \(e.code)" }
        return "\(error)"
    }

    static func absolute(_ path: String) -> String {
        let url =
            path.hasPrefix("/")
            ? URL(fileURLWithPath: path)
            : URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent(path)
        return url.standardizedFileURL.path
    }

    // MARK: - Reading

    public func identities() throws(GalleryError) -> [IdentitySummary] {
        let rows = try rows(
            """
            SELECT i.name, i.created_at, COUNT(t.id)::bigint, MAX(t.enrolled_at)
            FROM facetwin.identities i LEFT JOIN facetwin.templates t ON t.identity_id = i.id
            GROUP BY i.id
            """)
        var summaries: [IdentitySummary] = []
        for row in rows {
            let (name, created, count, last) = try decode(row, (String, Date, Int, Date?).self)
            summaries.append(IdentitySummary(name: name, templateCount: count, enrolledAt: created, lastEnrolledAt: last))
        }
        return summaries.sorted { NaturalOrder.areInIncreasingOrder($0.name, $1.name) }
    }

    func decode<each Column: PostgresDecodable>(_ row: PostgresRow, _ type: (repeat each Column).Type) throws(GalleryError)
        -> (repeat each Column)
    {
        do {
            return try row.decode(type)
        } catch {
            throw .notAGallery(path: path, reason: "a damaged row: \(Self.message(error))")
        }
    }

    /// The identity whose name is `name` up to Unicode normalization.
    func identityID(_ c: PostgresConnection, name: String) throws -> Int64? {
        try PostgresWrites(connection: c, logger: logger).identityID(name: name)
    }

    public func contains(identity name: String) throws(GalleryError) -> Bool {
        try withConnection { c in try identityID(c, name: name) != nil }
    }

    public func templates(of name: String) throws(GalleryError) -> [GalleryTemplate] {
        let size = info.embeddingSize
        let found: [PostgresRow]? = try withConnection { c in
            guard let id = try identityID(c, name: name) else { return nil }
            return try c.query(
                """
                SELECT id, embedding, image_path, image_sha256, enrolled_at FROM facetwin.templates
                WHERE identity_id = \(id) ORDER BY id
                """, logger: logger
            ).wait().rows
        }
        guard let found else { throw .unknownIdentity(path: path, name: name) }
        var templates: [GalleryTemplate] = []
        for row in found {
            let (id, embedding, imagePath, sha, date) = try decode(row, (Int64, Data, String, String, Date).self)
            templates.append(
                GalleryTemplate(
                    id: id, identity: name, embedding: try TemplateCodec.decode(embedding, size: size, path: path),
                    imagePath: imagePath, imageSHA256: sha, enrolledAt: date))
        }
        return templates
    }

    public func distances(probe: [Float]) throws(GalleryError) -> [IdentityDistance] {
        try distances(probe: probe, only: nil)
    }

    public func distances(probe: [Float], to name: String) throws(GalleryError) -> IdentityDistance {
        guard let d = try distances(probe: probe, only: name).first else { throw .unknownIdentity(path: path, name: name) }
        return d
    }

    private func distances(probe: [Float], only name: String?) throws(GalleryError) -> [IdentityDistance] {
        let size = info.embeddingSize
        guard probe.count == size else { throw .embeddingSize(path: path, expected: size, got: probe.count) }
        let found: [PostgresRow] = try withConnection { c in
            if let name {
                guard let id = try identityID(c, name: name) else { return [] }
                return try c.query(
                    """
                    SELECT i.name, t.embedding FROM facetwin.identities i JOIN facetwin.templates t ON t.identity_id = i.id
                    WHERE i.id = \(id) ORDER BY i.id, t.id
                    """, logger: logger
                ).wait().rows
            }
            return try c.query(
                """
                SELECT i.name, t.embedding FROM facetwin.identities i JOIN facetwin.templates t ON t.identity_id = i.id
                ORDER BY i.id, t.id
                """, logger: logger
            ).wait().rows
        }
        var pairs: [(identity: String, embedding: Data)] = []
        pairs.reserveCapacity(found.count)
        for row in found { pairs.append(try decode(row, (String, Data).self)) }
        return try GalleryDistances.summarize(probe: probe, rows: pairs, size: size, path: path)
    }

    public func generation() throws(GalleryError) -> GalleryGeneration {
        let found = try rows("SELECT generation FROM facetwin.gallery_meta WHERE id = 1")
        guard let row = found.first else { throw .notAGallery(path: path, reason: "no gallery metadata") }
        do {
            return GalleryGeneration("pg:\(try row.decode(Int64.self))")
        } catch {
            throw .notAGallery(path: path, reason: "a damaged row: \(Self.message(error))")
        }
    }

    public func loadIndex() throws(GalleryError) -> TemplateIndex {
        let generation = try generation()
        let builder = TemplateIndex.Builder(dimension: info.embeddingSize, path: path)
        let path = self.path
        try withConnection { c in
            let count =
                try c.query("SELECT count(*) FROM facetwin.templates", logger: logger).wait().rows.first?
                .decode(Int.self) ?? 0
            builder.reserve(rows: count)
            // Rows are decoded into the matrix as they arrive (on the connection's event loop,
            // which only copies bytes), not held as a result set first.
            _ = try c.query(
                """
                SELECT i.id, i.name, t.embedding FROM facetwin.identities i JOIN facetwin.templates t ON t.identity_id = i.id
                ORDER BY i.id, t.id
                """, logger: logger
            ) { row in
                let (key, name, bytes) = try row.decode((Int64, String, ByteBuffer).self)
                bytes.withUnsafeReadableBytes { builder.append(key: key, name: name, bytes: $0) }
            }.wait()
        }
        do {
            return try builder.finish(generation: generation)
        } catch {
            throw Self.galleryError(error, path: path)
        }
    }

    // MARK: - Writing

    @discardableResult
    public func remove(name: String) throws(GalleryError) -> Int {
        let removed: Int? = try write { w in
            guard let id = try w.identityID(name: name) else { return nil }
            let count = try w.templateCount(identity: id)
            _ = try w.connection.query("DELETE FROM facetwin.identities WHERE id = \(id)", logger: logger).wait()
            return count
        }
        guard let removed else { throw .unknownIdentity(path: path, name: name) }
        return removed
    }

    public func rename(old: String, new: String) throws(GalleryError) {
        try Gallery.validate(name: new)
        enum Outcome { case done, unknown, taken }
        let outcome: Outcome = try write { w in
            guard let id = try w.identityID(name: old) else { return .unknown }
            if let other = try w.identityID(name: new), other != id { return .taken }
            let normalized = Gallery.normalized(new)
            _ = try w.connection.query("UPDATE facetwin.identities SET name = \(normalized) WHERE id = \(id)", logger: logger)
                .wait()
            return .done
        }
        switch outcome {
        case .done: return
        case .unknown: throw .unknownIdentity(path: path, name: old)
        case .taken: throw .duplicateIdentity(path: path, name: new)
        }
    }

    public func enroll(_ plan: EnrollPlan) throws(GalleryError) -> [EnrollmentReport] {
        guard model != nil else { throw .noModel(path: path) }
        let now = Date()
        let reports = try write { w in try plan.write(into: w, at: now) }
        return reports + plan.droppedReports
    }

    public func importTemplates(_ export: TemplateExport) throws(GalleryError) -> ImportReport {
        try checkImport(export)
        let now = Date()
        return try write { w in try w.importRows(export.rows, at: now) }
    }
}

// MARK: - API keys

extension PostgresGallery {
    public func addKey(name: String, role: KeyRole) throws(GalleryError) -> String {
        try Gallery.validateKeyName(name)
        let key = Gallery.newKey()
        let hash = Gallery.keyHash(key)
        let stored = Gallery.normalized(name)
        let now = Date()
        let added: Bool = try write(changesTemplates: false) { w in
            _ = try w.connection.query(PostgresQuery(unsafeSQL: Self.keysTable), logger: logger).wait()
            let result = try w.connection.query(
                """
                INSERT INTO facetwin.api_keys (name, role, key_sha256, created_at)
                VALUES (\(stored), \(role.rawValue), \(hash), \(now)) ON CONFLICT (name) DO NOTHING
                """, logger: logger
            ).wait()
            return result.metadata.rows == 1
        }
        guard added else { throw .duplicateKey(path: path, name: name) }
        return key
    }

    public func keys() throws(GalleryError) -> [APIKeySummary] {
        let found: [PostgresRow] = try withConnection { c in
            guard try Self.keysTableExists(c, logger: logger) else { return [] }
            return try c.query("SELECT name, role, created_at FROM facetwin.api_keys", logger: logger).wait().rows
        }
        var keys: [APIKeySummary] = []
        for row in found {
            let (name, roleText, created) = try decode(row, (String, String, Date).self)
            guard let role = KeyRole(rawValue: roleText) else {
                throw .notAGallery(path: path, reason: "a damaged row: api_keys.role holds \(roleText), not a role")
            }
            keys.append(APIKeySummary(name: name, role: role, createdAt: created))
        }
        return keys.sorted { NaturalOrder.areInIncreasingOrder($0.name, $1.name) }
    }

    public func revokeKey(name: String) throws(GalleryError) {
        let stored = Gallery.normalized(name)
        let removed: Bool = try write(changesTemplates: false) { w in
            guard try Self.keysTableExists(w.connection, logger: logger) else { return false }
            let result = try w.connection.query("DELETE FROM facetwin.api_keys WHERE name = \(stored)", logger: logger).wait()
            return (result.metadata.rows ?? 0) > 0
        }
        guard removed else { throw .unknownKey(path: path, name: name) }
    }

    public func authenticate(key: String) throws(GalleryError) -> APIKeySummary? {
        guard key.hasPrefix(Gallery.keyPrefix), key.utf8.count <= 200 else { return nil }
        let hash = Gallery.keyHash(key)
        let found: PostgresRow? = try withConnection { c in
            guard try Self.keysTableExists(c, logger: logger) else { return nil }
            return try c.query(
                "SELECT name, role, created_at FROM facetwin.api_keys WHERE key_sha256 = \(hash)", logger: logger
            ).wait().rows.first
        }
        guard let found else { return nil }
        let (name, roleText, created) = try decode(found, (String, String, Date).self)
        guard let role = KeyRole(rawValue: roleText) else { return nil }
        return APIKeySummary(name: name, role: role, createdAt: created)
    }

    static func keysTableExists(_ connection: PostgresConnection, logger: Logger) throws -> Bool {
        let rows = try connection.query(
            """
            SELECT count(*) FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = 'facetwin' AND c.relname = 'api_keys'
            """, logger: logger
        ).wait().rows
        return try rows.first?.decode(Int.self) ?? 0 > 0
    }
}

/// A write transaction's writes on PostgreSQL.
struct PostgresWrites: GalleryWriteTransaction {
    let connection: PostgresConnection
    let logger: Logger

    func identityID(name: String) throws -> Int64? {
        let nfc = Gallery.normalized(name)
        if let row = try connection.query("SELECT id FROM facetwin.identities WHERE name = \(nfc)", logger: logger).wait().rows
            .first
        {
            return try row.decode(Int64.self)
        }
        for row in try connection.query("SELECT id, name FROM facetwin.identities", logger: logger).wait().rows {
            let (id, stored) = try row.decode((Int64, String).self)
            if Gallery.normalized(stored) == nfc { return id }
        }
        return nil
    }

    func insertIdentity(name: String, at date: Date) throws -> Int64 {
        let rows = try connection.query(
            "INSERT INTO facetwin.identities (name, created_at) VALUES (\(name), \(date)) RETURNING id", logger: logger
        ).wait().rows
        return try rows[0].decode(Int64.self)
    }

    func enrolledPath(identity: Int64, sha256: String) throws -> String? {
        try connection.query(
            "SELECT image_path FROM facetwin.templates WHERE identity_id = \(identity) AND image_sha256 = \(sha256)",
            logger: logger
        ).wait().rows.first?.decode(String.self)
    }

    func insertTemplate(identity: Int64, embedding: [Float], imagePath: String, sha256: String, at date: Date) throws -> Bool {
        let bytes = TemplateCodec.encode(embedding)
        let result = try connection.query(
            """
            INSERT INTO facetwin.templates (identity_id, embedding, image_path, image_sha256, enrolled_at)
            VALUES (\(identity), \(bytes), \(imagePath), \(sha256), \(date))
            ON CONFLICT (identity_id, image_sha256) DO NOTHING
            """, logger: logger
        ).wait()
        return result.metadata.rows == 1
    }

    func allIdentities() throws -> [(id: Int64, name: String)] {
        try connection.query("SELECT id, name FROM facetwin.identities ORDER BY id", logger: logger).wait().rows.map {
            try $0.decode((Int64, String).self)
        }
    }

    /// Rows per INSERT of an import: a few MB a statement, far below the protocol's limits.
    static let importBatch = 2000

    /// An export's rows written as `TemplateExport.write(into:at:)` writes them, with the same
    /// report, in batches: the new identities in one statement, the templates `importBatch` to
    /// an INSERT over arrays (a template the identity already has is left out and counted).
    func importRows(_ rows: [TemplateExport.Row], at now: Date) throws -> ImportReport {
        var ids: [String: Int64] = [:]
        for (id, name) in try allIdentities() where ids[Gallery.normalized(name)] == nil {
            ids[Gallery.normalized(name)] = id
        }
        var created: [String] = []
        var newNames: [String] = []
        var keys: [String] = []
        keys.reserveCapacity(rows.count)
        var seen = Set<String>()
        for row in rows {
            let key = Gallery.normalized(row.identity)
            keys.append(key)
            if ids[key] == nil, seen.insert(key).inserted {
                created.append(row.identity)
                newNames.append(key)
            }
        }
        for start in stride(from: 0, to: newNames.count, by: Self.importBatch) {
            let names = Array(newNames[start..<min(start + Self.importBatch, newNames.count)])
            let inserted = try connection.query(
                """
                INSERT INTO facetwin.identities (name, created_at)
                SELECT n, \(now) FROM unnest(\(names)::text[]) WITH ORDINALITY AS u(n, k) ORDER BY k
                RETURNING id, name
                """, logger: logger
            ).wait().rows
            for row in inserted {
                let (id, name) = try row.decode((Int64, String).self)
                ids[name] = id
            }
        }
        var imported = 0
        for start in stride(from: 0, to: rows.count, by: Self.importBatch) {
            let end = min(start + Self.importBatch, rows.count)
            var identities: [Int64] = [], embeddings: [ByteBuffer] = [], paths: [String] = [], hashes: [String] = []
            for i in start..<end {
                identities.append(ids[keys[i]]!)
                embeddings.append(ByteBuffer(bytes: TemplateCodec.encode(rows[i].embedding)))
                paths.append(rows[i].imagePath)
                hashes.append(rows[i].imageSHA256)
            }
            let result = try connection.query(
                """
                INSERT INTO facetwin.templates (identity_id, embedding, image_path, image_sha256, enrolled_at)
                SELECT i, e, p, h, \(now) FROM unnest(\(identities)::bigint[], \(embeddings)::bytea[], \(paths)::text[],
                    \(hashes)::text[]) WITH ORDINALITY AS u(i, e, p, h, k) ORDER BY k
                ON CONFLICT (identity_id, image_sha256) DO NOTHING
                """, logger: logger
            ).wait()
            imported += result.metadata.rows ?? 0
        }
        return ImportReport(imported: imported, duplicates: rows.count - imported, newIdentities: created)
    }

    func templateCount(identity: Int64) throws -> Int {
        try connection.query(
            "SELECT count(*) FROM facetwin.templates WHERE identity_id = \(identity)", logger: logger
        ).wait().rows.first?.decode(Int.self) ?? 0
    }
}

// MARK: - Administration (the tests' and the benchmark's)

extension PostgresGallery {
    /// The first column of every row of `sql`, as text (the statement is run as it is: callers'
    /// own SQL only).
    func textRows(_ sql: String) throws(GalleryError) -> [String] {
        try withConnection { c in
            try c.query(PostgresQuery(unsafeSQL: sql), logger: logger).wait().rows.map { try $0.decode(String.self) }
        }
    }

    /// Runs one statement (CREATE DATABASE, DROP DATABASE, …) on the server `server` names, on a connection of its own.
    package static func administer(server: String, sql: String) throws(GalleryError) {
        let location = try PostgresLocation(server)
        var logger = Logger(label: "facetwin.postgres")
        logger.logLevel = .critical
        let connection = try connect(location, logger: logger)
        defer { close(connection) }
        do {
            _ = try connection.query(PostgresQuery(unsafeSQL: sql), logger: logger).wait()
        } catch {
            throw galleryError(error, path: location.display)
        }
    }

    /// `server`'s URL with its database replaced by `database`.
    package static func url(_ server: String, database: String) -> String {
        var base = server
        var query = ""
        if let q = base.firstIndex(of: "?") {
            query = String(base[q...])
            base = String(base[..<q])
        }
        let schemeEnd = base.range(of: "://").map { $0.upperBound } ?? base.startIndex
        if let slash = base[schemeEnd...].firstIndex(of: "/") { base = String(base[..<slash]) }
        return base + "/" + database + query
    }

    /// Closes the store's idle connections now (a store closes them when released); one in use
    /// by another thread is closed when its call ends. A later call opens a connection again.
    public func close() {
        pool.lock()
        let closing = idle
        idle = []
        opened -= closing.count
        pool.broadcast()
        pool.unlock()
        for connection in closing { Self.close(connection) }
    }
}

extension PostgresGallery {
    /// Runs `body` on one of the shared event loop's threads and waits for its answer (for the
    /// test that a gallery called there throws rather than blocks the loop).
    static func onEventLoop<T: Sendable>(_ body: @escaping @Sendable () -> T) throws -> T {
        try MultiThreadedEventLoopGroup.singleton.next().submit(body).wait()
    }
}
