import FaceTwin
import FaceTwinServer
import Foundation
import XCTest

/// `FaceServer` as a program of its own uses it: made from a model file and a gallery location,
/// run on a real port, stopped.
final class FaceServerTests: XCTestCase {
    /// A model file and a gallery (with an admin key) in a temporary folder.
    func files() throws -> (model: String, gallery: String, key: String) {
        let fx = try serveFixture(self)
        return (fx.model, fx.gallery, fx.key)
    }

    func testRunsUntilStoppedThenRefusesToRunAgain() async throws {
        let (model, gallery, key) = try files()
        var c = ServerConfiguration()
        try c.setListen("127.0.0.1:0")
        c.workers = 1
        let server = try FaceServer(model: model, gallery: gallery, configuration: c)
        let (urls, said) = AsyncStream.makeStream(of: String.self)
        let running = Task { try await server.run(stoppingOnSignals: false) { said.yield($0) } }
        var iterator = urls.makeAsyncIterator()
        let first = await iterator.next()
        let url = try XCTUnwrap(first)
        XCTAssertTrue(url.hasPrefix("http://127.0.0.1:"), url)
        XCTAssertFalse(url.hasSuffix(":0/"), url)

        let (status, out) = try runProgram(
            "/usr/bin/curl", ["-s", "-H", "Authorization: Bearer \(key)", "-w", "\n%{http_code}", url + "v1/identities"])
        XCTAssertEqual(status, 0, out)
        XCTAssertEqual(out, "{\"identities\":[],\"templateCount\":0}\n200")

        await server.stop()
        try await running.value
        let (after, _) = try runProgram("/usr/bin/curl", ["-s", "-o", "/dev/null", url + "healthz"])
        XCTAssertNotEqual(after, 0, "nothing listens once run has returned")
        do {
            try await server.run(stoppingOnSignals: false)
            XCTFail("a second run served")
        } catch let error as ServerError {
            XCTAssertEqual(error.description, "the server has run already: make a new one to serve again")
        }
    }

    func testStoppedBeforeRunningServesNothing() async throws {
        let (model, gallery, _) = try files()
        var c = ServerConfiguration()
        c.port = 0
        c.workers = 1
        let server = try FaceServer(model: model, gallery: gallery, configuration: c)
        await server.stop()
        let called = AsyncStream.makeStream(of: String.self)
        try await server.run(stoppingOnSignals: false) { called.continuation.yield($0) }
        called.continuation.finish()
        var heard: [String] = []
        for await url in called.stream { heard.append(url) }
        XCTAssertEqual(heard, [], "never listened")
    }

    func testRefusesNoKeysAwayFromLoopback() throws {
        let (model, gallery, _) = try files()
        var c = ServerConfiguration()
        c.host = "0.0.0.0"
        c.requireKeys = false
        XCTAssertThrowsError(try FaceServer(model: model, gallery: gallery, configuration: c)) {
            XCTAssertEqual(
                "\($0)", "a server without API keys listens on loopback only (127.0.0.1, ::1, localhost), not on 0.0.0.0")
        }
    }
}
