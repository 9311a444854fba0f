import Foundation
import GRDB
import XCTest

@testable import FaceTwin

/// Hostile values in files and options: a model whose metadata lies about its network or
/// whose weights were swapped, NaN weights and embeddings, malformed gallery rows, enormous
/// numeric options, nonsense thresholds, CSV and name injection. Each must end in one
/// `facetwin: error: <file>: <problem>` line and exit 2 (or a typed library error), never a
/// crash, a hang, or an answer computed from nonsense.
final class HostileValuesTests: XCTestCase {
    // MARK: Helpers

    /// Runs facetwin under a memory cap (so a regression fails instead of swapping the
    /// machine) and a time limit.
    func runCapped(_ arguments: [String], memoryKB: Int = 4_000_000, seconds: Int = 120) throws -> RunResult {
        try runFacetwinLimited(arguments, memoryKB: memoryKB, seconds: seconds)
    }

    /// Exit 2 and a first line `facetwin: error: …` that contains every fragment; nothing else
    /// on stderr unless it is a usage error (`usage`: ArgumentParser adds the usage lines).
    func assertRefused(
        _ r: RunResult, _ fragments: [String], _ what: String, usage: Bool = false,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        XCTAssertEqual(r.status, 2, "\(what): exit status; stdout: \(r.stdout) stderr: \(r.stderr)", file: file, line: line)
        let lines = r.stderr.split(separator: "\n")
        if !usage { XCTAssertEqual(lines.count, 1, "\(what): one line on stderr, got: \(r.stderr)", file: file, line: line) }
        let first = lines.first.map(String.init) ?? ""
        XCTAssertTrue(first.hasPrefix("facetwin: error: "), "\(what): \(r.stderr)", file: file, line: line)
        for f in fragments {
            XCTAssertTrue(first.contains(f), "\(what): \"\(f)\" not in: \(first)", file: file, line: line)
        }
    }

    /// Copies the safetensors file at `source` to `destination`, every tensor through
    /// `transform` (name, shape, little-endian bytes → new bytes) and the metadata through
    /// `metadata`.
    func rewriteModel(
        _ source: String, to destination: String,
        transform: (String, [Int], Data) -> Data = { $2 },
        metadata: ([String: String]) -> [String: String] = { $0 }
    ) throws {
        let file = try SafeTensorsFile(path: source)
        var writer = SafeTensorsWriter()
        for name in file.tensorNames {
            let info = try file.info(name)
            let bytes = try file.withUnsafeBytes(of: name) { Data($0) }
            writer.add(
                name, dtype: info.dtype, shape: info.shape,
                bytes: info.dtype == .float32 ? transform(name, info.shape, bytes) : bytes)
        }
        writer.metadata = metadata(file.metadata)
        try writer.write(to: URL(fileURLWithPath: destination))
    }

