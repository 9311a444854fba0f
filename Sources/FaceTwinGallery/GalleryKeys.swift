import Foundation
import GRDB

/// What an API key of `facetwin serve` may do.
public enum KeyRole: String, Sendable, Codable, CaseIterable, Comparable {
    /// Verify, identify and compare photos, and read the model's description.
    case verify
    /// All of `verify`, and enroll photos and list and show identities.
    case enroll
    /// Everything: also rename and delete identities.
    case admin

    var rank: Int {
        switch self {
        case .verify: return 0
        case .enroll: return 1
        case .admin: return 2
        }
    }

    /// Whether a key of this role may do what `needed` allows.
    public func allows(_ needed: KeyRole) -> Bool { rank >= needed.rank }

    public static func < (a: KeyRole, b: KeyRole) -> Bool { a.rank < b.rank }
}

/// One API key as the gallery records it: never the key itself, only its SHA-256.
public struct APIKeySummary: Sendable, Equatable, Codable {
    public let name: String
    public let role: KeyRole
    public let createdAt: Date

    public init(name: String, role: KeyRole, createdAt: Date) {
        self.name = name
        self.role = role
        self.createdAt = createdAt
    }
}

/// API keys are stored in the gallery they open, in table `api_keys` (schema migration `v2`):
///
///     api_keys(id, name UNIQUE, role ('admin'|'enroll'|'verify'), key_sha256 UNIQUE, created_at)
///
/// A key is `ftk_` and 32 characters of base64url (24 random bytes from the system's generator);
/// it is returned once by ``addKey(name:role:)``, and only its SHA-256 (hex) is written, so a
/// copy of the gallery does not give its keys away. Revoking a key deletes its row.
extension Gallery {
    /// The prefix of every key: a key pasted in the wrong place is recognisable.
    public static let keyPrefix = "ftk_"

    /// The key migration, registered after the gallery's first.
    static func registerKeyMigration(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v2") { db in
            try db.execute(
                sql: """
                    CREATE TABLE api_keys (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        name TEXT NOT NULL UNIQUE,
                        role TEXT NOT NULL CHECK (role IN ('admin', 'enroll', 'verify')),
                        key_sha256 TEXT NOT NULL UNIQUE,
                        created_at DATETIME NOT NULL
                    );
                    """)
        }
    }

    /// Makes a new key named `name` with `role`, stores its hash, and returns the key: the only
    /// time it can be seen.
    /// - Throws: ``GalleryError/invalidKeyName(name:reason:)``, ``GalleryError/duplicateKey(path:name:)``.
    public func addKey(name: String, role: KeyRole) throws(GalleryError) -> String {
        try Self.validateKeyName(name)
        let key = Self.newKey()
        let hash = Self.keyHash(key)
        let path = self.path
        let stored = Self.normalized(name)
        let added: Bool = try write { db in
            if try Int.fetchOne(db, sql: "SELECT 1 FROM api_keys WHERE name = ?", arguments: [stored]) != nil { return false }
            try db.execute(
                sql: "INSERT INTO api_keys (name, role, key_sha256, created_at) VALUES (?, ?, ?, ?)",
                arguments: [stored, role.rawValue, hash, Date()])
            return true
        }
        guard added else { throw .duplicateKey(path: path, name: name) }
        return key
    }

    /// The gallery's keys (names, roles, dates; never the keys), in natural name order.
    public func keys() throws(GalleryError) -> [APIKeySummary] {
        let path = self.path
        let rows: [Row] = try read { db in
            guard try db.tableExists("api_keys") else { return [] }
            return try Row.fetchAll(db, sql: "SELECT name, role, created_at FROM api_keys")
        }
        var keys: [APIKeySummary] = []
        for row in rows {
            let roleText: String = try Self.column(row, "role", of: "api_keys", path: path)
            guard let role = KeyRole(rawValue: roleText) else {
                throw .notAGallery(path: path, reason: "a damaged row: api_keys.role holds \(roleText), not a role")
            }
            keys.append(
                APIKeySummary(
                    name: try Self.column(row, "name", of: "api_keys", path: path), role: role,
                    createdAt: try Self.column(row, "created_at", of: "api_keys", path: path)))
        }
        return keys.sorted { NaturalOrder.areInIncreasingOrder($0.name, $1.name) }
    }

    /// Deletes the key named `name`: requests with it are refused from then on.
    /// - Throws: ``GalleryError/unknownKey(path:name:)``.
    public func revokeKey(name: String) throws(GalleryError) {
        let path = self.path
        let stored = Self.normalized(name)
        let removed: Bool = try write { db in
            try db.execute(sql: "DELETE FROM api_keys WHERE name = ?", arguments: [stored])
            return db.changesCount > 0
        }
        guard removed else { throw .unknownKey(path: path, name: name) }
    }

    /// The key's name and role when `key` is one of the gallery's keys, else nil.
    public func authenticate(key: String) throws(GalleryError) -> APIKeySummary? {
        guard key.hasPrefix(Self.keyPrefix), key.utf8.count <= 200 else { return nil }
        let hash = Self.keyHash(key)
        let path = self.path
        let row: Row? = try read { db in
            guard try db.tableExists("api_keys") else { return nil }
            return try Row.fetchOne(
                db, sql: "SELECT name, role, created_at FROM api_keys WHERE key_sha256 = ?", arguments: [hash])
        }
        guard let row else { return nil }
        let roleText: String = try Self.column(row, "role", of: "api_keys", path: path)
        guard let role = KeyRole(rawValue: roleText) else { return nil }
        return APIKeySummary(
            name: try Self.column(row, "name", of: "api_keys", path: path), role: role,
            createdAt: try Self.column(row, "created_at", of: "api_keys", path: path))
    }

    /// Hex SHA-256 of a key's UTF-8 bytes: what the gallery stores.
    public static func keyHash(_ key: String) -> String { SHA256.hexDigest(of: Array(key.utf8)) }

    /// A new key: ``keyPrefix`` and 24 random bytes in base64url (the system's generator:
    /// getrandom on Linux).
    public static func newKey() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<24).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let text = Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        return keyPrefix + text
    }

    /// Key names follow the identity names' rules (``validate(name:)``): printable, no
    /// surrounding white space, at most ``maxNameLength`` characters.
    public static func validateKeyName(_ name: String) throws(GalleryError) {
        do throws(GalleryError) {
            try validate(name: name)
        } catch {
            if case .invalidName(let shown, let reason) = error { throw .invalidKeyName(name: shown, reason: reason) }
            throw error
        }
    }
}
