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
        XCTAssertTrue(text.hasPrefix("x1,x2,label,predict,distance,score\np00/a.pgm,p00/b.pgm,1,"), text)

        guard let python = pandasPython() else {
            throw XCTSkip("pandas not found (set BENCH_PYTHON to a Python with pandas, or run scripts/bench.sh once)")
        }
        let check = """
            import sys, pandas as pd
            df = pd.read_csv(sys.argv[1])
            assert list(df.columns) == ["x1", "x2", "label", "predict", "distance", "score"], list(df.columns)
            assert len(df) == 14 and df["label"].isin([0, 1]).all() and df["predict"].isin([0, 1]).all()
            assert ((df["score"] > 0) & (df["score"] < 1)).all()
            assert (df["predict"] == (df["score"] <= 0.5).astype(int)).all()
            print(repr(float((df["label"] == df["predict"]).mean())))
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
