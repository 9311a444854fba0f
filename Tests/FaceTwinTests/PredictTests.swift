import Foundation
import XCTest

@testable import FaceTwin

/// A Python with pandas, for checks of what FaceTwin writes as other tools read it:
/// `$BENCH_PYTHON`, else the repository's `.venv-bench` (scripts/bench.sh makes it), else
/// `python3`; nil when none of them imports pandas.
func pandasPython() -> String? {
    let env = ProcessInfo.processInfo.environment["BENCH_PYTHON"] ?? ""
    for candidate in [env, packageRoot.appendingPathComponent(".venv-bench/bin/python").path, "/usr/bin/python3"]
    where !candidate.isEmpty && FileManager.default.isExecutableFile(atPath: candidate) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: candidate)
        p.arguments = ["-c", "import pandas"]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        guard (try? p.run()) != nil else { continue }
        p.waitUntilExit()
        if p.terminationStatus == 0 { return candidate }
    }
    return nil
}

/// `facetwin predict`: result.csv with the Keras recipe's columns, read back by pandas, and its
/// accuracy equal to what `evaluate` reports on the same pairs.
final class PredictTests: XCTestCase {
    func testResultCSVReadsInPandasAndMatchesEvaluate() throws {
        let dir = try temporaryDirectory(self)
        let train = dir.appendingPathComponent("train"), val = dir.appendingPathComponent("val")
        try PairDataTests.makePairFolders(train, count: 32, people: 8...20)
        try PairDataTests.makePairFolders(val, count: 14, people: 1...7)
        let model = dir.appendingPathComponent("m.safetensors").path
        let t = try runFacetwin([
            "train", "--pair-folders", train.path, "--validation-pair-folders", val.path, "--size", "16", "--channels", "4,8",
            "--epochs", "2", "--batch", "8", "--head", "sigmoid", "--out", model, "--quiet"
        ])
        XCTAssertEqual(t.status, 0, t.stderr)
        let out = dir.appendingPathComponent("result.csv").path
        let p = try runFacetwin(["predict", "--model", model, "--pair-folders", val.path, "--out", out])
        XCTAssertEqual(p.status, 0, p.stderr)
        let e = try runFacetwin(["evaluate", "--model", model, "--pair-folders", val.path, "--bootstrap", "0", "--json"])
        XCTAssertEqual(e.status, 0, e.stderr)
        let summary = try JSONSerialization.jsonObject(with: Data(e.stdout.utf8)) as? [String: Any]
        let evaluated = try XCTUnwrap(summary?["accuracyAtStoredThreshold"] as? Double)

        let text = try String(contentsOfFile: out, encoding: .utf8)
        XCTAssertTrue(text.hasPrefix("x1,x2,label,predict,similar,distance\np00/a.pgm,p00/b.pgm,1,"), text)
        // predict is the sigmoid head's score, as the Keras recipe writes it (< 0.5 = similar);
        // similar is the verdict at the model's threshold, 0.5.
        var agree = 0
        let rows = text.split(separator: "\n").dropFirst().map { $0.split(separator: ",").map(String.init) }
        XCTAssertEqual(rows.count, 14)
        for row in rows {
            let score = try XCTUnwrap(Float(row[3])), similar = row[4]
            XCTAssertTrue(score > 0 && score < 1, "predict \(score) is a score in (0, 1)")
            XCTAssertEqual(similar, score <= 0.5 ? "1" : "0", "\(row)")
            if similar == row[2] { agree += 1 }
        }
        XCTAssertEqual(Double(agree) / Double(rows.count), evaluated, accuracy: 1e-12, "similar = label agrees as evaluate says")

        guard let python = pandasPython() else {
            throw XCTSkip("pandas not found (set BENCH_PYTHON to a Python with pandas, or run scripts/bench.sh once)")
        }
        let check = """
            import sys, pandas as pd
            df = pd.read_csv(sys.argv[1])
            assert list(df.columns) == ["x1", "x2", "label", "predict", "similar", "distance"], list(df.columns)
            assert len(df) == 14 and df["label"].isin([0, 1]).all() and df["similar"].isin([0, 1]).all()
            assert ((df["predict"] > 0) & (df["predict"] < 1)).all()
            assert (df["similar"] == (df["predict"] <= 0.5).astype(int)).all()
            print(repr(float((df["label"] == df["similar"]).mean())))
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = ["-c", check, out]
        let pipe = Pipe(), errors = Pipe()
        process.standardOutput = pipe
        process.standardError = errors
        try process.run()
        let stdout = pipe.fileHandleForReading.readDataToEndOfFile()
        let stderr = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, String(decoding: stderr, as: UTF8.self))
        let accuracy = try XCTUnwrap(
            Double(String(decoding: stdout, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)))
        XCTAssertEqual(accuracy, evaluated, accuracy: 1e-12, "pandas' accuracy of result.csv vs evaluate's")
    }

    func testPredictNeedsOnePairSource() throws {
        let r = try runFacetwin(["predict", "--model", "m.safetensors"])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("give --pairs FILE.csv or --pair-folders DIR"), r.stderr)
    }
}
