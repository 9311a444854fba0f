import Foundation
import XCTest

@testable import FaceTwin
@testable import FaceTwinEvaluation
@testable import FaceTwinTraining

/// Pair datasets: pair folders with annos.csv (the Keras convention, 1 = similar), pair CSVs
/// whose header says only `label`, their errors, and training on pairs.
final class PairDataTests: XCTestCase {
    /// `count` pair folders under `root` (`p00`, `p01`, …), alternately of one ORL person and of
    /// two, with their annos.csv (an index column, then label, as pandas writes it).
    @discardableResult
    static func makePairFolders(
        _ root: URL, count: Int, people: ClosedRange<Int> = 8...20, annos: ((inout [String]) -> Void)? = nil
    ) throws -> [Bool] {
        let orl = try orlDirectory()
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        var lines = [",label"], same: [Bool] = []
        let ids = Array(people)
        for k in 0..<count {
            let folder = root.appendingPathComponent(String(format: "p%02d", k))
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            let a = ids[k % ids.count], b = k % 2 == 0 ? a : ids[(k + 1) % ids.count]
            let (ia, ib) = (1 + k % 5, 6 + k % 5)
            try FileManager.default.copyItem(
                atPath: "\(orl)/s\(a)/\(ia).pgm", toPath: folder.appendingPathComponent("a.pgm").path)
            try FileManager.default.copyItem(
                atPath: "\(orl)/s\(b)/\(ib).pgm", toPath: folder.appendingPathComponent("b.pgm").path)
            lines.append("\(k),\(a == b ? 1 : 0)")
            same.append(a == b)
        }
        annos?(&lines)
        try (lines.joined(separator: "\n") + "\n").write(
            to: root.appendingPathComponent("annos.csv"), atomically: true, encoding: .utf8)
        return same
    }

    func testPairFoldersReadInSortedOrderWithKerasLabels() throws {
        let root = try temporaryDirectory(self).appendingPathComponent("pairs")
        let same = try Self.makePairFolders(root, count: 12)
        let list = try PairList(pairFolders: root.path)
        XCTAssertEqual(list.pairs.map(\.same), same)
        XCTAssertEqual(list.pairs.map(\.image1), (0..<12).map { String(format: "p%02d/a.pgm", $0) })
        XCTAssertEqual(list.pairs[3].path2, root.appendingPathComponent("p03/b.pgm").path)
        XCTAssertEqual(list.pairs[0].line, 2)
        XCTAssertEqual(list.file, root.appendingPathComponent("annos.csv").path)
        // 1 = different, when said so.
        XCTAssertEqual(try PairList(pairFolders: root.path, labelMeans: .different).pairs.map(\.same), same.map { !$0 })
    }

    func testPairFolderErrorsNameTheFileAndRow() throws {
        let dir = try temporaryDirectory(self)
        func error(_ name: String, _ annos: ((inout [String]) -> Void)? = nil, breakFolder: ((URL) throws -> Void)? = nil)
            throws -> PairListError
        {
            let root = dir.appendingPathComponent(name)
            try Self.makePairFolders(root, count: 4, annos: annos)
            try breakFolder?(root)
            do {
                _ = try PairList(pairFolders: root.path)
            } catch {
                return error
            }
            XCTFail("\(name) was accepted")
            return PairListError(file: "", line: nil, "")
        }
        let extra = try error("extra") { $0.append("4,1") }
        XCTAssertEqual(extra.line, 6)
        XCTAssertTrue(
            extra.description.hasSuffix("annos.csv:6: 5 label rows for 4 pair folders in \(dir.path)/extra"), extra.description)
        let fewer = try error("fewer") { $0.removeLast() }
        XCTAssertTrue(fewer.description.contains("annos.csv: 3 label rows for 4 pair folders"), fewer.description)
        let bad = try error("bad") { $0[3] = "2,yes please" }
        XCTAssertEqual(bad.line, 4)
        XCTAssertTrue(
            bad.description.contains("label \"yes please\" of pair folder p02 is not 1 (same person) or 0"), bad.description)
        let missing = try error(
            "missing", breakFolder: { try FileManager.default.removeItem(at: $0.appendingPathComponent("p01/b.pgm")) })
        XCTAssertEqual(missing.line, 3)
        XCTAssertTrue(missing.description.contains("pair folder \(dir.path)/missing/p01 has no image b.jpg"), missing.description)
        let noLabel = try error("nolabel") { $0[0] = "index,similar" }
        XCTAssertTrue(noLabel.description.hasSuffix("annos.csv:1: the header has no \"label\" column"), noLabel.description)
        XCTAssertThrowsError(try PairList(pairFolders: dir.appendingPathComponent("none").path)) {
            XCTAssertTrue("\($0)".hasSuffix("none: not found"), "\($0)")
        }
    }

