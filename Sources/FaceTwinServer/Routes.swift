import FaceTwin
import Foundation
import Hummingbird
import NIOCore

/// The request context: Hummingbird's, plus the key the request was made with.
struct ServerContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    /// The authenticated key (nil with `--insecure-no-keys`).
    var key: APIKeySummary?

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
    }
}

/// The JSON every error is answered with.
struct ErrorBody: Encodable {
    let error: String
    let status: Int
}

/// Turns every error into its JSON answer and records each request's metrics. Outermost, so a
/// refused key, an unknown route and a handler's error are all answered the same way.
struct ErrorAndMetricsMiddleware: RouterMiddleware {
    typealias Context = ServerContext
    let service: FaceService

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        let start = ContinuousClock.now
        let response: Response
        do {
            response = try await next(request, context)
        } catch {
            response = Self.response(for: Self.serverError(error, request: request))
        }
        let route = context.endpointPath ?? "unmatched"
        service.metrics.record(
            route: route, method: request.method.rawValue, status: response.status.code, duration: .now - start)
        return response
    }

    static func serverError(_ error: any Error, request: Request) -> ServerError {
        switch error {
        case let e as ServerError: return e
        case let e as GalleryError: return .gallery(e)
        case let e as ImageError: return .image(e)
        case is NIOTooManyBytesError: return .bodyTooLarge(limit: 0)
        case let e as HTTPError:
            if e.status == .notFound { return .noEndpoint(method: request.method.rawValue, path: request.uri.path) }
            if e.status == .contentTooLarge { return .bodyTooLarge(limit: 0) }
            return .badRequest(e.body ?? "\(e.status.code) \(e.status.reasonPhrase)")
        default:
            return .badRequest("\(error)")
        }
    }

    static func response(for error: ServerError) -> Response {
        var headers: HTTPFields = [.contentType: "application/json; charset=utf-8"]
        if error.status == .unauthorized { headers[.wwwAuthenticate] = "Bearer" }
        let body = ErrorBody(error: error.description, status: error.status.code)
        let data = (try? JSONEncoder().encode(body)) ?? Data("{\"error\":\"error\",\"status\":500}".utf8)
        return Response(status: error.status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

/// Requires a key of at least `role` (unless the server runs without keys).
struct KeyMiddleware: RouterMiddleware {
    typealias Context = ServerContext
    let service: FaceService
    let role: KeyRole

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        guard service.configuration.requireKeys else { return try await next(request, context) }
        guard let header = request.headers[.authorization] else { throw ServerError.missingKey }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { throw ServerError.missingKey }
        let token = parts[1].trimmingCharacters(in: .whitespaces)
        guard let key = try await service.authenticate(token) else { throw ServerError.unknownKey }
        guard key.role.allows(role) else { throw ServerError.forbidden(keyName: key.name, role: key.role, needed: role) }
        var context = context
        context.key = key
        return try await next(request, context)
    }
}

// MARK: - Responses

struct VerifyResponse: Encodable {
    let claim: String
    let match: Bool
    let distance: Float
    let threshold: Float
    let thresholdMethod: String
    let score: MatchScore
    let templatesCompared: Int
    let headScore: Float?
    let matchProbability: Float?
    let errorEstimate: ErrorRateEstimate?
    let crop: String?
}

struct IdentifyResponse: Encodable {
    let identity: String?
    let threshold: Float
    let thresholdMethod: String
    let candidates: [IdentificationCandidate]
    let identitiesCompared: Int
    let crop: String?

    enum CodingKeys: String, CodingKey { case identity, threshold, thresholdMethod, candidates, identitiesCompared, crop }

    /// `identity` is written as null for "unknown", not left out.
    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(identity, forKey: .identity)
        try c.encode(threshold, forKey: .threshold)
        try c.encode(thresholdMethod, forKey: .thresholdMethod)
        try c.encode(candidates, forKey: .candidates)
        try c.encode(identitiesCompared, forKey: .identitiesCompared)
        try c.encodeIfPresent(crop, forKey: .crop)
    }
}

struct CompareResponse: Encodable {
    let match: Bool
    let distance: Float
    let threshold: Float
    let thresholdMethod: String
    let headScore: Float?
    let matchProbability: Float?
    let crops: [String]?
}

