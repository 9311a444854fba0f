import FaceTwin
import Foundation
import XCTest

/// The built `facetwin` executable, beside the test bundle.
func facetwinExecutable() -> URL {
    var dir = Bundle.main.bundleURL
    if dir.pathExtension == "xctest" { dir = dir.deletingLastPathComponent() }
    for bundle in Bundle.allBundles where bundle.bundlePath.hasSuffix(".xctest") {
        dir = bundle.bundleURL.deletingLastPathComponent()
    }
    return dir.appendingPathComponent("facetwin")
}

/// A `facetwin serve` process on a free loopback port, stopped (SIGTERM) at the end of the test.
final class ServerProcess {
    let process = Process()
    let errors = Pipe()
    private(set) var url = ""
    private(set) var stderrText = ""

    /// `environment`: added to this process's.
    init(_ arguments: [String], test: XCTestCase, environment: [String: String] = [:]) throws {
        process.executableURL = facetwinExecutable()
        process.arguments = ["serve", "--listen", "127.0.0.1:0"] + arguments
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        test.addTeardownBlock { [process] in
            if process.isRunning {
                process.terminate()
                process.waitUntilExit()
            }
        }
        // "facetwin: serving G on http://127.0.0.1:PORT/ (…)"
        let handle = errors.fileHandleForReading
        var text = ""
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, process.isRunning {
            let chunk = handle.availableData
            if chunk.isEmpty { break }
            text += String(decoding: chunk, as: UTF8.self)
            if let r = text.range(of: #"http://127\.0\.0\.1:[0-9]+/"#, options: .regularExpression) {
                url = String(text[r])
                break
            }
        }
        stderrText = text
        guard !url.isEmpty else {
            struct NotStarted: Error, CustomStringConvertible { let description: String }
            throw NotStarted(description: "facetwin serve did not start: \(text)")
        }
    }

    /// SIGTERM, then the exit status.
    func stop() -> Int32 {
        process.terminate()
        process.waitUntilExit()
        stderrText += String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        return process.terminationStatus
    }
}

/// Runs a program, returning its status and output.
func runProgram(
    _ executable: String, _ arguments: [String], environment: [String: String]? = nil, directory: URL? = nil
) throws -> (Int32, String) {
    let p = Process()
    if let directory { p.currentDirectoryURL = directory }
    p.executableURL = URL(fileURLWithPath: executable)
    p.arguments = arguments
    if let environment { p.environment = environment }
    let out = Pipe()
    p.standardOutput = out
    p.standardError = out
    try p.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: data, as: UTF8.self))
}

