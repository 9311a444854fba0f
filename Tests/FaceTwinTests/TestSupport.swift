import Foundation
import XCTest

/// The repository's root, found from this file's location (Tests/FaceTwinTests/…).
let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

/// The ORL database for tests that need real faces: `$ORL_DIR` when set, else the copy the
/// repository ships in `data/orl`. A missing database fails the test: it is part of the checkout.
func orlDirectory() throws -> String {
    let env = ProcessInfo.processInfo.environment["ORL_DIR"] ?? ""
    let path = env.isEmpty ? packageRoot.appendingPathComponent("data/orl").path : env
    guard FileManager.default.fileExists(atPath: path + "/s1/1.pgm") else {
        struct MissingORL: Error, CustomStringConvertible { let description: String }
        throw MissingORL(description: "ORL not found at \(path): the repository ships it in data/orl (ORL_DIR overrides)")
    }
    return path
}

/// A fresh temporary directory, removed when the test ends.
func temporaryDirectory(_ test: XCTestCase) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("facetwin-test-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
    return url
}

/// Writes an 8-bit binary PGM (P5).
func writePGM(_ url: URL, width: Int, height: Int, pixel: (Int, Int) -> UInt8) throws {
    var data = Data("P5\n\(width) \(height)\n255\n".utf8)
    for y in 0..<height { for x in 0..<width { data.append(pixel(x, y)) } }
    try data.write(to: url)
}

/// The built `facetwin` executable, beside the test bundle.
func facetwinExecutable() -> URL {
    var dir = Bundle.main.bundleURL
    if dir.pathExtension == "xctest" { dir = dir.deletingLastPathComponent() }
    for bundle in Bundle.allBundles where bundle.bundlePath.hasSuffix(".xctest") {
        dir = bundle.bundleURL.deletingLastPathComponent()
    }
    return dir.appendingPathComponent("facetwin")
}

struct RunResult {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// Runs `facetwin` with arguments, capturing its output.
func runFacetwin(_ arguments: [String]) throws -> RunResult {
    try runCapturing(facetwinExecutable(), arguments)
}

/// Runs `facetwin` with arguments under `ulimit -v memoryKB`, killed after `seconds`.
func runFacetwinLimited(_ arguments: [String], memoryKB: Int, seconds: Int) throws -> RunResult {
    let quoted = ([facetwinExecutable().path] + arguments).map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }
    return try runCapturing(
        URL(fileURLWithPath: "/bin/sh"),
        ["-c", "ulimit -v \(memoryKB); exec timeout -s KILL \(seconds) " + quoted.joined(separator: " ")])
}

/// Runs `executable` with `arguments`, capturing its output.
func runCapturing(_ executable: URL, _ arguments: [String]) throws -> RunResult {
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return RunResult(
        status: process.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
}
