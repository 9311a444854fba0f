import FaceTwin
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import XCTest

@testable import FaceTwinServer

/// The repository's root (Tests/FaceTwinServerTests/…).
let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

func orl(_ person: Int, _ image: Int) -> String {
    packageRoot.appendingPathComponent("data/orl/s\(person)/\(image).pgm").path
}

/// A server on a small untrained model (its embeddings differ between images, which is all the
/// API tests need) over ORL's crops, with a key of each role. A `Sendable` value: the tests'
/// closures, which HummingbirdTesting runs concurrently, capture it.
struct ServerFixture: Sendable {
    let dir: URL
    let modelPath: String
    let galleryPath: String
    let keys: [KeyRole: String]
    let server: FaceServer

    init(_ test: XCTestCase, configure: (inout ServerConfiguration) -> Void = { _ in }) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("facetwin-serve-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        test.addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        self.dir = dir
        let config = NetworkConfig(inputHeight: 20, inputWidth: 20, hidden: [64, 32])
        let model = FaceModel(
            network: SiameseNetwork(config: config, seed: 1),
            info: ModelInfo(config: config, threshold: 0.5, thresholdMethod: "test"))
        modelPath = dir.appendingPathComponent("m.safetensors").path
        try model.save(to: modelPath)
        galleryPath = dir.appendingPathComponent("g.sqlite").path
        let gallery = try Gallery(path: galleryPath, model: model, modelPath: modelPath)
        var keys: [KeyRole: String] = [:]
        for role in KeyRole.allCases { keys[role] = try gallery.addKey(name: "\(role.rawValue)-key", role: role) }
        self.keys = keys
        var c = ServerConfiguration()
        c.port = 0
        c.workers = 2
        configure(&c)
        let server = try FaceServer(model: model, modelPath: modelPath, gallery: gallery, configuration: c)
        self.server = server
        // The router tests never run the server, so its workers are ended here.
        test.addTeardownBlock { server.service.shutdown() }
    }

    func test(_ body: @escaping @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        try await server.application().test(.router, body)
    }

    func auth(_ role: KeyRole?) -> HTTPFields {
        guard let role, let key = keys[role] else { return [:] }
        return [.authorization: "Bearer \(key)"]
    }
}

/// An enroll form: `name` and each photo of `paths`.
func enrollForm(_ name: String, _ paths: [String]) throws -> Form {
    var form = Form()
    form.field("name", name)
    for p in paths { try form.file("photo", path: p) }
    return form
}

/// A multipart/form-data body.
struct Form {
    static let boundary = "facetwin-test-boundary"
    var body = Data()

    mutating func field(_ name: String, _ value: String) {
        body.append(Data("--\(Self.boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)\r\n".utf8))
    }

    mutating func file(_ name: String, filename: String, _ bytes: Data) {
        body.append(
            Data(
                "--\(Self.boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"; filename=\"\(filename)\"\r\nContent-Type: application/octet-stream\r\n\r\n"
                    .utf8))
        body.append(bytes)
        body.append(Data("\r\n".utf8))
    }

