import FaceTwin
import Foundation
import HTTPTypes

/// Why the server refused a request (or could not start). ``description`` is one line, as the
/// CLI's messages are; a request is answered with it as JSON, `{"error": description, "status":
/// status}`, with the HTTP status docs/ERRORS.md gives each case.
public enum ServerError: Error, CustomStringConvertible, Sendable {
    /// No `Authorization: Bearer KEY` header (keys are required unless `--insecure-no-keys`).
    case missingKey
    /// A key that is not one of the gallery's (mistyped or revoked).
    case unknownKey
    /// A key whose role does not allow the request.
    case forbidden(keyName: String, role: KeyRole, needed: KeyRole)
    /// A request body over the limit.
    case bodyTooLarge(limit: Int)
    /// One photo over the per-photo limit.
    case photoTooLarge(name: String, bytes: Int, limit: Int)
    /// A request that is not what the endpoint takes (content type, form fields, JSON).
    case badRequest(String)
    /// No such endpoint.
    case noEndpoint(method: String, path: String)
    /// All workers busy and the queue full.
    case busy(waiting: Int)
    /// The server is stopping (SIGTERM): new work is refused while the rest finishes.
    case shuttingDown
    /// A gallery or matching failure (its own status: 404 unknown identity, 409 model mismatch, …).
    case gallery(GalleryError)
    /// A photo that cannot be used (400; 413 when its pixels are over the limit).
    case image(ImageError)
    /// An enroll whose every photo failed (no face, several faces, blank): nothing written.
    case nothingEnrolled(identity: String, skipped: Int, first: SkippedPhoto)
    /// A listen address (``ServerConfiguration/setListen(_:)``) that is not HOST:PORT.
    case badListen(String)
    /// A server without API keys on an address that is not loopback.
    case insecureNotLoopback(host: String)
    /// The model cannot prepare photos (a ResNet model file without its landmark model).
    case noLandmarks(model: String)
    /// ``FaceServer/run(stoppingOnSignals:onRunning:)`` called again: a server runs once.
    case alreadyRan

    public var description: String {
        switch self {
        case .missingKey:
            return "an API key is required: send Authorization: Bearer KEY (facetwin keys add NAME --role ROLE makes one)"
        case .unknownKey:
            return "the API key is not one of the gallery's keys (mistyped or revoked)"
        case .forbidden(let name, let role, let needed):
            return "key \"\(name)\" has role \(role.rawValue); this request needs an \(needed.rawValue) key"
        case .bodyTooLarge(let limit):
            return "the request body is larger than the limit of \(Self.bytes(limit))"
        case .photoTooLarge(let name, let bytes, let limit):
            return "\(name): the photo is \(Self.bytes(bytes)), over the limit of \(Self.bytes(limit))"
        case .badRequest(let message):
            return message
        case .noEndpoint(let method, let path):
            return "no endpoint \(method) \(path) (the API is described at /v1/openapi.yaml)"
        case .busy(let waiting):
            return "the server is busy (\(waiting) photos waiting); try again shortly"
        case .shuttingDown:
            return "the server is shutting down"
        case .gallery(let error):
            return error.description
        case .image(let error):
            return error.description
        case .nothingEnrolled(let identity, let n, let first):
            return "nothing enrolled for \"\(identity)\": \(n) photo(s) skipped, the first \(first.path): \(first.reason)"
        case .badListen(let text):
            return "the listen address must be HOST:PORT with a port from 0 to 65535 (got \"\(text)\")"
        case .insecureNotLoopback(let host):
            return "a server without API keys listens on loopback only (127.0.0.1, ::1, localhost), not on \(host)"
        case .noLandmarks(let model):
            return "\(model): the model file carries no landmark model (landmarks.shape_predictor_5) to align photos with: "
                + "convert it again with its landmark model, or serve images that are chips already with detection off (never)"
        case .alreadyRan:
            return "the server has run already: make a new one to serve again"
        }
    }

    /// The HTTP status the error is answered with.
    var status: HTTPResponse.Status {
        switch self {
        case .missingKey, .unknownKey: return .unauthorized
        case .forbidden: return .forbidden
        case .bodyTooLarge, .photoTooLarge: return .contentTooLarge
        case .badRequest, .nothingEnrolled: return .badRequest
        case .noEndpoint: return .notFound
        case .busy, .shuttingDown: return .serviceUnavailable
        case .gallery(let e): return Self.status(of: e)
        case .image(let e): return Self.status(of: e)
        case .badListen, .insecureNotLoopback, .noLandmarks, .alreadyRan: return .internalServerError
        }
    }

    static func status(of error: ImageError) -> HTTPResponse.Status {
        if case .tooLarge = error { return .contentTooLarge }
        if case .outOfMemory = error { return .contentTooLarge }
        return .badRequest
    }

    static func status(of error: GalleryError) -> HTTPResponse.Status {
        switch error {
        case .unknownIdentity, .empty: return .notFound
        case .duplicateIdentity, .modelMismatch, .embeddingSize, .noUsableTemplates: return .conflict
        case .invalidName, .nothingToEnroll: return .badRequest
        case .badPhoto(_, _, let e), .badProbe(let e): return status(of: e)
        default: return .internalServerError
        }
    }

    static func bytes(_ n: Int) -> String {
        n >= 1 << 20 && n % (1 << 20) == 0
            ? "\(n >> 20) MiB" : n >= 1 << 10 && n % (1 << 10) == 0 ? "\(n >> 10) KiB" : "\(n) bytes"
    }
}
