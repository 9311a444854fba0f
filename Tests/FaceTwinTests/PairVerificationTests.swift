import FaceTwin
import XCTest

/// The verdicts and error counts of `verify --pairs`, on distances given by hand.
final class PairVerificationTests: XCTestCase {
    func testLabelledPairsGiveAccuracyFMRAndFNMR() throws {
        let list = try PairList(text: "image1,image2,same\na,b,1\nc,d,1\ne,f,0\ng,h,0\ni,j,0\n", file: "p.csv", root: "/r")
        // Genuine: 0.5 match, 1.5 false non-match. Impostor: 0.9 false match, 1.0 match at the
        // threshold (a false match too), 2.0 correct reject.
        let r = PairVerification(pairs: list.pairs, distances: [0.5, 1.5, 0.9, 1.0, 2.0], threshold: 1.0)
        XCTAssertTrue(r.hasLabels)
        XCTAssertEqual(r.verdicts.map(\.isMatch), [true, false, true, true, false])
        XCTAssertEqual(r.matchCount, 3)
        XCTAssertEqual(r.genuineCount, 2)
        XCTAssertEqual(r.impostorCount, 3)
        XCTAssertEqual(r.correctCount, 2)
        XCTAssertEqual(r.falseAcceptCount, 2)
        XCTAssertEqual(r.falseRejectCount, 1)
        XCTAssertEqual(r.accuracy, 0.4)
        XCTAssertEqual(r.fmr!, 2.0 / 3.0, accuracy: 1e-12)
        XCTAssertEqual(r.fnmr, 0.5)
        XCTAssertEqual(r.verdicts[4].pair.path2, "/r/j")
        XCTAssertEqual(r.verdicts[4].distance, 2.0)
    }

    func testUnlabelledPairsHaveVerdictsButNoRates() throws {
        let list = try PairList(text: "a,b\nc,d\n", file: "u.csv", root: "/r")
        let r = PairVerification(pairs: list.pairs, distances: [0.2, 0.8], threshold: 0.5)
        XCTAssertFalse(r.hasLabels)
        XCTAssertEqual(r.matchCount, 1)
        XCTAssertNil(r.accuracy)
        XCTAssertNil(r.fmr)
        XCTAssertNil(r.fnmr)
    }

    func testFMRNeedsImpostorPairsAndFNMRNeedsGenuinePairs() throws {
        let genuineOnly = try PairList(text: "a,b,1\nc,d,1\n", file: "g.csv", root: "/r")
        let g = PairVerification(pairs: genuineOnly.pairs, distances: [0.1, 0.9], threshold: 0.5)
        XCTAssertEqual(g.accuracy, 0.5)
        XCTAssertNil(g.fmr, "no impostor pairs: no false match rate")
        XCTAssertEqual(g.fnmr, 0.5)

        let impostorOnly = try PairList(text: "a,b,0\n", file: "i.csv", root: "/r")
        let i = PairVerification(pairs: impostorOnly.pairs, distances: [0.1], threshold: 0.5)
        XCTAssertEqual(i.fmr, 1)
        XCTAssertNil(i.fnmr, "no genuine pairs: no false non-match rate")
        XCTAssertEqual(i.accuracy, 0)
    }

    func testScoringWithAModelMatchesEvaluationDistances() throws {
        let orl = try orlDirectory()
        let list = try PairList(
            text: "s5/1.pgm,s5/2.pgm,1\ns5/1.pgm,s6/1.pgm,0\n", file: "p.csv", root: orl, checkImagesExist: true)
        let model = try FaceModel.load(path: try EvalFixture.modelPath())
        let expected = try Evaluation.score(model: model, pairList: list).distances
        XCTAssertNotEqual(expected[0], expected[1])
        let threshold = expected.min()!
        let r = try PairVerification(model: model, pairList: list, threshold: threshold)
        XCTAssertEqual(r.verdicts.map(\.distance), expected)
        XCTAssertEqual(r.matchCount, 1, "only the nearer pair is within the threshold")
        XCTAssertEqual(r.verdicts.map(\.isMatch), expected.map { $0 <= threshold })
    }
}