struct EnrollResponse: Encodable {
    let identity: String
    let isNewIdentity: Bool
    let enrolled: [String]
    let duplicates: [SkippedPhoto]
    let skipped: [SkippedPhoto]
    let templateCount: Int
    /// Each photo's crop, by photo name (photos that gave one).
    let crops: [String: String]?
}

struct IdentitiesResponse: Encodable {
    let identities: [IdentitySummary]
    let templateCount: Int
}

struct TemplateSummary: Encodable {
    let id: Int64
    let photo: String
    let sha256: String
    let enrolledAt: Date
}

struct IdentityResponse: Encodable {
    let name: String
    let templates: [TemplateSummary]
}

struct RemovedResponse: Encodable {
    let removed: String
    let templates: Int
}

struct RenamedResponse: Encodable {
    let renamed: String
    let to: String
}

struct RenameRequest: Decodable {
    let name: String
}

struct ModelResponse: Encodable {
    let fingerprint: String
    let format: String
    let embeddingSize: Int
    let inputWidth: Int
    let inputHeight: Int
    let color: Bool
    let threshold: Float
    let thresholdMethod: String
    let detect: String
    let faces: String
    let galleryCreatedAt: Date
}

struct HealthResponse: Encodable {
    let status: String
}

// MARK: - Routes

