import Foundation
import XCTest

/// The documentation's getting-started article (Sources/FaceTwin/FaceTwin.docc/GettingStarted.md)
/// shows Examples/VerifyApp's manifest and main.swift as they are: scripts/example.sh builds and
/// runs that package, so the article's code is code that works.
final class ExampleDocumentationTests: XCTestCase {
    func testGettingStartedShowsTheExamplePackageAsItIs() throws {
        func read(_ path: String) throws -> String {
            try String(contentsOf: packageRoot.appendingPathComponent(path), encoding: .utf8)
        }
        let article = try read("Sources/FaceTwin/FaceTwin.docc/GettingStarted.md")
        let blocks = article.components(separatedBy: "```swift\n").dropFirst().map {
            $0.components(separatedBy: "\n```")[0] + "\n"
        }
        XCTAssertEqual(blocks.count, 2, "the article shows the manifest and main.swift")
        XCTAssertEqual(blocks.first, try read("Examples/VerifyApp/Package.swift"), "the manifest differs from the example's")
        XCTAssertEqual(blocks.last, try read("Examples/VerifyApp/Sources/VerifyApp/main.swift"), "main.swift differs")
    }
}
