import Foundation
import XCTest

@testable import FaceTwin

/// The pair list CSV: image1,image2[,same], same = 1 for the same person; errors name file:line.
final class PairListTests: XCTestCase {
    func testLabelledListWithHeaderCommentsAndQuotes() throws {
        let text = """
            # pairs for the demo
            image1,image2,same
            s5/1.pgm,s5/2.pgm,1

            s5/1.pgm, s6/1.pgm ,0
            "odd, name.pgm","say ""hi"".pgm",same
            /abs/a.pgm,b.pgm,different\r
            """
        let list = try PairList(text: text, file: "p.csv", root: "/data")
        XCTAssertTrue(list.hasLabels)
        XCTAssertEqual(list.count, 4)
        XCTAssertEqual(list.pairs.map(\.same), [true, false, true, false])
        XCTAssertEqual(list.pairs.map(\.line), [3, 5, 6, 7])
        XCTAssertEqual(list.pairs[0].path1, "/data/s5/1.pgm")
        XCTAssertEqual(list.pairs[1].image2, "s6/1.pgm", "fields are trimmed")
        XCTAssertEqual(list.pairs[2].image1, "odd, name.pgm")
        XCTAssertEqual(list.pairs[2].image2, "say \"hi\".pgm")
        XCTAssertEqual(list.pairs[3].path1, "/abs/a.pgm", "absolute paths stay")
        XCTAssertEqual(list.pairs[3].path2, "/data/b.pgm")
    }

    func testUnlabelledListWithoutHeader() throws {
        let list = try PairList(text: "a.pgm,b.pgm\nc.pgm,d.pgm\n", file: "p.csv", root: "r")
        XCTAssertFalse(list.hasLabels)
        XCTAssertEqual(list.pairs.map(\.same), [nil, nil])
        XCTAssertEqual(list.pairs[1].path2, "r/d.pgm")
    }

    func assertError(_ text: String, line: Int?, mentions needle: String, file: StaticString = #filePath, at: UInt = #line) {
        XCTAssertThrowsError(try PairList(text: text, file: "pairs.csv", root: "/r"), file: file, line: at) { error in
            guard let e = error as? PairListError else { return XCTFail("\(error)", file: file, line: at) }
            XCTAssertEqual(e.line, line, e.description, file: file, line: at)
            let prefix = line.map { "pairs.csv:\($0): " } ?? "pairs.csv: "
            XCTAssertTrue(e.description.hasPrefix(prefix), e.description, file: file, line: at)
            XCTAssertTrue(e.description.contains(needle), e.description, file: file, line: at)
            XCTAssertFalse(e.description.contains("\n"), "one line", file: file, line: at)
        }
    }

    func testBadRowsNameFileAndLine() {
        assertError("a.pgm,b.pgm,1\na.pgm,c.pgm,2\n", line: 2, mentions: "label \"2\"")
        assertError("a.pgm,b.pgm,1\n\na.pgm\n", line: 3, mentions: "2 or 3 columns")
        assertError("a.pgm,b.pgm,1\na.pgm,b.pgm\n", line: 2, mentions: "earlier rows")
        assertError("a.pgm,,1\n", line: 1, mentions: "image2 is empty")
        assertError("\"a.pgm,b.pgm,1\n", line: 1, mentions: "unterminated quote")
        assertError("# nothing\n\n", line: nil, mentions: "no pairs")
    }

    /// A NUL byte in a listed path is refused with its line: the system would read the path
    /// only up to the NUL, so `a.pgm<NUL>.png` would silently be `a.pgm`.
    func testNulByteInAPathIsAnErrorNamingTheLine() throws {
        assertError("a.pgm,b.pgm,1\nb.pgm\u{0}.png,a.pgm,0\n", line: 2, mentions: "image1 contains a NUL byte")
        assertError("a.pgm,\"b\u{0}.pgm\",1\n", line: 1, mentions: "image2 contains a NUL byte")
        let dir = try temporaryDirectory(self)
        try writePGM(dir.appendingPathComponent("a.pgm"), width: 4, height: 4) { _, _ in 9 }
        let csv = dir.appendingPathComponent("pairs.csv")
        try Data("a.pgm,a.pgm,1\na.pgm\u{0}.png,a.pgm,0\n".utf8).write(to: csv)
        XCTAssertThrowsError(try PairList(contentsOf: csv.path)) { error in
            XCTAssertEqual("\(error)", "\(csv.path):2: image1 contains a NUL byte")
        }
    }

    func testAmbiguousLabelHeaderIsRejected() {
        assertError("image1,image2,label\na.pgm,b.pgm,1\n", line: 1, mentions: "name it \"same\"")
        assertError("image1,img2\na.pgm,b.pgm\n", line: 1, mentions: "header must be")
    }

    func testMissingImageAndMissingFile() throws {
        let dir = try temporaryDirectory(self)
        try writePGM(dir.appendingPathComponent("a.pgm"), width: 4, height: 4) { _, _ in 9 }
        let csv = dir.appendingPathComponent("pairs.csv")
        try "image1,image2,same\na.pgm,a.pgm,1\na.pgm,nope.pgm,0\n".write(to: csv, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try PairList(contentsOf: csv.path)) { error in
            let d = "\(error)"
            XCTAssertTrue(d.hasPrefix("\(csv.path):3: image nope.pgm"), d)
            XCTAssertTrue(d.contains("not found"), d)
        }
        // Relative to the CSV's folder by default, or to an explicit root.
        try "a.pgm,a.pgm,1\n".write(to: csv, atomically: true, encoding: .utf8)
        XCTAssertEqual(try PairList(contentsOf: csv.path).pairs[0].path1, dir.path + "/a.pgm")
        XCTAssertThrowsError(try PairList(contentsOf: csv.path, root: "/nonexistent-root"))
        XCTAssertThrowsError(try PairList(contentsOf: dir.appendingPathComponent("missing.csv").path)) { error in
            XCTAssertTrue("\(error)".contains("missing.csv: file not found"), "\(error)")
        }
    }
}
