import FaceTwin
import Foundation
import XCTest

/// The library names values, not the CLI's options: no string literal in a library target
/// names a `--flag`, and the errors whose remedy is an option carry the value in a typed case,
/// which `facetwin` words with its flag (`ErrorTableTests` walks those rows through the CLI).
final class LibraryMessageTests: XCTestCase {
    /// Library targets that are front ends themselves: the server speaks HTTP and CSS, whose
    /// literals (`var(--ok)`) and API answers (`"--threshold"` as a threshold's source) it owns.
    static let frontEnds: Set<String> = ["FaceTwinServer"]

    func testLibraryStringLiteralsNameNoCommandLineOption() throws {
        let sources = packageRoot.appendingPathComponent("Sources")
        let targets = try FileManager.default.contentsOfDirectory(atPath: sources.path)
            .filter { $0.hasPrefix("FaceTwin") && !Self.frontEnds.contains($0) }.sorted()
        XCTAssertGreaterThan(targets.count, 10)
        let flag = try NSRegularExpression(pattern: #""[^"]*(?<![\w-])--[a-z][^"]*""#)
        var found: [String] = []
        for target in targets {
            let files =
                FileManager.default.enumerator(atPath: sources.appendingPathComponent(target).path)?
                .compactMap { $0 as? String }.filter { $0.hasSuffix(".swift") } ?? []
            for file in files {
                let text = try String(contentsOf: sources.appendingPathComponent("\(target)/\(file)"), encoding: .utf8)
                for (n, line) in text.components(separatedBy: "\n").enumerated() {
                    let code = line.trimmingCharacters(in: .whitespaces)
                    if code.hasPrefix("//") { continue }
                    if flag.firstMatch(in: line, range: NSRange(line.startIndex..., in: line)) != nil {
                        found.append("\(target)/\(file):\(n + 1): \(code)")
                    }
                }
            }
        }
        XCTAssertEqual(found, [], "library messages that name a command-line option")
    }

    func testErrorsNameTheValueAndTheCommandLineItsFlag() throws {
        let several = ImageError.multipleFaces(path: "p.jpg", count: 3)
        XCTAssertEqual(several.description, "p.jpg: 3 faces found; refused")
        let text = "image1,image2,label\na.pgm,b.pgm,1\n"
        XCTAssertThrowsError(try PairList(text: text, file: "p.csv", root: "/r")) {
            let e = $0 as? PairListError
            XCTAssertEqual(e?.labelMeaning, .unstated)
            XCTAssertFalse("\($0)".contains("--"), "\($0)")
        }
        let different = "image1,image2,different\na.pgm,b.pgm,1\n"
        XCTAssertThrowsError(try PairList(text: different, file: "p.csv", root: "/r", labelMeans: .same)) {
            XCTAssertEqual(($0 as? PairListError)?.labelMeaning, .contradicted(column: "different", given: .same))
            XCTAssertFalse("\($0)".contains("--"), "\($0)")
        }
    }
}