enum Routes {
    static func json<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        let data: Data
        do { data = try encoder.encode(value) } catch {
            throw ServerError.badRequest("the answer holds a number that is not finite (NaN or infinite)")
        }
        return Response(
            status: status, headers: [.contentType: "application/json; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func text(_ text: String, contentType: String) -> Response {
        Response(status: .ok, headers: [.contentType: contentType], body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    /// The request's multipart form, read within the body limit.
    static func form(_ request: Request, service: FaceService) async throws -> [FormPart] {
        let limit = service.configuration.maxBodyBytes
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > limit {
            throw ServerError.bodyTooLarge(limit: limit)
        }
        guard let type = request.headers[.contentType], let boundary = Multipart.boundary(contentType: type) else {
            throw ServerError.badRequest("send the photos as multipart/form-data (Content-Type with a boundary)")
        }
        let buffer: ByteBuffer
        do { buffer = try await request.body.collect(upTo: limit) } catch is NIOTooManyBytesError {
            throw ServerError.bodyTooLarge(limit: limit)
        }
        return try Multipart.parse(Array(buffer.readableBytesView), boundary: boundary)
    }

    static func field(_ parts: [FormPart], _ name: String) throws(ServerError) -> String {
        guard let part = parts.first(where: { $0.name == name }) else {
            throw .badRequest("the form field \"\(name)\" is missing")
        }
        return part.text
    }

    static func photos(_ parts: [FormPart], _ name: String) throws(ServerError) -> [UploadedPhoto] {
        parts.filter { $0.name == name }.enumerated().map { i, part in
            let given = part.filename.map { ($0 as NSString).lastPathComponent } ?? ""
            return UploadedPhoto(name: given.isEmpty ? "\(name)[\(i)]" : given, bytes: part.body)
        }
    }

    static func photo(_ parts: [FormPart], _ name: String) throws(ServerError) -> UploadedPhoto {
        let found = try photos(parts, name)
        guard let first = found.first else { throw .badRequest("the form field \"\(name)\" (a photo) is missing") }
        guard found.count == 1 else { throw .badRequest("give one photo in \"\(name)\" (got \(found.count))") }
        return first
    }

    static func flag(_ request: Request, _ name: String) throws(ServerError) -> Bool {
        guard let value = request.uri.queryParameters.get(name) else { return false }
        switch value.lowercased() {
        case "", "1", "true", "yes": return true
        case "0", "false", "no": return false
        default: throw .badRequest("query parameter \(name) must be true or false (got \"\(value)\")")
        }
    }

    static func identityName(_ context: ServerContext) throws -> String {
        let raw = try context.parameters.require("name")
        guard let decoded = raw.removingPercentEncoding else {
            throw ServerError.badRequest("the identity name in the path is not valid percent-encoded UTF-8")
        }
        return decoded
    }

    /// Builds the router: the page, the API under /v1, health and metrics.
    static func router(service: FaceService) -> Router<ServerContext> {
        let router = Router(context: ServerContext.self)
        router.add(middleware: ErrorAndMetricsMiddleware(service: service))

        router.get("/") { _, _ in
            text(WebPage.html, contentType: "text/html; charset=utf-8")
        }
        router.get("/healthz") { _, _ in try json(HealthResponse(status: "ok")) }
        router.get("/v1/openapi.yaml") { _, _ in text(OpenAPIDocument.yaml, contentType: "application/yaml") }

        let reader = router.group().add(middleware: KeyMiddleware(service: service, role: .verify))
        reader.get("/metrics") { _, _ in
            let summaries = try await service.onWorker { try service.gallery.identities() }
            service.metrics.identities.set(Double(summaries.count))
            service.metrics.templates.set(Double(summaries.reduce(0) { $0 + $1.templateCount }))
            service.metrics.waiting.set(Double(service.workers.waiting))
            return text(service.metrics.text(), contentType: "text/plain; version=0.0.4; charset=utf-8")
        }
        reader.get("/v1/model") { _, _ in
            let m = service.model
            let c = m.config
            return try json(
                ModelResponse(
                    fingerprint: service.gallery.info.modelFingerprint, format: m.resnet != nil ? "dlib-resnet" : "twin",
                    embeddingSize: c.embeddingSize, inputWidth: c.inputWidth, inputHeight: c.inputHeight, color: c.isColor,
                    threshold: service.threshold, thresholdMethod: service.thresholdMethod,
                    detect: service.configuration.detect.rawValue, faces: service.configuration.faces.rawValue,
                    galleryCreatedAt: service.gallery.info.createdAt))
        }
        reader.post("/v1/verify") { request, _ in
            let parts = try await form(request, service: service)
            let claim = try field(parts, "claim")
            let probe = try photo(parts, "photo")
            let crop = try flag(request, "crop")
            try service.checkSize(probe)
            let verifier = service.verifier
            let method = service.thresholdMethod
            let info = service.model.info
            // An unknown claim is answered 404 by the verifier (one worker job, no extra hop).
            let response = try await service.withEmbedding(probe, crop: crop) { photo in
                let r = try verifier.verify(embedding: photo.embedding, probe: photo.name, claim: claim)
                return VerifyResponse(
                    claim: r.claim, match: r.isMatch, distance: r.distance, threshold: r.threshold, thresholdMethod: method,
                    score: r.score, templatesCompared: r.templatesCompared, headScore: r.headScore,
                    matchProbability: r.matchProbability,
                    errorEstimate: info.errorEstimate(atDistance: r.headScore ?? r.distance),
                    crop: photo.cropPNG)
            }
            service.metrics.photos.increment()
            return try json(response)
        }
        reader.post("/v1/identify") { request, _ in
            let parts = try await form(request, service: service)
            let probe = try photo(parts, "photo")
            let crop = try flag(request, "crop")
            var top = 5
            if let text = request.uri.queryParameters.get("top") {
                guard let n = Int(text), (1...100).contains(n) else {
                    throw ServerError.badRequest("query parameter top must be a whole number from 1 to 100 (got \"\(text)\")")
                }
                top = n
            }
            let count = top
            let verifier = service.verifier
            let method = service.thresholdMethod
            let response = try await service.withEmbedding(probe, crop: crop) { photo in
                let r = try verifier.identify(embedding: photo.embedding, probe: photo.name, top: count)
                return IdentifyResponse(
                    identity: r.identity, threshold: r.threshold, thresholdMethod: method, candidates: r.candidates,
                    identitiesCompared: r.identitiesCompared, crop: photo.cropPNG)
            }
            service.metrics.photos.increment()
            return try json(response)
        }
        reader.post("/v1/compare") { request, _ in
            let parts = try await form(request, service: service)
            let first = try photo(parts, "photo1")
            let second = try photo(parts, "photo2")
            let crop = try flag(request, "crop")
            let results = try await service.embedAll([first, second], crop: crop)
            var embedded: [EmbeddedPhoto] = []
            for r in results {
                switch r {
                case .success(let e): embedded.append(e)
                case .failure(let e): throw ServerError.image(e)
                }
            }
            service.metrics.photos.increment(by: Int64(2))
            let distance = Evaluation.distance(embedded[0].embedding, embedded[1].embedding)
            let score = service.model.network.head?.scores([distance])[0]
            return try json(
                CompareResponse(
                    match: (score ?? distance) <= service.threshold, distance: distance, threshold: service.threshold,
                    thresholdMethod: service.thresholdMethod, headScore: score, matchProbability: score.map { 1 - $0 },
                    crops: crop ? embedded.compactMap(\.cropPNG) : nil))
        }

        let enroller = router.group().add(middleware: KeyMiddleware(service: service, role: .enroll))
        enroller.get("/v1/identities") { _, _ in
            let all = try await service.onWorker { try service.gallery.identities() }
            return try json(IdentitiesResponse(identities: all, templateCount: all.reduce(0) { $0 + $1.templateCount }))
        }
        enroller.get("/v1/identities/:name") { _, context in
            let name = try identityName(context)
            let templates = try await service.onWorker { try service.gallery.templates(of: name) }
            return try json(
                IdentityResponse(
                    name: name,
                    templates: templates.map {
                        TemplateSummary(id: $0.id, photo: $0.imagePath, sha256: $0.imageSHA256, enrolledAt: $0.enrolledAt)
                    }))
        }
        enroller.post("/v1/enroll") { request, _ in
            let parts = try await form(request, service: service)
            let name = try field(parts, "name")
            try Gallery.validate(name: name)
            let photos = try photos(parts, "photo")
            guard !photos.isEmpty else {
                throw ServerError.badRequest("the form field \"photo\" (one or more photos) is missing")
            }
            guard photos.count <= service.configuration.maxPhotosPerEnroll else {
                throw ServerError.badRequest(
                    "at most \(service.configuration.maxPhotosPerEnroll) photos in one enroll (got \(photos.count))")
            }
            let skipBad = try flag(request, "skip_bad")
            let crop = try flag(request, "crop")
            let results = try await service.embedAll(photos, crop: crop)
            service.metrics.photos.increment(by: Int64(photos.count))
            var prepared: [PreparedPhoto] = []
            var skipped: [SkippedPhoto] = []
            var crops: [String: String] = [:]
            for r in results {
                switch r {
                case .success(let e):
                    prepared.append(PreparedPhoto(name: e.name, sha256: e.sha256, embedding: e.embedding))
                    if let c = e.cropPNG { crops[e.name] = c }
                case .failure(let e):
                    let reason = PhotoPipeline.reason(e)
                    if e.isFailureToAcquire {
                        skipped.append(SkippedPhoto(path: e.path, reason: "failure to enroll (FTE): " + reason))
                    } else if skipBad {
                        skipped.append(SkippedPhoto(path: e.path, reason: reason))
                    } else {
                        throw GalleryError.badPhoto(gallery: service.gallery.path, identity: name, error: e)
                    }
                }
            }
            let plan = try Gallery.plan(name: name, prepared: prepared, skipped: skipped, gallery: service.gallery.path)
            if plan.enrollsNothing, let first = plan.skippedPhotos.first {
                throw ServerError.nothingEnrolled(identity: name, skipped: plan.skippedPhotos.count, first: first)
            }
            let report = try await service.onWorker { try service.gallery.enroll(plan)[0] }
            return try json(
                EnrollResponse(
                    identity: report.identity, isNewIdentity: report.isNewIdentity, enrolled: report.enrolled,
                    duplicates: report.duplicates, skipped: report.skipped, templateCount: report.templateCount,
                    crops: crop ? crops : nil),
                status: report.isNewIdentity ? .created : .ok)
        }

        let admin = router.group().add(middleware: KeyMiddleware(service: service, role: .admin))
        admin.delete("/v1/identities/:name") { _, context in
            let name = try identityName(context)
            let removed = try await service.onWorker { try service.gallery.remove(name: name) }
            return try json(RemovedResponse(removed: name, templates: removed))
        }
        admin.patch("/v1/identities/:name") { request, context in
            let name = try identityName(context)
            let buffer: ByteBuffer
            do { buffer = try await request.body.collect(upTo: 64 << 10) } catch is NIOTooManyBytesError {
                throw ServerError.bodyTooLarge(limit: 64 << 10)
            }
            let body: RenameRequest
            do { body = try JSONDecoder().decode(RenameRequest.self, from: Data(buffer.readableBytesView)) } catch {
                throw ServerError.badRequest("send the new name as JSON: {\"name\": \"NEW\"}")
            }
            let new = body.name
            try await service.onWorker { try service.gallery.rename(old: name, new: new) }
            return try json(RenamedResponse(renamed: name, to: Gallery.normalized(new)))
        }
        return router
    }
}

extension PhotoPipeline {
    /// An image error's text without its leading photo name.
    static func reason(_ error: ImageError) -> String {
        let d = error.description
        return d.hasPrefix(error.path + ": ") ? String(d.dropFirst(error.path.count + 2)) : d
    }
}
