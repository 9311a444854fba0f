import Foundation
import XCTest

@testable import FaceTwin

/// LFW's pair files and its 10-fold protocol: the real View 2 `pairs.txt` (Fixtures/lfw, the
/// file LFW distributes, MD5 9f1ba174e4e1c508ff7cdf10ac338a7d) against a folder of empty files
/// with its names, the fold arithmetic against hand-worked cases, and `evaluate --lfw-pairs`
/// end to end on ORL photos laid out under LFW's names.
final class LFWProtocolTests: XCTestCase {
    static var realPairsFile: String {
        packageRoot.appendingPathComponent("Tests/FaceTwinTests/Fixtures/lfw/pairs.txt").path
    }

    func testRealView2PairsFileParsesIntoTenFoldsOf300And300() throws {
        let lfw = try LFWPairs(contentsOf: Self.realPairsFile, root: "/lfw", checkImagesExist: false)
        XCTAssertEqual(lfw.foldCount, 10)
        XCTAssertEqual(lfw.pairsPerClass, 300)
        XCTAssertEqual(lfw.list.count, 6000)
        XCTAssertEqual(lfw.list.pairs.filter { $0.same == true }.count, 3000)
        for fold in 0..<10 {
            let pairs = lfw.folds.indices.filter { lfw.folds[$0] == fold }.map { lfw.list.pairs[$0] }
            XCTAssertEqual(pairs.count, 600)
            XCTAssertTrue(pairs.prefix(300).allSatisfy { $0.same == true }, "fold \(fold + 1): matched pairs first")
            XCTAssertTrue(pairs.suffix(300).allSatisfy { $0.same == false }, "fold \(fold + 1): then mismatched")
        }
        let first = lfw.list.pairs[0]
        XCTAssertEqual(first.image1, "Abel_Pacheco/Abel_Pacheco_0001.jpg")
        XCTAssertEqual(first.image2, "Abel_Pacheco/Abel_Pacheco_0004.jpg")
        XCTAssertEqual(first.path1, "/lfw/Abel_Pacheco/Abel_Pacheco_0001.jpg")
        XCTAssertEqual(first.line, 2)
        let mismatched = lfw.list.pairs[300]
        XCTAssertEqual(mismatched.image1, "Abdel_Madi_Shabneh/Abdel_Madi_Shabneh_0001.jpg")
        XCTAssertEqual(mismatched.image2, "Dean_Barker/Dean_Barker_0001.jpg")
        XCTAssertEqual(lfw.folds[599], 0)
        XCTAssertEqual(lfw.folds[600], 1)
        XCTAssertEqual(lfw.list.pairs[5999].line, 6001)
    }

    func testImagesAreCheckedAgainstTheRootNamingTheLine() throws {
        let lfw = try LFWPairs(contentsOf: Self.realPairsFile, root: "/lfw", checkImagesExist: false)
        let root = try temporaryDirectory(self)
        var names = Set<String>()
        for p in lfw.list.pairs { names.insert(p.image1); names.insert(p.image2) }
        XCTAssertGreaterThan(names.count, 7000)
        let fm = FileManager.default
        for name in names {
            let url = root.appendingPathComponent(name)
            try fm.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            XCTAssertTrue(fm.createFile(atPath: url.path, contents: Data()))
        }
        XCTAssertNoThrow(try LFWPairs(contentsOf: Self.realPairsFile, root: root.path))
        // The last pair's second image goes: the error names the first line that lists it.
        let gone = lfw.list.pairs[5999].image2
        let line = try XCTUnwrap(lfw.list.pairs.first { $0.image1 == gone || $0.image2 == gone }).line
        try fm.removeItem(at: root.appendingPathComponent(gone))
        XCTAssertThrowsError(try LFWPairs(contentsOf: Self.realPairsFile, root: root.path)) { error in
            XCTAssertEqual("\(error)", "\(Self.realPairsFile):\(line): \(gone): no such image under \(root.path)")
        }
    }