    mutating func file(_ name: String, path: String) throws {
        file(name, filename: (path as NSString).lastPathComponent, try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    var buffer: ByteBuffer {
        var b = body
        b.append(Data("--\(Self.boundary)--\r\n".utf8))
        return ByteBuffer(bytes: b)
    }

    static func headers(_ auth: HTTPFields) -> HTTPFields {
        var h = auth
        h[.contentType] = "multipart/form-data; boundary=\(boundary)"
        return h
    }
}

struct ErrorAnswer: Decodable, Equatable {
    let error: String
    let status: Int
}

func decode<T: Decodable>(_ type: T.Type, _ response: TestResponse) throws -> T {
    let decoder = JSONDecoder()
    decoder.dateDecodingStrategy = .iso8601
    return try decoder.decode(T.self, from: Data(response.body.readableBytesView))
}

func errorOf(_ response: TestResponse) throws -> ErrorAnswer { try decode(ErrorAnswer.self, response) }

struct EnrollAnswer: Decodable {
    let identity: String
    let isNewIdentity: Bool
    let enrolled: [String]
    let duplicates: [SkippedPhoto]
    let skipped: [SkippedPhoto]
    let templateCount: Int
    let crops: [String: String]?
}

struct VerifyAnswer: Decodable {
    let claim: String
    let match: Bool
    let distance: Float
    let threshold: Float
    let crop: String?
}

struct IdentifyAnswer: Decodable {
    struct Candidate: Decodable { let name: String; let distance: Float; let isMatch: Bool }
    let identity: String?
    let candidates: [Candidate]
}

final class ServerTests: XCTestCase {
    // MARK: Keys

    func testEveryAPIRequestNeedsAKeyOfTheRightRole() async throws {
        let fx = try ServerFixture(self)
        try await fx.test { client in
            let missing = try await client.execute(uri: "/v1/identities", method: .get)
            XCTAssertEqual(missing.status, .unauthorized)
            XCTAssertEqual(
                try errorOf(missing),
                ErrorAnswer(
                    error:
                        "an API key is required: send Authorization: Bearer KEY (facetwin keys add NAME --role ROLE makes one)",
                    status: 401))
            let wrong = try await client.execute(
                uri: "/v1/model", method: .get, headers: [.authorization: "Bearer ftk_not-a-key-of-this-gallery"])
            XCTAssertEqual(wrong.status, .unauthorized)
            XCTAssertEqual(try errorOf(wrong).error, "the API key is not one of the gallery's keys (mistyped or revoked)")

            // verify < enroll < admin.
            let status1 = try await client.execute(uri: "/v1/model", method: .get, headers: fx.auth(.verify)).status
            XCTAssertEqual(status1, .ok)
            let list = try await client.execute(uri: "/v1/identities", method: .get, headers: fx.auth(.verify))
            XCTAssertEqual(list.status, .forbidden)
            XCTAssertEqual(try errorOf(list).error, "key \"verify-key\" has role verify; this request needs an enroll key")
            var form = try enrollForm("alice", [orl(1, 1)])
            let enrollAsVerify = try await client.execute(
                uri: "/v1/enroll", method: .post, headers: Form.headers(fx.auth(.verify)), body: form.buffer)
            XCTAssertEqual(enrollAsVerify.status, .forbidden)
            let deleteAsEnroll = try await client.execute(
                uri: "/v1/identities/alice", method: .delete, headers: fx.auth(.enroll))
            XCTAssertEqual(deleteAsEnroll.status, .forbidden)
            let status2 = try await client.execute(uri: "/v1/identities", method: .get, headers: fx.auth(.enroll)).status
            XCTAssertEqual(status2, .ok)
            form = try enrollForm("alice", [orl(1, 1)])
            let adminEnroll = try await client.execute(
                uri: "/v1/enroll", method: .post, headers: Form.headers(fx.auth(.admin)), body: form.buffer)
            XCTAssertEqual(adminEnroll.status, .created)

            // The page, health and the API document need no key.
            let status3 = try await client.execute(uri: "/", method: .get).status
            XCTAssertEqual(status3, .ok)
            let status4 = try await client.execute(uri: "/healthz", method: .get).status
            XCTAssertEqual(status4, .ok)
            let status5 = try await client.execute(uri: "/v1/openapi.yaml", method: .get).status
            XCTAssertEqual(status5, .ok)
            let status6 = try await client.execute(uri: "/metrics", method: .get).status
            XCTAssertEqual(status6, .unauthorized)
        }
        // A revoked key is refused at once (the server reads keys from the gallery each time).
        try Gallery(path: fx.galleryPath, forWriting: true).revokeKey(name: "admin-key")
        try await fx.test { client in
            let status7 = try await client.execute(uri: "/v1/model", method: .get, headers: fx.auth(.admin)).status
            XCTAssertEqual(status7, .unauthorized)
        }
    }

    func testWithoutKeysOnlyOnLoopback() throws {
        var c = ServerConfiguration()
        c.requireKeys = false
        for host in ["127.0.0.1", "::1", "localhost", "127.3.4.5"] {
            c.host = host
            XCTAssertNoThrow(try c.validate(), host)
        }
        for host in ["0.0.0.0", "192.168.1.4", "::", "example.org", "127.0.0.1.example.org"] {
            c.host = host
            XCTAssertThrowsError(try c.validate(), host) {
                XCTAssertEqual(
                    "\($0)",
                    "a server without API keys listens on loopback only (127.0.0.1, ::1, localhost), not on \(host)")
            }
        }
        c.requireKeys = true
        c.host = "0.0.0.0"
        XCTAssertNoThrow(try c.validate())
    }

    func testListenAddresses() throws {
        var c = ServerConfiguration()
        try c.setListen("0.0.0.0:9000")
        XCTAssertEqual(c.host, "0.0.0.0")
        XCTAssertEqual(c.port, 9000)
        try c.setListen("[::1]:0")
        XCTAssertEqual(c.host, "::1")
        XCTAssertEqual(c.port, 0)
        try c.setListen(":8081")
        XCTAssertEqual(c.host, "127.0.0.1")
        for bad in ["8080", "host:", "host:70000", "::1:80", "[::1]80"] {
            XCTAssertThrowsError(try c.setListen(bad), bad)
        }
    }

    func testNoKeysServerAnswersWithoutAKey() async throws {
        let fx = try ServerFixture(self) { $0.requireKeys = false }
        try await fx.test { client in
            let status8 = try await client.execute(uri: "/v1/identities", method: .get).status
            XCTAssertEqual(status8, .ok)
        }
    }

    // MARK: The API

    func testEnrollVerifyIdentifyCompareRenameDelete() async throws {
        let fx = try ServerFixture(self)
        try await fx.test { client in
            let admin = Form.headers(fx.auth(.admin))
            var form = try enrollForm("alice", [orl(1, 1), orl(1, 2)])
            let first = try await client.execute(uri: "/v1/enroll?crop=true", method: .post, headers: admin, body: form.buffer)
            XCTAssertEqual(first.status, .created, String(buffer: first.body))
            let enrolled = try decode(EnrollAnswer.self, first)
            XCTAssertEqual(enrolled.identity, "alice")
            XCTAssertEqual(enrolled.enrolled, ["1.pgm", "2.pgm"])
            XCTAssertEqual(enrolled.templateCount, 2)
            XCTAssertTrue(enrolled.crops?["1.pgm"]?.hasPrefix("data:image/png;base64,") ?? false)

            // The same photo again is a duplicate; the template count holds.
            form = try enrollForm("alice", [orl(1, 1)])
            let again = try await client.execute(uri: "/v1/enroll", method: .post, headers: admin, body: form.buffer)
            XCTAssertEqual(again.status, .ok)
            XCTAssertEqual(try decode(EnrollAnswer.self, again).duplicates.count, 1)
            XCTAssertEqual(try decode(EnrollAnswer.self, again).templateCount, 2)
            form = try enrollForm("bob", [orl(2, 1)])
            let status9 = try await client.execute(uri: "/v1/enroll", method: .post, headers: admin, body: form.buffer).status
            XCTAssertEqual(status9, .created)

            // Verify: the enrolled photo itself is at distance 0.
            var probe = Form()
            probe.field("claim", "alice")
            try probe.file("photo", path: orl(1, 1))
            let verify = try await client.execute(uri: "/v1/verify?crop=1", method: .post, headers: admin, body: probe.buffer)
            XCTAssertEqual(verify.status, .ok, String(buffer: verify.body))
            let v = try decode(VerifyAnswer.self, verify)
            XCTAssertEqual(v.distance, 0)
            XCTAssertTrue(v.match)
            XCTAssertEqual(v.threshold, 0.5)
            let png = Data(base64Encoded: String(v.crop!.dropFirst("data:image/png;base64,".count)))!
            XCTAssertEqual(Array(png.prefix(4)), [0x89, 0x50, 0x4E, 0x47])

            var unknown = Form()
            unknown.field("claim", "carol")
            try unknown.file("photo", path: orl(1, 1))
            let notThere = try await client.execute(uri: "/v1/verify", method: .post, headers: admin, body: unknown.buffer)
            XCTAssertEqual(notThere.status, .notFound)
            XCTAssertEqual(try errorOf(notThere).error, "\(fx.galleryPath): no identity named \"carol\" in the gallery")

            // Identify: bob's own photo finds bob first.
            var who = Form()
            try who.file("photo", path: orl(2, 1))
            let identify = try await client.execute(uri: "/v1/identify?top=2", method: .post, headers: admin, body: who.buffer)
            XCTAssertEqual(identify.status, .ok, String(buffer: identify.body))
            let i = try decode(IdentifyAnswer.self, identify)
            XCTAssertEqual(i.identity, "bob")
            XCTAssertEqual(i.candidates.map(\.name), ["bob", "alice"])
            let badTop = try await client.execute(uri: "/v1/identify?top=0", method: .post, headers: admin, body: who.buffer)
            XCTAssertEqual(badTop.status, .badRequest)

            // Compare.
            var pair = Form()
            try pair.file("photo1", path: orl(3, 1))
            try pair.file("photo2", path: orl(3, 1))
            let compare = try await client.execute(uri: "/v1/compare", method: .post, headers: admin, body: pair.buffer)
            XCTAssertEqual(compare.status, .ok, String(buffer: compare.body))
            struct CompareAnswer: Decodable { let match: Bool; let distance: Float }
            XCTAssertEqual(try decode(CompareAnswer.self, compare).distance, 0)
            XCTAssertTrue(try decode(CompareAnswer.self, compare).match)

            // List, show, rename, delete.
            let list = try await client.execute(uri: "/v1/identities", method: .get, headers: admin)
            XCTAssertTrue(String(buffer: list.body).contains("\"templateCount\":3"), String(buffer: list.body))
            let show = try await client.execute(uri: "/v1/identities/alice", method: .get, headers: admin)
            XCTAssertEqual(show.status, .ok)
            XCTAssertTrue(String(buffer: show.body).contains("\"photo\":\"2.pgm\""), String(buffer: show.body))
            let taken = try await client.execute(
                uri: "/v1/identities/alice", method: .patch, headers: admin, body: ByteBuffer(string: #"{"name":"bob"}"#))
            XCTAssertEqual(taken.status, .conflict)
            XCTAssertEqual(try errorOf(taken).error, "\(fx.galleryPath): the gallery already has an identity named \"bob\"")
            let renamed = try await client.execute(
                uri: "/v1/identities/alice", method: .patch, headers: admin, body: ByteBuffer(string: #"{"name":"Zoë K"}"#))
            XCTAssertEqual(renamed.status, .ok, String(buffer: renamed.body))
            let spaced = try await client.execute(uri: "/v1/identities/Zo%C3%AB%20K", method: .get, headers: admin)
            XCTAssertEqual(spaced.status, .ok, String(buffer: spaced.body))
            let deleted = try await client.execute(uri: "/v1/identities/Zo%C3%AB%20K", method: .delete, headers: admin)
            XCTAssertEqual(deleted.status, .ok)
            XCTAssertTrue(String(buffer: deleted.body).contains("\"templates\":2"))
            let gone = try await client.execute(uri: "/v1/identities/Zo%C3%AB%20K", method: .get, headers: admin)
            XCTAssertEqual(gone.status, .notFound)
        }
        // The photos themselves are not stored: a template records the upload's name and hash.
        let templates = try Gallery(path: fx.galleryPath).templates(of: "bob")
        XCTAssertEqual(templates.map(\.imagePath), ["1.pgm"])
    }

    // MARK: Bad input

    func testBadPhotosAnswer400WithTheCLIsMessages() async throws {
        let fx = try ServerFixture(self)
        try await fx.test { client in
            let admin = Form.headers(fx.auth(.admin))
            var form = Form()
            form.field("name", "alice")
            form.file("photo", filename: "junk.jpg", Data("not an image at all".utf8))
            let junk = try await client.execute(uri: "/v1/enroll", method: .post, headers: admin, body: form.buffer)
            XCTAssertEqual(junk.status, .badRequest)
            XCTAssertEqual(
                try errorOf(junk).error,
                "junk.jpg: not a PGM/PPM/PAM, PNG, JPEG or WebP image (bad magic number \"not \") (enrolling \"alice\" into \(fx.galleryPath); nothing was written)"
            )
            // A blank photo is a failure to enroll: listed; nothing enrolled is an error.
            var blank = Form()
            blank.field("name", "alice")
            var pgm = Data("P5\n40 40\n255\n".utf8)
            pgm.append(Data(repeating: 128, count: 1600))
            blank.file("photo", filename: "grey.pgm", pgm)
            let none = try await client.execute(uri: "/v1/enroll", method: .post, headers: admin, body: blank.buffer)
            XCTAssertEqual(none.status, .badRequest)
            let noneError = try errorOf(none).error
            XCTAssertTrue(
                noneError.hasPrefix(
                    "nothing enrolled for \"alice\": 1 photo(s) skipped, the first grey.pgm: failure to enroll (FTE): "),
                noneError)
            XCTAssertEqual(try Gallery(path: fx.galleryPath).identities(), [])

            var noName = Form()
            try noName.file("photo", path: orl(1, 1))
            let missing = try await client.execute(uri: "/v1/enroll", method: .post, headers: admin, body: noName.buffer)
            XCTAssertEqual(missing.status, .badRequest)
            XCTAssertEqual(try errorOf(missing).error, "the form field \"name\" is missing")

            let notMultipart = try await client.execute(
                uri: "/v1/verify", method: .post, headers: fx.auth(.admin), body: ByteBuffer(string: "{}"))
            XCTAssertEqual(notMultipart.status, .badRequest)
            var broken = Form.headers(fx.auth(.admin))
            broken[.contentType] = "multipart/form-data; boundary=xyz"
            let malformed = try await client.execute(
                uri: "/v1/verify", method: .post, headers: broken, body: ByteBuffer(string: "--xyz\r\nno end"))
            XCTAssertEqual(malformed.status, .badRequest)

            let route = try await client.execute(uri: "/v1/nothing", method: .get, headers: fx.auth(.admin))
            XCTAssertEqual(route.status, .notFound)
            XCTAssertEqual(try errorOf(route).error, "no endpoint GET /v1/nothing (the API is described at /v1/openapi.yaml)")

            // Identify on an empty gallery.
            var who = Form()
            try who.file("photo", path: orl(2, 1))
            let empty = try await client.execute(uri: "/v1/identify", method: .post, headers: admin, body: who.buffer)
            XCTAssertEqual(empty.status, .notFound)
            XCTAssertEqual(try errorOf(empty).error, "\(fx.galleryPath): the gallery has no identities; enroll someone first")
        }
    }

    func testSizeLimitsAnswer413() async throws {
        let fx = try ServerFixture(self) {
            $0.maxImageBytes = 8000
            $0.maxBodyBytes = 30000
            $0.maxImagePixels = 10000
        }
        try await fx.test { client in
            let admin = Form.headers(fx.auth(.admin))
            var big = Form()
            big.field("claim", "alice")
            big.file("photo", filename: "big.pgm", Data(repeating: 1, count: 9000))
            let photo = try await client.execute(uri: "/v1/verify", method: .post, headers: admin, body: big.buffer)
            XCTAssertEqual(photo.status, .contentTooLarge)
            XCTAssertEqual(try errorOf(photo).error, "big.pgm: the photo is 9000 bytes, over the limit of 8000 bytes")

            var huge = Form()
            huge.file("photo", filename: "a.pgm", Data(repeating: 1, count: 31000))
            let body = try await client.execute(uri: "/v1/identify", method: .post, headers: admin, body: huge.buffer)
            XCTAssertEqual(body.status, .contentTooLarge)
            XCTAssertEqual(try errorOf(body).error, "the request body is larger than the limit of 30000 bytes")

            // ORL's 92×112 crop has 10 304 pixels: over the limit of 10 000, refused from its header.
            var many = Form()
            many.field("name", "alice")
            try many.file("photo", path: orl(1, 1))
            let pixels = try await client.execute(uri: "/v1/enroll", method: .post, headers: admin, body: many.buffer)
            XCTAssertEqual(pixels.status, .contentTooLarge)
            let pixelsError = try errorOf(pixels).error
            XCTAssertTrue(pixelsError.hasPrefix("1.pgm: "), pixelsError)
        }
    }

    // MARK: Health, metrics, the document

    func testHealthAndMetrics() async throws {
        let fx = try ServerFixture(self)
        try await fx.test { client in
            let health = try await client.execute(uri: "/healthz", method: .get)
            XCTAssertEqual(String(buffer: health.body), #"{"status":"ok"}"#)
            var form = try enrollForm("alice", [orl(1, 1), orl(1, 2)])
            _ = try await client.execute(
                uri: "/v1/enroll", method: .post, headers: Form.headers(fx.auth(.enroll)), body: form.buffer)
            form = try enrollForm("alice", [orl(1, 3)])
            _ = try await client.execute(
                uri: "/v1/enroll", method: .post, headers: Form.headers(fx.auth(.verify)), body: form.buffer)
            let metrics = try await client.execute(uri: "/metrics", method: .get, headers: fx.auth(.verify))
            XCTAssertEqual(metrics.status, .ok)
            let text = String(buffer: metrics.body)
            XCTAssertTrue(text.contains(#"facetwin_http_requests_total{route="/v1/enroll",method="POST",status="201"} 1"#), text)
            XCTAssertTrue(text.contains(#"facetwin_http_requests_total{route="/v1/enroll",method="POST",status="403"} 1"#), text)
            XCTAssertTrue(text.contains("facetwin_http_request_duration_seconds_bucket{route=\"/v1/enroll\""), text)
            XCTAssertTrue(text.contains("facetwin_gallery_identities_count 1.0"), text)
            XCTAssertTrue(text.contains("facetwin_gallery_templates_count 2.0"), text)
            XCTAssertTrue(text.contains("facetwin_photos_embedded_total 2"), text)
        }
    }

    func testServedOpenAPIDocumentIsTheCommittedOne() async throws {
        let committed = try String(contentsOf: packageRoot.appendingPathComponent("docs/openapi.yaml"), encoding: .utf8)
        XCTAssertEqual(OpenAPIDocument.yaml, committed, "docs/openapi.yaml and OpenAPIDocument.swift must hold the same text")
        let fx = try ServerFixture(self)
        try await fx.test { client in
            let doc = try await client.execute(uri: "/v1/openapi.yaml", method: .get)
            XCTAssertEqual(String(buffer: doc.body), committed)
            let page = try await client.execute(uri: "/", method: .get)
            XCTAssertEqual(page.headers[.contentType], "text/html; charset=utf-8")
            XCTAssertTrue(String(buffer: page.body).contains("getUserMedia"))
        }
    }
}
