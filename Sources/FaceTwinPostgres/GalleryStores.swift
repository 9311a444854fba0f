import FaceTwin
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Opens a gallery by its location: a `postgres://` or `postgresql://` URL opens a
/// ``PostgresGallery``, anything else is an SQLite file (`Gallery`).
///
///     let model = try FaceModel.load(path: "model.safetensors")
///     let gallery = try GalleryStores.open("postgres://faces@db.example/faces", model: model, modelPath: "model.safetensors")
///     let report = try gallery.enroll(name: "alice", images: ["alice-1.jpg", "alice-2.jpg"])
///
/// A store's calls block until the database answers: make them from a thread of your own (a
/// PostgreSQL gallery called on a SwiftNIO event loop thread throws rather than block it).
public enum GalleryStores {
    /// Whether `location` names a PostgreSQL gallery.
    public static func isPostgres(_ location: String) -> Bool {
        PostgresLocation.schemes.contains { location.lowercased().hasPrefix($0) }
    }

    /// Opens (mode `.openOrCreate`: or creates) the gallery at `location` bound to `model`.
    public static func open(_ location: String, model: FaceModel, modelPath: String, mode: Gallery.OpenMode = .openOrCreate)
        throws(GalleryError) -> any GalleryStore
    {
        if isPostgres(location) { return try PostgresGallery(url: location, model: model, modelPath: modelPath, mode: mode) }
        return try Gallery(path: location, model: model, modelPath: modelPath, mode: mode)
    }

    /// Opens an existing gallery without a model (listing and editing). `forWriting`: see
    /// `Gallery.init(path:forWriting:)`; a PostgreSQL gallery needs no recovery.
    public static func open(_ location: String, forWriting: Bool = false) throws(GalleryError) -> any GalleryStore {
        if isPostgres(location) { return try PostgresGallery(url: location) }
        return try Gallery(path: location, forWriting: forWriting)
    }
}

/// A PostgreSQL URL taken apart: `postgres://[user[:password]@][host][:port][/database][?param=value&…]`.
/// A host that is a folder (`%2Frun%2Fpostgresql`, or `?host=/run/postgresql`) means the unix
/// socket `<folder>/.s.PGSQL.<port>`; no host means Debian's `/var/run/postgresql`. The user
/// defaults to `$PGUSER` or the current user, the password to `$PGPASSWORD`, the database to the
/// user. `sslmode=require` (or `verify-full`) connects with TLS and checks the server's
/// certificate; `disable` (the default), `allow` and `prefer` connect without.
struct PostgresLocation {
    enum Endpoint: Equatable {
        case tcp(host: String, port: Int)
        case socket(String)
    }

    static let schemes = ["postgres://", "postgresql://"]

    let endpoint: Endpoint
    let user: String
    let password: String?
    let database: String
    let requireTLS: Bool
    /// The URL as given, without its password: what messages show.
    let display: String

    init(_ url: String) throws(GalleryError) {
        guard let scheme = Self.schemes.first(where: { url.lowercased().hasPrefix($0) }) else {
            throw .invalidLocation(location: url, reason: "not a postgres:// URL")
        }
        var rest = String(url.dropFirst(scheme.count))
        var display = url
        func bad(_ reason: String) -> GalleryError { .invalidLocation(location: display, reason: reason) }
        var params: [String: String] = [:]
        if let q = rest.firstIndex(of: "?") {
            for pair in rest[rest.index(after: q)...].split(separator: "&") where !pair.isEmpty {
                let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                guard parts.count == 2, let key = Self.decode(parts[0]), let value = Self.decode(parts[1]) else {
                    throw bad("the parameter \"\(pair)\" is not key=value")
                }
                params[key] = value
            }
            rest = String(rest[..<q])
        }
        var authority = rest
        var databasePart = ""
        if let slash = rest.firstIndex(of: "/") {
            authority = String(rest[..<slash])
            databasePart = String(rest[rest.index(after: slash)...])
        }
        var user: String? = nil
        var password: String? = nil
        var hostPort = authority
        if let at = authority.lastIndex(of: "@") {
            let userInfo = authority[..<at]
            hostPort = String(authority[authority.index(after: at)...])
            if let colon = userInfo.firstIndex(of: ":") {
                user = Self.decode(userInfo[..<colon])
                password = Self.decode(userInfo[userInfo.index(after: colon)...])
                display = url.replacingOccurrences(of: String(userInfo), with: String(userInfo[..<colon]))
            } else {
                user = Self.decode(userInfo)
            }
        }
        var host = ""
        var portText: String? = nil
        if hostPort.hasPrefix("[") {
            guard let close = hostPort.firstIndex(of: "]") else { throw bad("an IPv6 host without its closing ]") }
            host = String(hostPort[hostPort.index(after: hostPort.startIndex)..<close])
            let after = hostPort[hostPort.index(after: close)...]
            if after.hasPrefix(":") {
                portText = String(after.dropFirst())
            } else if !after.isEmpty {
                throw bad("text after the host")
            }
        } else if let colon = hostPort.lastIndex(of: ":") {
            host = String(hostPort[..<colon])
            portText = String(hostPort[hostPort.index(after: colon)...])
        } else {
            host = hostPort
        }
        guard let decodedHost = Self.decode(host[...]) else { throw bad("the host is not percent-encoded UTF-8") }
        host = params["host"] ?? decodedHost
        if let p = params["port"] { portText = p }
        var port = 5432
        if let portText, !portText.isEmpty {
            guard let p = Int(portText), (1...65535).contains(p) else { throw bad("port \"\(portText)\" is not 1…65535") }
            port = p
        }
        let env = ProcessInfo.processInfo.environment
        guard let resolvedUser = params["user"] ?? user.flatMap({ $0.isEmpty ? nil : $0 }) ?? env["PGUSER"] ?? Self.currentUser()
        else { throw bad("no user name (give user@ in the URL)") }
        self.user = resolvedUser
        self.password = params["password"] ?? password ?? env["PGPASSWORD"]
        guard let db = Self.decode(databasePart[...]) else { throw bad("the database name is not percent-encoded UTF-8") }
        self.database = params["dbname"] ?? (db.isEmpty ? resolvedUser : db)
        switch params["sslmode"] ?? "disable" {
        case "disable", "allow", "prefer": requireTLS = false
        case "require", "verify-ca", "verify-full": requireTLS = true
        case let other: throw bad("sslmode \"\(other)\" is not disable, allow, prefer, require, verify-ca or verify-full")
        }
        if host.isEmpty { host = "/var/run/postgresql" }
        if host.hasPrefix("/") {
            guard !requireTLS else { throw bad("TLS over a unix socket is not supported") }
            endpoint = .socket(host + "/.s.PGSQL.\(port)")
        } else {
            endpoint = .tcp(host: host, port: port)
        }
        self.display = display
    }

    static func decode(_ s: Substring) -> String? { String(s).removingPercentEncoding }

    static func currentUser() -> String? {
        guard let pw = getpwuid(geteuid()), let name = pw.pointee.pw_name else { return nil }
        return String(cString: name)
    }
}
