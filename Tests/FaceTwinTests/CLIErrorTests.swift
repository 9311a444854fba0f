import Foundation
import XCTest

/// Bad input to the `facetwin` command: one line on stderr naming the file and the problem,
/// exit status 2, and no output file left behind.
final class CLIErrorTests: XCTestCase {
    /// Two identities with three small valid images each.
    func makeDataset() throws -> URL {
        let root = try temporaryDirectory(self)
        for id in ["alice", "bob"] {
            let dir = root.appendingPathComponent(id)
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            for i in 1...3 {
                try writePGM(dir.appendingPathComponent("\(i).pgm"), width: 12, height: 14) { x, y in
                    UInt8((x * 17 + y * 11 + i * 40) % 256)
                }
            }
        }
        return root
    }

    func assertBadInput(_ args: [String], mentions needle: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let r = try runFacetwin(args)
        XCTAssertEqual(r.status, 2, "exit status; stderr: \(r.stderr)", file: file, line: line)
        let lines = r.stderr.split(separator: "\n")
        XCTAssertEqual(lines.count, 1, "one line on stderr, got: \(r.stderr)", file: file, line: line)
        XCTAssertTrue(r.stderr.contains(needle), "stderr should name \(needle): \(r.stderr)", file: file, line: line)
        XCTAssertTrue(r.stderr.hasPrefix("facetwin: error: "), r.stderr, file: file, line: line)
    }

    func trainArgs(_ data: URL, out: URL) -> [String] {
        [
            "train", "--recipe", "reference", "--data", data.path, "--epochs", "1", "--size", "8", "--hidden", "8", "--batch",
            "2", "--out", out.path, "--quiet"
        ]
    }

    func testTruncatedImage() throws {
        let root = try makeDataset()
        let bad = root.appendingPathComponent("bob/2.pgm")
        let full = try Data(contentsOf: bad)
        try full.prefix(full.count / 2).write(to: bad)
        let out = root.appendingPathComponent("m.safetensors")
        try assertBadInput(trainArgs(root, out: out), mentions: bad.path)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.path), "no model written")
    }

    func testBadHeader() throws {
        let root = try makeDataset()
        let bad = root.appendingPathComponent("alice/3.pgm")
        try Data("P9\n12 14\n255\n".utf8 + [UInt8](repeating: 7, count: 168)).write(to: bad)
        try assertBadInput(trainArgs(root, out: root.appendingPathComponent("m.safetensors")), mentions: bad.path)
    }

    func testEmptyIdentityFolder() throws {
        let root = try makeDataset()
        let empty = root.appendingPathComponent("carol")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        try assertBadInput(trainArgs(root, out: root.appendingPathComponent("m.safetensors")), mentions: empty.path)
    }

    func testMissingDataFolder() throws {
        let root = try temporaryDirectory(self)
        let missing = root.appendingPathComponent("no-such-folder")
        try assertBadInput(trainArgs(missing, out: root.appendingPathComponent("m.safetensors")), mentions: missing.path)
    }

    func testNonModelFileAsModel() throws {
        let root = try makeDataset()
        let notModel = root.appendingPathComponent("alice/1.pgm")
        try assertBadInput(["embed", "--model", notModel.path, notModel.path], mentions: notModel.path)
        let text = root.appendingPathComponent("model.safetensors")
        try Data("just some text, not a model".utf8).write(to: text)
        try assertBadInput(["info", "--model", text.path], mentions: text.path)
        try assertBadInput(
            ["info", "--model", root.appendingPathComponent("absent.safetensors").path], mentions: "absent.safetensors")
    }

    func testBadValidationOptions() throws {
        let root = try makeDataset()
        let out = root.appendingPathComponent("m.safetensors")
        // Option errors: ArgumentParser's message line, then its usage lines.
        for (option, value) in [("--validation-share", "0.9"), ("--patience", "-3")] {
            let r = try runFacetwin(trainArgs(root, out: out) + [option, value])
            XCTAssertEqual(r.status, 2, r.stderr)
            XCTAssertTrue(r.stderr.split(separator: "\n").first?.contains(option) ?? false, r.stderr)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.path), "no model written")
    }

    func testUnknownHoldoutIdentity() throws {
        let root = try makeDataset()
        try assertBadInput(
            trainArgs(root, out: root.appendingPathComponent("m.safetensors")) + ["--holdout", "zed"], mentions: "zed")
    }

    func testUsageErrorExitsTwo() throws {
        let r = try runFacetwin(["train", "--epochs", "3"])
        XCTAssertEqual(r.status, 2, r.stderr)
        XCTAssertTrue(r.stderr.contains("--data"), r.stderr)
    }
}
