import Foundation
import XCTest

@testable import FaceTwinServer

/// docs/ERRORS.md's table of the HTTP service against `ServerError`: a row for every case (and
/// no row for a case that is gone), with the status the server answers it with.
final class ServerErrorTableTests: XCTestCase {
    func testEveryServerErrorHasItsRow() throws {
        let doc = try String(contentsOf: packageRoot.appendingPathComponent("docs/ERRORS.md"), encoding: .utf8)
        guard let start = doc.range(of: "## The HTTP service") else { return XCTFail("docs/ERRORS.md: no HTTP section") }
        var rows: [String: String] = [:]  // id → status
        for line in doc[start.upperBound...].split(separator: "\n") where line.hasPrefix("| `ServerError.") {
            let cells = line.split(separator: "|", omittingEmptySubsequences: false).map {
                $0.trimmingCharacters(in: .whitespaces)
            }
            XCTAssertEqual(cells.count, 6, String(line))
            rows[cells[1].trimmingCharacters(in: CharacterSet(charactersIn: "`"))] = cells[3]
        }
        let source = try String(
            contentsOf: packageRoot.appendingPathComponent("Sources/FaceTwinServer/ServerError.swift"), encoding: .utf8)
        let pattern = try NSRegularExpression(pattern: #"^    case ([a-zA-Z]+)"#, options: .anchorsMatchLines)
        let body = source[..<source.range(of: "public var description")!.lowerBound]
        let text = String(body)
        let cases = pattern.matches(in: text, range: NSRange(text.startIndex..., in: text)).map {
            "ServerError." + String(text[Range($0.range(at: 1), in: text)!])
        }
        XCTAssertGreaterThan(cases.count, 10)
        XCTAssertEqual(Set(cases), Set(rows.keys), "docs/ERRORS.md's HTTP rows against ServerError's cases")

        // The statuses the table gives are the ones answered.
        let examples: [(String, ServerError)] = [
            ("missingKey", .missingKey), ("unknownKey", .unknownKey),
            ("forbidden", .forbidden(keyName: "k", role: .verify, needed: .enroll)), ("bodyTooLarge", .bodyTooLarge(limit: 1)),
            ("photoTooLarge", .photoTooLarge(name: "p", bytes: 2, limit: 1)), ("badRequest", .badRequest("x")),
            ("noEndpoint", .noEndpoint(method: "GET", path: "/")), ("busy", .busy(waiting: 1)), ("shuttingDown", .shuttingDown),
            ("nothingEnrolled", .nothingEnrolled(identity: "a", skipped: 1, first: .init(path: "p", reason: "r")))
        ]
        for (name, e) in examples {
            XCTAssertEqual(rows["ServerError." + name], String(e.status.code), name)
        }
    }
}