    func testLabelHeaderNeedsItsMeaning() throws {
        let text = "image1,image2,label\na.pgm,b.pgm,1\na.pgm,c.pgm,0\n"
        XCTAssertThrowsError(try PairList(text: text, file: "p.csv", root: "/r")) {
            XCTAssertTrue(
                "\($0)".hasPrefix("p.csv:1: third column is named \"label\": give what 1 means (labelMeans: same or different)"),
                "\($0)")
        }
        XCTAssertEqual(try PairList(text: text, file: "p.csv", root: "/r", labelMeans: .same).pairs.map(\.same), [true, false])
        XCTAssertEqual(
            try PairList(text: text, file: "p.csv", root: "/r", labelMeans: .different).pairs.map(\.same), [false, true])
        let different = "image1,image2,different\na.pgm,b.pgm,1\n"
        XCTAssertEqual(try PairList(text: different, file: "p.csv", root: "/r").pairs.map(\.same), [false])
        XCTAssertThrowsError(try PairList(text: different, file: "p.csv", root: "/r", labelMeans: .same)) {
            XCTAssertEqual(
                "\($0)",
                "p.csv:1: the header names the third column \"different\" but the labels' meaning given (labelMeans) is same")
        }
        XCTAssertThrowsError(
            try PairList(text: "a.pgm,b.pgm,1\na.pgm,c.pgm,2\n", file: "p.csv", root: "/r", labelMeans: .different)
        ) {
            XCTAssertEqual("\($0)", "p.csv:2: label \"2\" is not 1 (different people) or 0 (same person)")
        }
    }

    func testTrainingOnPairsKeepsTheBestValidationEpoch() throws {
        let dir = try temporaryDirectory(self)
        let config = NetworkConfig(inputHeight: 20, inputWidth: 20, hidden: [32], inputChannels: 3)
        try Self.makePairFolders(dir.appendingPathComponent("train"), count: 48, people: 8...20)
        try Self.makePairFolders(dir.appendingPathComponent("val"), count: 16, people: 1...7)
        let train = try PairImages(try PairList(pairFolders: dir.appendingPathComponent("train").path).labelledPairs, for: config)
        let valList = try PairList(pairFolders: dir.appendingPathComponent("val").path)
        let val = try PairImages(valList.labelledPairs, for: config)
        XCTAssertEqual(train.count, 48)
        XCTAssertEqual(train.genuineCount, 24)
        var options = TrainingOptions(epochs: 3, batchSize: 8, seed: 5)
        options.recipe = .reference
        var reports: [EpochReport] = []
        let result = try Trainer(config: config, options: options, data: .pairs(train), validation: .pairs(val)).run {
            reports.append($0)
        }
        XCTAssertEqual(reports.map(\.steps), [6, 6, 6], "an epoch takes every pair once")
        XCTAssertTrue(reports.allSatisfy { $0.validation != nil })
        let t = result.model.info.training!
        XCTAssertEqual(t.trainPairs, 48)
        XCTAssertEqual(t.validationPairs, valList.file)
        XCTAssertEqual(result.model.info.thresholdMethod, "EER on validation pairs \(valList.file)")
        // The kept epoch's EER is what evaluate gives on the same pairs.
        let evaluation = try Evaluation(model: result.model, pairList: valList)
        XCTAssertEqual(evaluation.metrics.eer, t.validationEER!, accuracy: 1e-12)

        // The same seed, the same run.
        let again = try Trainer(config: config, options: options, data: .pairs(train), validation: .pairs(val)).run()
        XCTAssertEqual(again.history.map(\.meanLoss), result.history.map(\.meanLoss))
    }
}

