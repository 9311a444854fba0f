import Foundation
import XCTest

/// The ORL database for tests that need real faces: $ORL_DIR, else ../shared/data/orl beside
/// the package. Tests skip (with the reason) when it is absent.
func orlDirectory() throws -> String {
    if let env = ProcessInfo.processInfo.environment["ORL_DIR"], !env.isEmpty,
       FileManager.default.fileExists(atPath: env + "/s1") {
        return env
    }
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let path = root.deletingLastPathComponent().appendingPathComponent("shared/data/orl").path
    guard FileManager.default.fileExists(atPath: path + "/s1") else {
        throw XCTSkip("ORL not found: set ORL_DIR or put it at \(path)")
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
    let process = Process()
    process.executableURL = facetwinExecutable()
    process.arguments = arguments
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return RunResult(status: process.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
}
