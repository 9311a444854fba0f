import FaceTwin
import FaceTwinPostgres
import FaceTwinServer
import Foundation
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// `facetwin serve` on a PostgreSQL gallery (a database of its own on the server
/// `FACETWIN_TEST_POSTGRES` names; skipped, saying so, without one): two servers on one
/// gallery, a server killed in the middle of an enroll, and a `FaceServer` opened by URL.
final class ServerPostgresTests: XCTestCase {
    /// A fresh database's URL, dropped at the end of the test.
    func database() throws -> String {
        guard let server = ProcessInfo.processInfo.environment["FACETWIN_TEST_POSTGRES"], !server.isEmpty else {
            throw XCTSkip("no PostgreSQL server: FACETWIN_TEST_POSTGRES is not set (scripts/test.sh starts one)")
        }
        let name = "facetwin_serve_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(12)
        try PostgresGallery.administer(server: server, sql: "CREATE DATABASE \(name)")
        addTeardownBlock {
            try? PostgresGallery.administer(server: server, sql: "DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
        }
        return PostgresGallery.url(server, database: String(name))
    }

    func photo(_ person: Int, _ n: Int) -> String {
        packageRoot.appendingPathComponent("data/orl/s\(person)/\(n).pgm").path
    }

    /// One request with curl: the HTTP status (0: no answer) and the JSON answer (nil when it is not JSON).
    func request(_ key: String, _ method: String, _ url: String, form: [String] = []) throws -> (Int, [String: Any]?) {
        var arguments = ["-s", "-X", method, "-H", "Authorization: Bearer \(key)", "-w", "\n%{http_code}"]
        for f in form { arguments += ["-F", f] }
        let (_, out) = try runProgram("/usr/bin/curl", arguments + [url])
        let lines = out.split(separator: "\n", omittingEmptySubsequences: false)
        let code = Int(lines.last ?? "") ?? 0
        let body = Data(lines.dropLast().joined(separator: "\n").utf8)
        return (code, (try? JSONSerialization.jsonObject(with: body)) as? [String: Any])
    }

    func testTwoServersShareOnePostgresGallery() throws {
        let fx = try serveFixture(self, gallery: try database())
        let a = try ServerProcess(["--model", fx.model, "--gallery", fx.gallery], test: self)
        let b = try ServerProcess(["--model", fx.model, "--gallery", fx.gallery], test: self)
        XCTAssertNotEqual(a.url, b.url)
        XCTAssertTrue(a.stderrText.contains("serving \(fx.gallery) on "), a.stderrText)

        // Enrolled through the first server…
        var (code, json) = try request(
            fx.key, "POST", a.url + "v1/enroll",
            form: ["name=alice", "photo=@" + photo(1, 1), "photo=@" + photo(1, 2), "photo=@" + photo(1, 3)])
        XCTAssertEqual(code, 201, "\(String(describing: json))")
        // …verified and identified through the second.
        (code, json) = try request(fx.key, "POST", b.url + "v1/verify", form: ["claim=alice", "photo=@" + photo(1, 1)])
        XCTAssertEqual(code, 200, "\(String(describing: json))")
        XCTAssertEqual(json?["match"] as? Bool, true)
        XCTAssertEqual(json?["distance"] as? Double, 0)
        XCTAssertEqual(json?["templatesCompared"] as? Int, 3)
        (code, json) = try request(fx.key, "POST", b.url + "v1/identify", form: ["photo=@" + photo(1, 2)])
        XCTAssertEqual(code, 200, "\(String(describing: json))")
        XCTAssertEqual(json?["identity"] as? String, "alice")

        // Enrolled through the second, identified through the first (its index reloads).
        (code, json) = try request(fx.key, "POST", b.url + "v1/enroll", form: ["name=bob", "photo=@" + photo(2, 1)])
        XCTAssertEqual(code, 201, "\(String(describing: json))")
        (code, json) = try request(fx.key, "POST", a.url + "v1/identify", form: ["photo=@" + photo(2, 1)])
        XCTAssertEqual(code, 200, "\(String(describing: json))")
        XCTAssertEqual(json?["identity"] as? String, "bob")
        XCTAssertEqual(json?["identitiesCompared"] as? Int, 2)

        // Deleted through the second: gone from the first.
        (code, json) = try request(fx.key, "DELETE", b.url + "v1/identities/alice")
        XCTAssertEqual(code, 200, "\(String(describing: json))")
        XCTAssertEqual(json?["templates"] as? Int, 3)
        (code, json) = try request(fx.key, "GET", a.url + "v1/identities/alice")
        XCTAssertEqual(code, 404, "\(String(describing: json))")
        (code, json) = try request(fx.key, "POST", a.url + "v1/verify", form: ["claim=alice", "photo=@" + photo(1, 1)])
        XCTAssertEqual(code, 404, "\(String(describing: json))")
        (code, json) = try request(fx.key, "POST", a.url + "v1/identify", form: ["photo=@" + photo(1, 1)])
        XCTAssertEqual(code, 200, "\(String(describing: json))")
        XCTAssertEqual(json?["identitiesCompared"] as? Int, 1)
        XCTAssertNotEqual(json?["identity"] as? String, "alice")

        // A key revoked through the CLI is refused by both servers at once.
        let (status, out) = try runProgram(facetwinExecutable().path, ["keys", "revoke", "--gallery", fx.gallery, "test"])
        XCTAssertEqual(status, 0, out)
        XCTAssertEqual(try request(fx.key, "GET", a.url + "v1/identities").0, 401)
        XCTAssertEqual(try request(fx.key, "GET", b.url + "v1/identities").0, 401)

        // A server with another model is refused at start, the gallery left as it is.
        let otherConfig = NetworkConfig(inputHeight: 20, inputWidth: 20, hidden: [64, 32])
        let other = FaceModel(
            network: SiameseNetwork(config: otherConfig, seed: 2),
            info: ModelInfo(config: otherConfig, threshold: 0.5, thresholdMethod: "test"))
        let otherPath = fx.dir.appendingPathComponent("other.safetensors").path
        try other.save(to: otherPath)
        let (status2, out2) = try runProgram(
            facetwinExecutable().path, ["serve", "--model", otherPath, "--gallery", fx.gallery, "--listen", "127.0.0.1:0"])
        XCTAssertEqual(status2, 2, out2)
        XCTAssertTrue(out2.hasPrefix("facetwin: error: gallery \(fx.gallery) was made with model "), out2)
        XCTAssertEqual(out2.split(separator: "\n").count, 1, out2)

        XCTAssertEqual(a.stop(), 0, a.stderrText)
        XCTAssertEqual(b.stop(), 0, b.stderrText)
        XCTAssertEqual(try PostgresGallery(url: fx.gallery).identities().map(\.name), ["bob"])
    }

    /// A `FaceServer` made from a model file and a `postgres://` URL, in this process: it enrolls
    /// and verifies through its pool of connections, then stops.
    func testFaceServerOnAPostgresURL() async throws {
        let fx = try serveFixture(self, gallery: try database())
        var c = ServerConfiguration()
        c.port = 0
        c.workers = 2
        let server = try FaceServer(model: fx.model, gallery: fx.gallery, configuration: c)
        let (urls, said) = AsyncStream.makeStream(of: String.self)
        let running = Task { try await server.run(stoppingOnSignals: false) { said.yield($0) } }
        var iterator = urls.makeAsyncIterator()
        let first = await iterator.next()
        let url = try XCTUnwrap(first)
        var (code, json) = try request(
            fx.key, "POST", url + "v1/enroll", form: ["name=alice", "photo=@" + photo(1, 1), "photo=@" + photo(1, 2)])
        XCTAssertEqual(code, 201, "\(String(describing: json))")
        (code, json) = try request(fx.key, "POST", url + "v1/verify", form: ["claim=alice", "photo=@" + photo(1, 1)])
        XCTAssertEqual(code, 200, "\(String(describing: json))")
        XCTAssertEqual(json?["distance"] as? Double, 0)
        await server.stop()
        try await running.value
        XCTAssertEqual(try PostgresGallery(url: fx.gallery).identities().map(\.templateCount), [2])
    }

    /// A server killed (SIGKILL) in the middle of an enroll: the gallery holds all of that
    /// enroll or none of it, and the other server goes on.
    func testServerKilledDuringAnEnrollWritesAllOrNothing() throws {
        let fx = try serveFixture(self, gallery: try database())
        let survivor = try ServerProcess(["--model", fx.model, "--gallery", fx.gallery], test: self)
        XCTAssertEqual(
            try request(fx.key, "POST", survivor.url + "v1/enroll", form: ["name=alice", "photo=@" + photo(1, 1)]).0, 201)
        let store = try PostgresGallery(url: fx.gallery)
        let generation = try store.generation()

        // Killed by the write-point hook after every row of the enroll is sent, before COMMIT.
        let killed = try ServerProcess(
            ["--model", fx.model, "--gallery", fx.gallery], test: self, environment: ["FACETWIN_TEST_SIGKILL_AT_WRITE_POINT": "1"]
        )
        let (code, _) = try request(
            fx.key, "POST", killed.url + "v1/enroll", form: ["name=bob"] + (1...5).map { "photo=@" + photo(2, $0) })
        XCTAssertEqual(code, 0, "no answer: the server died")
        killed.process.waitUntilExit()
        XCTAssertEqual(killed.process.terminationReason, .uncaughtSignal)
        XCTAssertEqual(killed.process.terminationStatus, SIGKILL)
        XCTAssertEqual(try store.identities().map(\.name), ["alice"], "nothing of the killed enroll")
        XCTAssertEqual(try store.generation(), generation)

        // Killed from outside while a large enroll (200 photos) is under way.
        let victim = try ServerProcess(["--model", fx.model, "--gallery", fx.gallery], test: self)
        let photos = (3...22).flatMap { p in (1...10).map { photo(p, $0) } }
        let client = Process()
        client.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        client.arguments =
            ["-s", "-o", "/dev/null", "-H", "Authorization: Bearer \(fx.key)", "-F", "name=carol"]
            + photos.flatMap { ["-F", "photo=@" + $0] } + [victim.url + "v1/enroll"]
        try client.run()
        usleep(300_000)
        kill(victim.process.processIdentifier, SIGKILL)
        victim.process.waitUntilExit()
        client.waitUntilExit()
        XCTAssertEqual(victim.process.terminationStatus, SIGKILL)
        let carol = try store.identities().first { $0.name == "carol" }
        XCTAssertTrue(carol == nil || carol?.templateCount == photos.count, "\(String(describing: carol))")

        // The other server goes on: it enrolls, and sees the same gallery.
        XCTAssertEqual(
            try request(fx.key, "POST", survivor.url + "v1/enroll", form: ["name=bob", "photo=@" + photo(2, 1)]).0, 201)
        let (listed, json) = try request(fx.key, "GET", survivor.url + "v1/identities")
        XCTAssertEqual(listed, 200)
        let names = (json?["identities"] as? [[String: Any]])?.compactMap { $0["name"] as? String }
        XCTAssertEqual(names, ["alice", "bob"] + (carol == nil ? [] : ["carol"]))
        XCTAssertEqual(survivor.stop(), 0, survivor.stderrText)
    }
}