final class PairCrossValidationTests: XCTestCase {
    func testGroupsJoinImagesSharedByPairsOrBytes() throws {
        func entry(_ a: String, _ b: String) -> PairListEntry {
            PairListEntry(image1: a, image2: b, path1: "/r/" + a, path2: "/r/" + b, same: true, line: 1)
        }
        let list = PairList(
            pairs: [
                entry("p1/a", "p1/b"), entry("p2/a", "p2/b"), entry("p3/a", "p1/b"), entry("p4/a", "p4/b"), entry("p5/a", "p5/b")
            ],
            file: "/r/annos.csv", root: "/r")
        // p5/b has the same bytes as p4/a.
        var hashes: [String: String] = [:]
        for p in list.pairs { hashes[p.path1] = "h" + p.image1; hashes[p.path2] = "h" + p.image2 }
        hashes["/r/p5/b"] = "hp4/a"
        XCTAssertEqual(CrossValidation.pairGroups(list, hashes: hashes), ["p1/a", "p2/a", "p1/a", "p4/a", "p4/a"])
    }

    func testCrossvalOverPairFoldersKeepsGroupsApart() throws {
        let dir = try temporaryDirectory(self)
        // Distinct images in every pair folder: 20 people, images 1-5 and 6-10, one use each.
        let root = dir.appendingPathComponent("pairs")
        try PairDataTests.makePairFolders(root, count: 16, people: 1...40)
        let list = try PairList(pairFolders: root.path)
        let config = NetworkConfig(inputHeight: 16, inputWidth: 16, channels: [4, 8], hidden: [16])
        let cv = try CrossValidation(pairs: list, config: config, options: TrainingOptions(epochs: 1, batchSize: 4), folds: 2)
        XCTAssertEqual(cv.folds.map(\.testIdentities.count), [8, 8])
        XCTAssertTrue(Set(cv.folds[0].testIdentities).isDisjoint(with: cv.folds[1].testIdentities))
        XCTAssertTrue(cv.folds[0].testIdentities.allSatisfy { $0.hasSuffix("/a.pgm") })

        let r = try runFacetwin([
            "crossval", "--pair-folders", root.path, "--folds", "2", "--size", "16", "--channels", "4,8", "--epochs", "1",
            "--batch", "4", "--bootstrap", "0", "--quiet"
        ])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("mean EER"), r.stdout)
    }
}

extension PairList {
    /// The pairs as `PairImages` takes them (unlabelled pairs count as different).
    var labelledPairs: (source: String, pairs: [(path1: String, path2: String, same: Bool)]) {
        (file, pairs.map { ($0.path1, $0.path2, $0.same ?? false) })
    }
}

extension PairImages {
    init(_ labelled: (source: String, pairs: [(path1: String, path2: String, same: Bool)]), for config: NetworkConfig) throws {
        try self.init(source: labelled.source, pairs: labelled.pairs, for: config)
    }
}

