import Foundation
import XCTest

@testable import FaceTwin

/// What the Data tests share: a scratch directory per test, writers for
/// small Netpbm files, and where to find ORL and the Pillow fixtures.
enum DataTestSupport {
    /// A fresh empty directory; removed by the returned closure.
    static func makeTemporaryDirectory() throws -> (path: String, remove: () -> Void) {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("facetwin-data-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return (url.path, { try? FileManager.default.removeItem(at: url) })
    }

    /// Writes `bytes` to `directory/name` (creating intermediate folders) and returns the path.
    @discardableResult
    static func write(_ bytes: [UInt8], to directory: String, _ name: String) throws -> String {
        let url = URL(fileURLWithPath: directory).appendingPathComponent(name)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(bytes).write(to: url)
        return url.path
    }

    @discardableResult
    static func write(_ text: String, to directory: String, _ name: String) throws -> String {
        try write(Array(text.utf8), to: directory, name)
    }

    /// A raw 8-bit PGM (P5).
    static func p5(width: Int, height: Int, pixels: [UInt8]) -> [UInt8] {
        Array("P5\n\(width) \(height)\n255\n".utf8) + pixels
    }

    /// A raw 16-bit PGM (P5, big-endian samples).
    static func p5Sixteen(width: Int, height: Int, maxval: Int, samples: [UInt16]) -> [UInt8] {
        Array("P5\n\(width) \(height)\n\(maxval)\n".utf8) + samples.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] }
    }

    /// ORL, as every test finds it (`orlDirectory()` in TestSupport.swift).
    static func orlDirectory() throws -> String { try FaceTwinTests.orlDirectory() }

    /// `Fixtures/data` as copied into the test bundle.
    static var fixtureDirectory: URL {
        Bundle.module.resourceURL!.appendingPathComponent("Fixtures/data", isDirectory: true)
    }

    static func fixtureBytes(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: fixtureDirectory.appendingPathComponent(name)))
    }

    /// One entry of Fixtures/data/manifest.json (written by scripts/make-resize-fixture.py).
    struct FixtureCase: Decodable {
        /// "orl" (image relative to ORL), "fixture" (a file in Fixtures/data) or "convert".
        let source: String
        let image: String
        let width: Int
        let height: Int
        let file: String
        /// "before13" for the pre-Pillow-13 pass order; absent for Pillow 13.
        let pillow: String?

        var pillowVersion: Resize.PillowVersion { pillow == "before13" ? .beforePillow13 : .pillow13 }
    }

    /// Compares images without dumping thousands of bytes on failure.
    static func assertSamePixels(
        _ actual: [UInt8], _ expected: [UInt8], _ label: String,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        XCTAssertEqual(actual.count, expected.count, "\(label): size", file: file, line: line)
        let differing = zip(actual, expected).filter { $0 != $1 }.count
        XCTAssertEqual(differing, 0, "\(label): \(differing) pixels differ", file: file, line: line)
    }

    static func fixtureCases() throws -> [FixtureCase] {
        struct Manifest: Decodable { let cases: [FixtureCase] }
        let data = try Data(contentsOf: fixtureDirectory.appendingPathComponent("manifest.json"))
        return try JSONDecoder().decode(Manifest.self, from: data).cases
    }

    /// Runs `body`, expecting an `ImageError`; fails the test otherwise.
    static func expectImageError(
        _ body: () throws(ImageError) -> GrayImage,
        file: StaticString = #filePath, line: UInt = #line
    ) -> ImageError? {
        do {
            let image = try body()
            XCTFail("expected an ImageError, decoded \(image.width)x\(image.height)", file: file, line: line)
            return nil
        } catch {
            return error
        }
    }

    /// Runs `body`, expecting a `DatasetError`; fails the test otherwise.
    static func expectDatasetError(
        _ body: () throws(DatasetError) -> ImageFolder,
        file: StaticString = #filePath, line: UInt = #line
    ) -> DatasetError? {
        do {
            let folder = try body()
            XCTFail("expected a DatasetError, loaded \(folder.count) images", file: file, line: line)
            return nil
        } catch {
            return error
        }
    }
}
