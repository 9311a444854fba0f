import Foundation
import XCTest

/// The library's public surface, read off its sources: no public declaration returns or stores
/// a tuple (results are structs with named fields a caller can look up), and the layers, the
/// kernels and the file codecs stay inside the package (`package` access: its targets, the CLI
/// and the tests use them). scripts/public-api.sh counts the surface.
final class PublicSurfaceTests: XCTestCase {
    /// Library targets left out: training's and the server's public declarations are their own.
    static let leftOut: Set<String> = ["FaceTwinServer", "FaceTwinTraining", "FaceTwinPostgres"]

    static func publicLines(in targets: [String]) throws -> [String] {
        let sources = packageRoot.appendingPathComponent("Sources")
        let declaration = try NSRegularExpression(pattern: #"^\s*(@\w+(\([^)]*\))?\s+)*public\s"#)
        var lines: [String] = []
        for target in targets {
            let files =
                FileManager.default.enumerator(atPath: sources.appendingPathComponent(target).path)?
                .compactMap { $0 as? String }.filter { $0.hasSuffix(".swift") }.sorted() ?? []
            for file in files {
                let text = try String(contentsOf: sources.appendingPathComponent("\(target)/\(file)"), encoding: .utf8)
                for (n, line) in text.components(separatedBy: "\n").enumerated()
                where declaration.firstMatch(in: line, range: NSRange(line.startIndex..., in: line)) != nil {
                    lines.append("\(target)/\(file):\(n + 1): \(line.trimmingCharacters(in: .whitespaces))")
                }
            }
        }
        return lines
    }

    static var libraryTargets: [String] {
        get throws {
            try FileManager.default.contentsOfDirectory(atPath: packageRoot.appendingPathComponent("Sources").path)
                .filter { $0.hasPrefix("FaceTwin") && !leftOut.contains($0) }.sorted()
        }
    }

    func testNoPublicTuples() throws {
        let lines = try Self.publicLines(in: Self.libraryTargets)
        XCTAssertGreaterThan(lines.count, 300)
        // A tuple result (`-> (a, b)`) or a stored or computed tuple (`var x: (a, b)`, `[(a, b)]`).
        let tuple = try NSRegularExpression(pattern: #"(->\s*\[?\([^()]*,|\b(let|var)\s+\w+\s*:\s*\[?\([^()]*,)"#)
        let found = lines.filter { tuple.firstMatch(in: $0, range: NSRange($0.startIndex..., in: $0)) != nil }
        XCTAssertEqual(found, [], "public declarations with a tuple type")
    }

    func testLayersKernelsAndCodecsAreNotPublic() throws {
        let lines = try Self.publicLines(in: ["FaceTwinLayers"])
        XCTAssertEqual(lines.filter { !$0.contains("Layer.swift") }, [], "FaceTwinLayers: only Parameter is public")
        let inside = [
            "FaceTwinTensor/BLAS.swift", "FaceTwinTensor/Parallel.swift", "FaceTwinModel/SafeTensorsFile.swift",
            "FaceTwinModel/SafeTensorsWriter.swift", "FaceTwinModel/SafeTensorsHeader.swift", "FaceTwinModel/DlibNetwork.swift",
            "FaceTwinData/PGMEncoder.swift", "FaceTwinReport/PNGEncoder.swift", "FaceTwinReport/PNGCanvas.swift",
            "FaceTwinSupport/InputFile.swift", "FaceTwinSupport/OutputFile.swift", "FaceTwinSupport/CSV.swift"
        ]
        let all = try Self.publicLines(in: Self.libraryTargets)
        for file in inside { XCTAssertEqual(all.filter { $0.hasPrefix(file + ":") }, [], file) }
    }
}