    func testView1CountsAndShapeErrorsNameTheLine() throws {
        let view1 = "2\nA 1 2\nB 1 3\nA 1 B 2\nC 1 D 1\n"
        let v = try LFWPairs(text: view1, file: "dev.txt", root: "/r")
        XCTAssertEqual(v.foldCount, 1)
        XCTAssertEqual(v.list.pairs.map(\.same), [true, true, false, false])
        XCTAssertEqual(v.folds, [0, 0, 0, 0])

        func message(_ text: String) -> String {
            do {
                _ = try LFWPairs(text: text, file: "p.txt", root: "/r")
                return "no error"
            } catch { return error.description }
        }
        XCTAssertEqual(
            message("2 1\nA 1 2\nA 1 B 1\nA 1 2\n"),
            "p.txt: the first line declares 2 folds × (1 matched + 1 mismatched) = 4 pairs, but the file has 3")
        XCTAssertEqual(
            message("1\nA 1 2\nA 1 B 1\nC 1 2\n"),
            "p.txt:4: the first line declares 1 matched + 1 mismatched = 2 pairs, but the file has 3")
        XCTAssertEqual(
            message("2 1\nA 1 2\nA 1 B 1\nA 1 B 1\nA 1 2\n"),
            "p.txt:4: fold 2: expected a matched pair \"name n1 n2\" here (lines 1–1 of each fold), found a mismatched one")
        XCTAssertEqual(message("1\nA 0 2\nA 1 B 1\n"), "p.txt:2: image number \"0\" is not a whole number from 1 to 10000000")
        XCTAssertEqual(message("1\nA x 2\nA 1 B 1\n"), "p.txt:2: image number \"x\" is not a whole number from 1 to 10000000")
        XCTAssertEqual(message("1\nA 1 2\nA/../B 1 C 1\n"), "p.txt:3: \"A/../B\" is not a person's folder name")
        XCTAssertEqual(message("-1\n"), "p.txt:1: pair count \"-1\" is not a whole number from 1 to 10000000")
        XCTAssertEqual(message(""), "p.txt: empty: expected a first line such as \"10 300\"")
        // CRLF line ends, a byte-order mark and tabs or spaces all read the same.
        let crlf = try LFWPairs(text: "\u{FEFF}1\r\nA\t1\t2\r\nA 1 B 1\r\n", file: "p.txt", root: "/r")
        XCTAssertEqual(crlf.list.pairs[1].image2, "B/B_0001.jpg")
    }

    func testFoldThresholdsComeFromTheOtherFoldsAndTheStandardErrorIsLFWs() throws {
        // Three folds of 2 genuine + 2 impostor; each fold is classified at the threshold of
        // highest accuracy on the other two (the first one on ties, as ROCCurve chooses).
        let distances: [Float] = [0.1, 0.2, 1.6, 1.7, 1.0, 1.1, 2.0, 2.1, 1.2, 1.4, 1.3, 1.9]
        let genuine = [true, true, false, false, true, true, false, false, true, true, false, false]
        let folds = [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2]
        let r = try LFWProtocolResult(distances: distances, genuine: genuine, folds: folds, foldCount: 3)
        // Fold 1 from folds 2+3 (1.0G 1.1G 1.2G 1.3I 1.4G 1.9I 2.0I 2.1I): 7 of 8 right after 1.2
        // and after 1.4; the first, (1.2 + 1.3) / 2 = 1.25, classifies fold 1 perfectly.
        XCTAssertEqual(r.folds[0].threshold, 1.25, accuracy: 1e-6)
        XCTAssertEqual(r.folds[0].correctPairs, 4)
        // Fold 2 from folds 1+3 (0.1G 0.2G 1.2G 1.3I 1.4G 1.6I 1.7I 1.9I): 1.25 again, perfect.
        XCTAssertEqual(r.folds[1].threshold, 1.25, accuracy: 1e-6)
        XCTAssertEqual(r.folds[1].correctPairs, 4)
        // Fold 3 from folds 1+2 (separable between 1.1 and 1.6): 1.35 accepts the impostor 1.3
        // and rejects the genuine 1.4: 2 of 4.
        XCTAssertEqual(r.folds[2].threshold, 1.35, accuracy: 1e-6)
        XCTAssertEqual(r.folds[2].correctPairs, 2)
        let accuracies = [1.0, 1.0, 0.5]
        let mean = accuracies.reduce(0, +) / 3
        let sd = (accuracies.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 2).squareRoot()
        XCTAssertEqual(r.meanAccuracy, mean, accuracy: 1e-12)
        XCTAssertEqual(r.standardError, sd / 3.0.squareRoot(), accuracy: 1e-12)
        XCTAssertTrue(r.thresholdsFromOtherFolds)

        // Unscored pairs are counted as errors in the second figure only.
        let u = try LFWProtocolResult(distances: distances, genuine: genuine, folds: folds, foldCount: 3, unscored: [0, 0, 2])
        XCTAssertEqual(u.meanAccuracy, r.meanAccuracy)
        XCTAssertEqual(u.folds[2].accuracyCountingUnscoredAsErrors, 2.0 / 6.0, accuracy: 1e-12)
        XCTAssertEqual(u.meanAccuracyCountingUnscoredAsErrors, (1.0 + 1.0 + 2.0 / 6.0) / 3, accuracy: 1e-12)
        XCTAssertEqual(u.totalUnscoredPairs, 2)

        // One fold (View 1): fitted on itself.
        let one = try LFWProtocolResult(distances: [0.1, 0.9], genuine: [true, false], folds: [0, 0], foldCount: 1)
        XCTAssertFalse(one.thresholdsFromOtherFolds)
        XCTAssertEqual(one.meanAccuracy, 1)
        XCTAssertEqual(one.standardError, 0)
    }