    static func floats(_ data: Data) -> [Float] {
        data.withUnsafeBytes { raw in
            (0..<(raw.count / 4)).map {
                Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self)))
            }
        }
    }

    static func bytes(_ floats: [Float]) -> Data {
        var d = Data(capacity: floats.count * 4)
        for f in floats { withUnsafeBytes(of: f.bitPattern.littleEndian) { d.append(contentsOf: $0) } }
        return d
    }

    /// The model's metadata with its configuration replaced.
    static func metadata(_ m: [String: String], config: NetworkConfig) -> [String: String] {
        var info = try! JSONDecoder().decode(ModelInfo.self, from: Data(m["info"]!.utf8))
        info.config = config
        var out = m
        out["info"] = String(decoding: try! JSONEncoder().encode(info), as: UTF8.self)
        return out
    }

    // MARK: 1. Metadata that claims an enormous network

    func testMetadataClaimingAnEnormousLayerIsRefusedBeforeAllocation() throws {
        let fx = try GalleryFixture(self)
        // Beyond the limits, the metadata alone is refused.
        var beyond = galleryTestConfig
        beyond.hidden = [1_000_000_000, 32]  // 3200 × 10⁹ Float32 weights: 12.8 TB
        let worse = fx.dir.appendingPathComponent("worse.safetensors").path
        try rewriteModel(fx.modelPath, to: worse, metadata: { Self.metadata($0, config: beyond) })
        assertRefused(try runCapped(["info", "--model", worse]), [worse, "hidden width 1000000000"], "info beyond limits")
        // Within the limits (768 MB of weights), the tensors the file holds give it away.
        var huge = galleryTestConfig
        huge.hidden = [60_000, 32]
        let liar = fx.dir.appendingPathComponent("liar.safetensors").path
        try rewriteModel(fx.modelPath, to: liar, metadata: { Self.metadata($0, config: huge) })

        for command in [
            ["info", "--model", liar], ["embed", "--model", liar, fx.photo(1)],
            ["compare", "--model", liar, fx.photo(1), fx.photo(2), "--threshold", "1"]
        ] {
            assertRefused(try runCapped(command), [liar, "fc1.0.weight"], command[0])
        }

        // A gallery whose recorded model is now such a file fails the same clean way.
        XCTAssertEqual(
            try runFacetwin(["enroll", "--gallery", fx.gallery, "--model", fx.modelPath, "--name", "alice", fx.photo(1)]).status,
            0)
        try FileManager.default.removeItem(atPath: fx.modelPath)
        try FileManager.default.copyItem(atPath: liar, toPath: fx.modelPath)
        assertRefused(
            try runCapped(["verify", "--gallery", fx.gallery, "--claim", "alice", fx.photo(1)]), [fx.modelPath, "fc1.0.weight"],
            "verify")
        assertRefused(try runCapped(["identify", "--gallery", fx.gallery, fx.photo(1)]), [fx.modelPath], "identify")
    }

    func testLoaderChecksTheConfigurationAgainstTheTensorsAndTheLimits() throws {
        let fx = try GalleryFixture(self)
        var huge = galleryTestConfig
        huge.hidden = [60_000, 32]
        let liar = fx.dir.appendingPathComponent("liar.safetensors").path
        try rewriteModel(fx.modelPath, to: liar, metadata: { Self.metadata($0, config: huge) })
        XCTAssertThrowsError(try FaceModel.load(path: liar)) { error in
            XCTAssertTrue("\(error)".hasPrefix(liar + ": "), "\(error)")
            XCTAssertTrue("\(error)".contains("fc1.0.weight"), "\(error)")
        }
        // The shapes a configuration needs are the ones the network has.
        for config in [
            galleryTestConfig, NetworkConfig.reference,
            NetworkConfig(inputHeight: 7, inputWidth: 9, channels: [3], hidden: [], embeddingSize: 2)
        ] {
            let network = SiameseNetwork(config: config, seed: nil)
            XCTAssertEqual(config.stateShapes.map(\.name), network.stateTensors.map(\.name))
            XCTAssertEqual(config.stateShapes.map(\.shape), network.stateTensors.map(\.tensor.shape))
        }
        // Out-of-range configurations are refused with the limit named.
        XCTAssertNil(NetworkConfig.reference.problem())
        XCTAssertNotNil(NetworkConfig(inputHeight: 5000, inputWidth: 5000).problem())
        XCTAssertNotNil(NetworkConfig(channels: [5000]).problem())
        XCTAssertNotNil(NetworkConfig(hidden: [Int.max]).problem())
        XCTAssertNotNil(NetworkConfig(embeddingSize: Int.max / 2).problem())
        let big = NetworkConfig(inputHeight: 1000, inputWidth: 1000, channels: [64, 64], hidden: [4096])
        let problem = big.problem()
        XCTAssertTrue(problem?.contains("GiB") ?? false, problem ?? "accepted")
    }

    // MARK: 2. The fingerprint is computed, not taken from the file's word

    func testAlteredWeightsWithTheOriginalMetadataAreRefusedByTheGallery() throws {
        let fx = try GalleryFixture(self)
        XCTAssertEqual(
            try runFacetwin(["enroll", "--gallery", fx.gallery, "--model", fx.modelPath, "--name", "alice", fx.photo(1)]).status,
            0)
        XCTAssertEqual(try runFacetwin(["enroll", "--gallery", fx.gallery, "--name", "bob", fx.photo(2)]).status, 0)

        // The last layer changed, the metadata (with its recorded fingerprint) left alone.
        let altered = fx.dir.appendingPathComponent("altered.safetensors").path
        try rewriteModel(fx.modelPath, to: altered) { name, _, data in
            name == "fc1.4.weight" ? Self.bytes(Self.floats(data).map { $0 * 1.5 }) : data
        }
        // A crafted one: the last layer zeroed, so every photo embeds to 0 (distance 0 to anyone).
        let crafted = fx.dir.appendingPathComponent("crafted.safetensors").path
        try rewriteModel(fx.modelPath, to: crafted) { name, _, data in
            name.hasPrefix("fc1.4.") ? Data(count: data.count) : data
        }
        XCTAssertEqual(
            try SafeTensorsFile(path: crafted).metadata["fingerprint"],
            try SafeTensorsFile(path: fx.modelPath).metadata["fingerprint"])

        for model in [altered, crafted] {
            for command in [
                ["verify", "--gallery", fx.gallery, "--claim", "alice", "--model", model, fx.photo(7)],
                ["identify", "--gallery", fx.gallery, "--model", model, fx.photo(7)],
                ["enroll", "--gallery", fx.gallery, "--model", model, "--name", "carol", fx.photo(8)]
            ] {
                assertRefused(
                    try runFacetwin(command), ["gallery \(fx.gallery) was made with model"], "\(command[0]) with \(model)")
            }
        }
        // Library: the fingerprint a gallery checks is the weights'.
        let loaded = try FaceModel.load(path: crafted)
        XCTAssertNotEqual(loaded.fingerprint, fx.model.fingerprint)
        XCTAssertThrowsError(try Gallery(path: fx.gallery, model: loaded, modelPath: crafted)) { error in
            guard case .modelMismatch? = error as? GalleryError else { return XCTFail("\(error)") }
        }
    }

    /// The fingerprint of the reference-size model: how long it takes (printed for the record).
    func testFingerprintSpeedOnAReferenceSizeModel() throws {
        let model = FaceModel(network: SiameseNetwork(config: .reference, seed: 3), info: ModelInfo(config: .reference))
        let bytes = model.network.stateTensors.reduce(0) { $0 + $1.tensor.count * 4 }
        let start = Date()
        let fp = model.computeFingerprint()
        let seconds = Date().timeIntervalSince(start)
        print(
            String(
                format: "fingerprint of %.1f MB: %.3f s (%.0f MB/s), SHA-NI %@", Double(bytes) / 1e6, seconds,
                Double(bytes) / 1e6 / seconds, SHA256.usesHardware ? "yes" : "no"))
        XCTAssertEqual(fp.count, 64)
        // The hardware and portable compression functions agree.
        var a = SHA256(), b = SHA256(portable: true)
        var rng = SystemRandomNumberGenerator()
        let data = (0..<100_003).map { _ in UInt8.random(in: 0...255, using: &rng) }
        for chunk in stride(from: 0, to: data.count, by: 9_973) {
            let part = Array(data[chunk..<min(data.count, chunk + 9_973)])
            a.update(part)
            b.update(part)
        }
        XCTAssertEqual(a.hexDigest(), b.hexDigest())
    }

    // MARK: 3. Malformed gallery rows

    func testMalformedGalleryRowsAreErrorsNamingTheGallery() throws {
        let fx = try GalleryFixture(self)
        XCTAssertEqual(
            try runFacetwin(["enroll", "--gallery", fx.gallery, "--model", fx.modelPath, "--name", "alice", fx.photo(1)]).status,
            0)
        let pristine = fx.dir.appendingPathComponent("pristine.sqlite").path
        try FileManager.default.copyItem(atPath: fx.gallery, toPath: pristine)

        let damages = [
            "UPDATE templates SET enrolled_at = 'the day after tomorrow'",
            "UPDATE identities SET created_at = 'not a date'",
            "UPDATE gallery_meta SET created_at = 'yesterday-ish'",
            "UPDATE templates SET embedding = 42",
            "UPDATE gallery_meta SET embedding_size = 'five'"
        ]
        for sql in damages {
            try? FileManager.default.removeItem(atPath: fx.gallery)
            try FileManager.default.copyItem(atPath: pristine, toPath: fx.gallery)
            try DatabaseQueue(path: fx.gallery).write { db in try db.execute(sql: sql) }
            var refusedSomewhere = false
            for command in [
                ["gallery", "list", "--gallery", fx.gallery], ["gallery", "show", "--gallery", fx.gallery, "alice"],
                ["verify", "--gallery", fx.gallery, "--claim", "alice", fx.photo(1)],
                ["identify", "--gallery", fx.gallery, fx.photo(1)]
            ] {
                let r = try runFacetwin(command)
                XCTAssertTrue(
                    r.status == 0 || r.status == 1 || r.status == 2, "\(sql): \(command[0]) crashed (\(r.status)): \(r.stderr)")
                if r.status == 2 {
                    refusedSomewhere = true
                    assertRefused(r, [fx.gallery], "\(sql): \(command.prefix(2).joined(separator: " "))")
                }
            }
            XCTAssertTrue(refusedSomewhere, "\(sql): the damage went unnoticed")
        }
    }

    // MARK: 4. Hostile numbers

    func testEnormousNumericOptionsAreRefusedAtParseTime() throws {
        let data = try orlDirectory()
        let out = try temporaryDirectory(self).appendingPathComponent("m.safetensors").path
        let train = ["train", "--data", data, "--out", out, "--quiet"]
        let cases: [([String], String)] = [
            (train + ["--batch", "9223372036854775807"], "--batch"),
            (train + ["--epochs", "9223372036854775807"], "--epochs"),
            (train + ["--hidden", "9223372036854775807"], "--hidden"),
            (train + ["--embedding", "4611686018427387904"], "--embedding"),
            (train + ["--size", "5000"], "--size"),
            (train + ["--size", "3037000500x3037000500"], "--size"),
            (train + ["--channels", "5000"], "--channels"),
            (train + ["--channels", String(repeating: "4,", count: 100) + "4"], "--channels"),
            (train + ["--lr", "1e30"], "--lr"),
            (train + ["--margin", "1e30"], "--margin"),
            (train + ["--size", "1000", "--channels", "64,64", "--hidden", "4096"], "GiB"),
            (["crossval", "--data", data, "--folds", "9223372036854775807"], "--folds"),
            (["crossval", "--data", data, "--batch=-9223372036854775808"], "--batch"),
            (["identify", "--gallery", out, "--top", "9223372036854775807", out], "--top")
        ]
        for (args, fragment) in cases {
            let r = try runCapped(args, seconds: 60)
            assertRefused(r, [fragment], args.suffix(2).joined(separator: " "), usage: true)
            XCTAssertFalse(FileManager.default.fileExists(atPath: out), "no model written")
        }
    }

    // MARK: 5. NaN and nonsense

    func testNonFiniteWeightsAreRefusedAtLoad() throws {
        let fx = try GalleryFixture(self)
        for (label, bad) in [("NaN", Float.nan), ("Inf", -Float.infinity)] {
            let path = fx.dir.appendingPathComponent("\(label).safetensors").path
            try rewriteModel(fx.modelPath, to: path) { name, _, data in
                guard name == "fc1.2.weight" else { return data }
                var f = Self.floats(data)
                f[7] = bad
                return Self.bytes(f)
            }
            XCTAssertThrowsError(try FaceModel.load(path: path)) { error in
                XCTAssertTrue("\(error)".contains("fc1.2.weight"), "\(error)")
                XCTAssertTrue("\(error)".contains("not finite") || "\(error)".contains(label), "\(error)")
            }
            assertRefused(try runFacetwin(["info", "--model", path]), [path, "fc1.2.weight"], label)
        }
    }

    func testNonFiniteEmbeddingsAreNotEnrolled() throws {
        let fx = try GalleryFixture(self)
        // Finite weights whose product overflows Float: every embedding is ±Inf or NaN.
        let model = galleryTestModel()
        for (name, tensor) in model.network.stateTensors where name.hasPrefix("fc1.") && name.hasSuffix(".weight") {
            for i in 0..<tensor.count { tensor.pointer[i] = 3e38 }
        }
        model.recordedFingerprint = nil
        let g = try Gallery(path: fx.gallery, model: model, modelPath: fx.modelPath)
        XCTAssertThrowsError(try g.enroll(name: "alice", images: [fx.photo(1)])) { error in
            XCTAssertTrue("\(error)".contains(fx.photo(1)), "\(error)")
            XCTAssertTrue("\(error)".contains("not finite"), "\(error)")
        }
        XCTAssertEqual(try g.identities().count, 0, "nothing enrolled")
        let report = try g.enroll(name: "alice", images: [fx.photo(1)], skipBad: true)
        XCTAssertEqual(report.enrolled, [])
        XCTAssertEqual(report.skipped.map(\.path), [fx.photo(1)])
    }

    func testNegativeRunningVarianceIsRefusedAtLoad() throws {
        let fx = try GalleryFixture(self)
        let path = fx.dir.appendingPathComponent("negvar.safetensors").path
        try rewriteModel(fx.modelPath, to: path) { name, _, data in
            guard name == "cnn1.3.running_var" else { return data }
            var f = Self.floats(data)
            f[0] = -1
            return Self.bytes(f)
        }
        XCTAssertThrowsError(try FaceModel.load(path: path)) { error in
            XCTAssertTrue("\(error)".contains("cnn1.3.running_var holds a negative variance"), "\(error)")
        }
        assertRefused(try runFacetwin(["info", "--model", path]), [path, "negative variance"], "running_var -1")
    }

    /// Finite weights whose products overflow: every command that embeds refuses in one line
    /// naming the photo (text and --json), never prints a NaN answer or a raw EncodingError.
    func testNonFiniteEmbeddingIsRefusedByEveryCommand() throws {
        let fx = try GalleryFixture(self)
        let model = galleryTestModel()
        for (name, tensor) in model.network.stateTensors where name.hasPrefix("fc1.") && name.hasSuffix(".weight") {
            for i in 0..<tensor.count { tensor.pointer[i] = 3e38 }
        }
        model.recordedFingerprint = nil
        let path = fx.dir.appendingPathComponent("overflow.safetensors").path
        try model.save(to: path)
        let (a, b) = (fx.photo(1), fx.photo(2))
        let pairs = fx.dir.appendingPathComponent("pairs.csv")
        try "\(a),\(b),1\n".write(to: pairs, atomically: true, encoding: .utf8)
        let out = fx.dir.appendingPathComponent("result.csv").path
        for (what, arguments) in [
            ("compare", ["compare", a, b, "--model", path]),
            ("compare --json", ["compare", a, b, "--model", path, "--json"]),
            ("embed", ["embed", a, "--model", path]),
            ("predict", ["predict", "--model", path, "--pairs", pairs.path, "--out", out]),
            ("verify --pairs", ["verify", "--model", path, "--pairs", pairs.path]),
            ("verify --pairs --json", ["verify", "--model", path, "--pairs", pairs.path, "--json"])
        ] {
            assertRefused(try runFacetwin(arguments), [a, "embedding of this photo is not finite"], what)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: out), "predict wrote no result.csv")
    }

    /// A network that trains within the memory limit with a small batch but could not embed
    /// the inference batch of 64 is refused before training: no model that no command loads.
    func testTrainRefusesANetworkItsLoaderWouldRefuse() throws {
        let data = try orlDirectory()
        let out = try temporaryDirectory(self).appendingPathComponent("m.safetensors").path
        let r = try runCapped([
            "train", "--data", data, "--size", "1700", "--channels", "1", "--pool", "8", "--batch", "2", "--epochs", "1",
            "--out", out
        ])
        assertRefused(r, ["to embed 64 images at once", "more than the limit of 8 GiB"], "--size 1700 --batch 2", usage: true)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out), "no model written")
    }

    func testExplodingLossIsDivergenceAndWritesNoModel() throws {
        let data = try orlDirectory()
        let dir = try temporaryDirectory(self)
        let out = dir.appendingPathComponent("m.safetensors").path
        let r = try runCapped([
            "train", "--recipe", "reference", "--data", data, "--size", "24", "--hidden", "32", "--lr", "10", "--epochs", "4",
            "--holdout", "s1,s2", "--out", out, "--quiet"
        ])
        assertRefused(r, ["diverged at epoch", "no model was written (try a smaller --lr)"], "--lr 10")
        XCTAssertFalse(FileManager.default.fileExists(atPath: out), "no model written")
    }

    func testThresholdsAreValidatedForEveryCommand() throws {
        let fx = try GalleryFixture(self)
        XCTAssertEqual(
            try runFacetwin(["enroll", "--gallery", fx.gallery, "--model", fx.modelPath, "--name", "alice", fx.photo(1)]).status,
            0)
        let pairs = fx.dir.appendingPathComponent("pairs.csv").path
        try "\(fx.photo(1)),\(fx.photo(2)),0\n".write(toFile: pairs, atomically: true, encoding: .utf8)
        for stored: Float in [-1, 1e30] {
            let path = fx.dir.appendingPathComponent("t\(stored).safetensors").path
            let m = try FaceModel.load(path: fx.modelPath)
            m.info.threshold = stored
            try m.save(to: path)
            for command in [
                ["compare", "--model", path, fx.photo(1), fx.photo(2)],
                ["verify", "--pairs", pairs, "--model", path],
                ["verify", "--gallery", fx.gallery, "--model", path, "--claim", "alice", fx.photo(2)],
                ["identify", "--gallery", fx.gallery, "--model", path, fx.photo(2)]
            ] {
                assertRefused(try runFacetwin(command), [path, "threshold"], "stored \(stored): \(command[0])")
            }
        }
        for given in ["1e30", "-0.5", "nan", "inf"] {
            for command in [
                ["compare", "--model", fx.modelPath, fx.photo(1), fx.photo(2), "--threshold=\(given)"],
                ["verify", "--pairs", pairs, "--model", fx.modelPath, "--threshold=\(given)"],
                ["identify", "--gallery", fx.gallery, fx.photo(2), "--threshold=\(given)"]
            ] {
                assertRefused(try runFacetwin(command), ["--threshold"], "--threshold \(given): \(command[0])", usage: true)
            }
        }
        XCTAssertNil(VerificationThreshold.problem(0.5))
        XCTAssertNil(VerificationThreshold.problem(0))
        XCTAssertNotNil(VerificationThreshold.problem(-0.1))
        XCTAssertNotNil(VerificationThreshold.problem(.nan))
        XCTAssertNotNil(VerificationThreshold.problem(1e30))
    }

    func testPairListsWithCRLFLineEndings() throws {
        let list = try PairList(text: "image1,image2,same\r\na.pgm,b.pgm,1\r\nc.pgm,d.pgm,0\r\n", file: "p.csv", root: "/r")
        XCTAssertEqual(list.pairs.map(\.image2), ["b.pgm", "d.pgm"])
        XCTAssertEqual(list.pairs.map(\.same), [true, false])
        XCTAssertEqual(list.pairs.map(\.line), [2, 3])
        let bare = try PairList(text: "a.pgm,b.pgm\r\n", file: "p.csv", root: "/r")
        XCTAssertEqual(bare.pairs.map(\.image2), ["b.pgm"])
    }

    // MARK: 6. Smaller ones

    func testHugeDeclaredImageFailsBeforeAllocating() throws {
        let dir = try temporaryDirectory(self)
        for header in [
            "P5\n8000 8000\n255\n", "P2\n8000 8000\n255\n", "P6 4000 4000 65535\n", "P4\n60000 60000\n",
            "P7\nWIDTH 67108864\nHEIGHT 1\nDEPTH 4\nMAXVAL 65535\nTUPLTYPE RGB_ALPHA\nENDHDR\n"
        ] {
            let url = dir.appendingPathComponent("big.pgm")
            try Data(header.utf8).write(to: url)
            let error = DataTestSupport.expectImageError { () throws(ImageError) in try ImageDecoder.decode(path: url.path) }
            let text = error.map { "\($0)" } ?? ""
            XCTAssertTrue(text.contains("declares") || text.contains("too large"), "\(header): \(text)")
        }
    }

    func testResultsCSVCellsCannotBeFormulas() throws {
        let fx = try GalleryFixture(self)
        let evil = fx.dir.appendingPathComponent("=HYPERLINK(x).pgm").path
        let plus = fx.dir.appendingPathComponent("+1.pgm").path
        try FileManager.default.copyItem(atPath: fx.photo(1), toPath: evil)
        try FileManager.default.copyItem(atPath: fx.photo(2), toPath: plus)
        let pairs = fx.dir.appendingPathComponent("pairs.csv").path
        try "=HYPERLINK(x).pgm,+1.pgm,1\n@a.pgm,-b.pgm,0\n".write(toFile: pairs, atomically: true, encoding: .utf8)
        try FileManager.default.copyItem(atPath: fx.photo(3), toPath: fx.dir.appendingPathComponent("@a.pgm").path)
        try FileManager.default.copyItem(atPath: fx.photo(4), toPath: fx.dir.appendingPathComponent("-b.pgm").path)
        let out = fx.dir.appendingPathComponent("results.csv").path
        let r = try runFacetwin(["verify", "--pairs", pairs, "--model", fx.modelPath, "--out", out])
        XCTAssertEqual(r.status, 0, r.stderr)
        let rows = try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n").dropFirst()
        for row in rows {
            for cell in row.split(separator: ",") {
                XCTAssertFalse(
                    ["=", "+", "-", "@", "\t", "\r"].contains(where: { cell.hasPrefix($0) }), "formula cell \(cell) in \(row)")
            }
        }
        XCTAssertTrue(rows.first?.hasPrefix("'=HYPERLINK(x).pgm,'+1.pgm,1,") ?? false, "\(rows)")
        XCTAssertEqual(CSV.field("=1+1"), "'=1+1")
        XCTAssertEqual(CSV.field("a,b"), "\"a,b\"")
        XCTAssertEqual(CSV.field("-2"), "'-2")
        XCTAssertEqual(CSV.field("s1/2.pgm"), "s1/2.pgm")
    }

    func testInvisibleAndBidiControlCharactersInNamesAreRefused() throws {
        let fx = try GalleryFixture(self)
        for name in ["ali\u{202E}ecil", "bob\u{200B}", "\u{2066}x\u{2069}", "eve\u{200F}", "zw\u{200D}j", "a\u{2028}b"] {
            XCTAssertThrowsError(try Gallery.validate(name: name), name.debugDescription) { error in
                XCTAssertFalse(
                    "\(error)".unicodeScalars.contains { $0.properties.generalCategory == .format }, "printed raw: \(error)")
            }
            let r = try runFacetwin(["enroll", "--gallery", fx.gallery, "--model", fx.modelPath, "--name", name, fx.photo(1)])
            assertRefused(r, ["invalid identity name"], name.debugDescription)
        }
        XCTAssertNoThrow(try Gallery.validate(name: "Zoë Ångström-Łukasz 王小明"))
        XCTAssertEqual(
            try runFacetwin(["enroll", "--gallery", fx.gallery, "--model", fx.modelPath, "--name", "alice", fx.photo(1)]).status,
            0)
        assertRefused(
            try runFacetwin(["gallery", "rename", "--gallery", fx.gallery, "alice", "al\u{202E}ice"]), ["invalid identity name"],
            "rename")
    }
}