/// A small untrained model (saved) in a temporary folder, a gallery bound to it and an admin
/// key; the gallery is `gallery` (a postgres:// URL), else an SQLite file in the folder.
func serveFixture(_ test: XCTestCase, gallery location: String? = nil) throws -> (
    dir: URL, model: String, gallery: String, key: String
) {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("facetwin-serve-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
    let config = NetworkConfig(inputHeight: 20, inputWidth: 20, hidden: [64, 32])
    let model = FaceModel(
        network: SiameseNetwork(config: config, seed: 1),
        info: ModelInfo(config: config, threshold: 0.5, thresholdMethod: "test"))
    let modelPath = dir.appendingPathComponent("m.safetensors").path
    try model.save(to: modelPath)
    let gallery = location ?? dir.appendingPathComponent("g.sqlite").path
    let (status, out) = try runProgram(
        facetwinExecutable().path, ["keys", "add", "--gallery", gallery, "--model", modelPath, "--role", "admin", "test"])
    XCTAssertEqual(status, 0, out)
    let key = out.split(separator: "\n").first { $0.hasPrefix("ftk_") }.map(String.init) ?? ""
    return (dir, modelPath, gallery, key)
}

/// `facetwin serve` as a process: keys and SIGTERM, and schemathesis against the live server.
final class ServerProcessTests: XCTestCase {
    /// A small untrained model (saved), a gallery and an admin key.
    func fixture() throws -> (dir: URL, model: String, gallery: String, key: String) {
        try serveFixture(self)
    }

    /// SIGTERM while an enroll's body is still arriving: the enroll is answered and written
    /// whole, then the server exits 0.
    func testSIGTERMLetsAnEnrollInFlightFinish() throws {
        let fx = try fixture()
        let server = try ServerProcess(["--model", fx.model, "--gallery", fx.gallery], test: self)
        let port = server.url.split(separator: ":").last!.dropLast()
        // A client that sends the headers and half the body, waits for the go-ahead on stdin
        // (sent after SIGTERM), then the rest, and prints the status line.
        let script = """
            import socket, sys
            boundary = "b0undary"
            parts = [b'--' + boundary.encode() + b'\\r\\nContent-Disposition: form-data; name="name"\\r\\n\\r\\nalice\\r\\n']
            for i in range(1, 6):
                data = open(sys.argv[2] + "/s1/%d.pgm" % i, "rb").read()
                parts.append(b'--' + boundary.encode() + b'\\r\\nContent-Disposition: form-data; name="photo"; filename="%d.pgm"\\r\\n\\r\\n' % i + data + b'\\r\\n')
            body = b''.join(parts) + b'--' + boundary.encode() + b'--\\r\\n'
            head = ("POST /v1/enroll HTTP/1.1\\r\\nHost: x\\r\\nAuthorization: Bearer %s\\r\\nContent-Type: multipart/form-data; boundary=%s\\r\\nContent-Length: %d\\r\\nConnection: close\\r\\n\\r\\n" % (sys.argv[3], boundary, len(body))).encode()
            s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
            s.sendall(head + body[: len(body) // 2])
            print("sent half", flush=True)
            sys.stdin.readline()
            s.sendall(body[len(body) // 2 :])
            answer = b""
            while True:
                chunk = s.recv(65536)
                if not chunk: break
                answer += chunk
            print(answer.split(b"\\r\\n")[0].decode(), flush=True)
            """
        let client = Process()
        client.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        client.arguments = ["python3", "-c", script, String(port), packageRoot.appendingPathComponent("data/orl").path, fx.key]
        let input = Pipe(), output = Pipe()
        client.standardInput = input
        client.standardOutput = output
        try client.run()
        let reader = output.fileHandleForReading
        var said = ""
        while !said.contains("sent half") {
            let chunk = reader.availableData
            if chunk.isEmpty { break }
            said += String(decoding: chunk, as: UTF8.self)
        }
        XCTAssertTrue(said.contains("sent half"), said)
        Thread.sleep(forTimeInterval: 0.3)
        server.process.terminate()  // SIGTERM with the enroll in flight
        Thread.sleep(forTimeInterval: 0.3)
        XCTAssertTrue(server.process.isRunning, "the server waits for the request in flight")
        input.fileHandleForWriting.write(Data("go\n".utf8))
        said += String(decoding: reader.readDataToEndOfFile(), as: UTF8.self)
        client.waitUntilExit()
        XCTAssertTrue(said.contains("HTTP/1.1 201"), said)
        server.process.waitUntilExit()
        XCTAssertEqual(server.process.terminationStatus, 0, server.stderrText)
        let identities = try Gallery(path: fx.gallery).identities()
        XCTAssertEqual(identities.map(\.templateCount), [5], "the enroll was written whole")
    }

    func testStartUpErrorsAreOneLineAndExit2() throws {
        let fx = try fixture()
        let (status, out) = try runProgram(
            facetwinExecutable().path,
            ["serve", "--model", fx.model, "--gallery", fx.gallery, "--listen", "0.0.0.0:0", "--insecure-no-keys"])
        XCTAssertEqual(status, 2)
        XCTAssertEqual(
            out,
            "facetwin: error: --insecure-no-keys serves without keys on loopback only (127.0.0.1, ::1, localhost), not on 0.0.0.0\n"
        )
        let (status2, out2) = try runProgram(
            facetwinExecutable().path, ["serve", "--model", fx.model, "--gallery", fx.gallery, "--listen", "nowhere"])
        XCTAssertEqual(status2, 2)
        XCTAssertEqual(out2, "facetwin: error: --listen: expected HOST:PORT with a port from 0 to 65535 (got \"nowhere\")\n")
        // A port already taken.
        let server = try ServerProcess(["--model", fx.model, "--gallery", fx.gallery], test: self)
        let taken = "127.0.0.1:" + server.url.split(separator: ":").last!.dropLast()
        let (status3, out3) = try runProgram(
            facetwinExecutable().path, ["serve", "--model", fx.model, "--gallery", fx.gallery, "--listen", taken])
        XCTAssertEqual(status3, 2)
        XCTAssertTrue(out3.contains("facetwin: error: cannot serve on \(taken): "), out3)
        XCTAssertEqual(server.stop(), 0)
    }

    /// schemathesis (PyPI) generates requests from docs/openapi.yaml against the live server: no
    /// answer may be a 5xx, and every answer must match the document (status, content type,
    /// schema). `scripts/fetch-test-tools.sh` installs it into the cache.
    func testSchemathesisFindsNoServerErrors() throws {
        let cache =
            ProcessInfo.processInfo.environment["XDG_CACHE_HOME"].map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache")
        let st = cache.appendingPathComponent("facetwin/venv-serve-tests/bin/schemathesis").path
        guard FileManager.default.isExecutableFile(atPath: st) else {
            throw XCTSkip("\(st) is missing: run scripts/fetch-test-tools.sh (needs PyPI once)")
        }
        let fx = try fixture()
        let server = try ServerProcess(["--model", fx.model, "--gallery", fx.gallery], test: self)
        // Someone to verify and identify against.
        let enroll = try runProgram(
            "/usr/bin/curl",
            [
                "-s", "-o", "/dev/null", "-w", "%{http_code}", "-H", "Authorization: Bearer \(fx.key)", "-F", "name=alice",
                "-F", "photo=@" + packageRoot.appendingPathComponent("data/orl/s1/1.pgm").path, server.url + "v1/enroll"
            ])
        XCTAssertEqual(enroll.1, "201")
        let (status, out) = try runProgram(
            st,
            [
                "run", server.url + "v1/openapi.yaml", "--header", "Authorization: Bearer \(fx.key)",
                "--checks", "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
                "--max-examples", "25", "--seed", "1", "--no-color"
            ],
            environment: ["PATH": "/usr/bin:/bin", "HOME": fx.dir.path], directory: fx.dir)
        print(out.split(separator: "\n").suffix(25).joined(separator: "\n"))
        XCTAssertEqual(status, 0, out)
        XCTAssertEqual(server.stop(), 0, server.stderrText)
        XCTAssertFalse(server.stderrText.contains("Fatal error"), server.stderrText)
    }
}