/// Pair data through the CLI: train, evaluate and verify on pair folders and pair CSVs; bad
/// pair data is one line on stderr, exit 2, and no model.
final class PairDataCLITests: XCTestCase {
    func testTrainEvaluateVerifyOnPairFolders() throws {
        let dir = try temporaryDirectory(self)
        let train = dir.appendingPathComponent("train"), val = dir.appendingPathComponent("val")
        try PairDataTests.makePairFolders(train, count: 32, people: 8...20)
        try PairDataTests.makePairFolders(val, count: 12, people: 1...7)
        let model = dir.appendingPathComponent("m.safetensors").path
        let r = try runFacetwin([
            "train", "--pair-folders", train.path, "--validation-pair-folders", val.path, "--color", "--size", "16",
            "--channels", "4,8", "--epochs", "2", "--batch", "8", "--out", model
        ])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(
            r.stderr.hasPrefix("data: 32 pairs (16 similar) of 64 images for training; validation 12 pairs (6 similar)"), r.stderr
        )
        XCTAssertTrue(r.stdout.contains("kept epoch"), r.stdout)

        let e = try runFacetwin(["evaluate", "--model", model, "--pair-folders", val.path, "--bootstrap", "0"])
        XCTAssertEqual(e.status, 0, e.stderr)
        XCTAssertTrue(e.stdout.contains("pairs: 6 genuine (same person), 6 impostor (different people)"), e.stdout)
        XCTAssertTrue(e.stdout.contains("(EER on validation pairs \(val.path)/annos.csv)"), e.stdout)

        let out = dir.appendingPathComponent("results.csv").path
        let v = try runFacetwin(["verify", "--model", model, "--pair-folders", val.path, "--out", out])
        XCTAssertEqual(v.status, 0, v.stderr)
        let rows = try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(rows.count, 13)
        XCTAssertTrue(rows[1].hasPrefix("p00/a.pgm,p00/b.pgm,1,"), String(rows[1]))

        // A pair CSV whose header says only "label": refused without --label-means.
        let csv = dir.appendingPathComponent("pairs.csv")
        try "image1,image2,label\nval/p00/a.pgm,val/p00/b.pgm,0\nval/p01/a.pgm,val/p01/b.pgm,1\n".write(
            to: csv, atomically: true, encoding: .utf8)
        let ambiguous = try runFacetwin(["evaluate", "--model", model, "--pairs", csv.path])
        XCTAssertEqual(ambiguous.status, 2)
        XCTAssertTrue(
            ambiguous.stderr.hasPrefix("facetwin: error: \(csv.path):1: third column is named \"label\""), ambiguous.stderr)
        let meant = try runFacetwin(["verify", "--model", model, "--pairs", csv.path, "--label-means", "different"])
        XCTAssertEqual(meant.status, 0, meant.stderr)
        XCTAssertTrue(meant.stdout.hasPrefix("image1,image2,same,distance,verdict\nval/p00/a.pgm,val/p00/b.pgm,1,"), meant.stdout)
    }

    func testBadPairDataIsOneLineExitTwoAndNoModel() throws {
        let dir = try temporaryDirectory(self)
        let model = dir.appendingPathComponent("m.safetensors").path
        func run(_ name: String, _ annos: ((inout [String]) -> Void)? = nil, removing: String? = nil) throws -> String {
            let root = dir.appendingPathComponent(name)
            try PairDataTests.makePairFolders(root, count: 8, annos: annos)
            if let removing { try FileManager.default.removeItem(at: root.appendingPathComponent(removing)) }
            let r = try runFacetwin([
                "train", "--pair-folders", root.path, "--size", "16", "--channels", "4,8", "--epochs", "1", "--batch", "4",
                "--out", model
            ])
            XCTAssertEqual(r.status, 2, name)
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
            XCTAssertFalse(FileManager.default.fileExists(atPath: model), "no model after \(name)")
            return r.stderr
        }
        let annos = { (name: String) in "facetwin: error: \(dir.path)/\(name)/annos.csv" }
        XCTAssertTrue(try run("rows") { $0.removeLast() }.hasPrefix(annos("rows") + ": 7 label rows for 8 pair folders"))
        XCTAssertTrue(
            try run("label") { $0[5] = "4,-1" }.hasPrefix(annos("label") + ":6: label \"-1\" of pair folder p04 is not"))
        XCTAssertTrue(try run("missing", removing: "p06/a.pgm").hasPrefix(annos("missing") + ":8: pair folder "))
        // A pair image that is not an image: the file named.
        let broken = try run("broken") { _ in
            try? Data("not an image".utf8).write(to: dir.appendingPathComponent("broken/p03/b.pgm"))
        }
        XCTAssertTrue(broken.contains("broken/p03/b.pgm"), broken)
    }
}