    func testEvaluateLFWPairsEndToEndOnORLUnderLFWNames() throws {
        let orl = try orlDirectory()
        let model = try EvalFixture.modelPath()
        let root = try temporaryDirectory(self)
        let fm = FileManager.default
        // s5…s7 (held out by the fixture model) as three LFW people, photos 1…10 each.
        for person in ["s5", "s6", "s7"] {
            let dir = root.appendingPathComponent("P_\(person)")
            try fm.createDirectory(at: dir, withIntermediateDirectories: true)
            for k in 1...10 {
                try fm.copyItem(
                    atPath: "\(orl)/\(person)/\(k).pgm",
                    toPath: dir.appendingPathComponent("P_\(person)_\(String(format: "%04d", k)).jpg").path)
            }
        }
        // 10 folds of 2 matched + 2 mismatched pairs.
        var text = "10 2\n"
        let people = ["P_s5", "P_s6", "P_s7"]
        for f in 0..<10 {
            let a = people[f % 3], b = people[(f + 1) % 3]
            text += "\(a)\t\(f % 9 + 1)\t\(f % 9 + 2)\n\(b)\t1\t\(f % 8 + 3)\n"
            text += "\(a)\t\(f % 10 + 1)\t\(b)\t\(f % 10 + 1)\n\(b)\t2\t\(people[(f + 2) % 3])\t\(f % 7 + 1)\n"
        }
        let pairs = root.appendingPathComponent("pairs.txt")
        try Data(text.utf8).write(to: pairs)
        let r = try runFacetwin(["evaluate", "--model", model, "--lfw-pairs", pairs.path, "--data", root.path, "--bootstrap", "0"]
        )
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("pairs: 20 genuine (same person), 20 impostor (different people)"), r.stdout)
        XCTAssertTrue(
            r.stdout.contains("LFW protocol: 10 folds, each at the threshold of highest accuracy on the other 9"), r.stdout)
        XCTAssertEqual(r.stdout.components(separatedBy: "\n  fold ").count - 1, 10, r.stdout)
        XCTAssertTrue(r.stdout.contains("LFW mean accuracy: "), r.stdout)

        let j = try runFacetwin([
            "evaluate", "--model", model, "--lfw-pairs", pairs.path, "--data", root.path, "--bootstrap", "0", "--json"
        ])
        XCTAssertEqual(j.status, 0, j.stderr)
        let object = try JSONSerialization.jsonObject(with: Data(j.stdout.utf8)) as? [String: Any]
        let lfw = try XCTUnwrap(object?["lfw"] as? [String: Any])
        let folds = try XCTUnwrap(lfw["folds"] as? [[String: Any]])
        XCTAssertEqual(folds.count, 10)
        XCTAssertEqual(folds.map { ($0["scoredPairs"] as? Int) ?? -1 }, [Int](repeating: 4, count: 10))
        // The mean is the folds' mean, recomputed from the JSON.
        let accs = folds.compactMap { $0["accuracy"] as? Double }
        XCTAssertEqual(lfw["meanAccuracy"] as? Double ?? -1, accs.reduce(0, +) / 10, accuracy: 1e-12)
    }
}
