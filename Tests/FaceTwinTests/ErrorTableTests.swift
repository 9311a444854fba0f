import FaceTwin
import Foundation
import GRDB
import XCTest

/// docs/ERRORS.md, the table of every error `facetwin` prints, against the code: every error
/// case and every place an error is made has its row (and every row still exists), and every
/// row marked walked is provoked through the built `facetwin`, which must print the row's
/// message as one line after "facetwin: error: " and exit 2.
final class ErrorTableTests: XCTestCase {
    struct Row {
        var id: String
        var message: String
        var walked: Bool
        var key: String { "\(id) \(message)" }
    }

    static func table() throws -> [Row] {
        let text = try String(contentsOf: packageRoot.appendingPathComponent("docs/ERRORS.md"), encoding: .utf8)
        var rows: [Row] = []
        for line in text.split(separator: "\n") where line.hasPrefix("| `") {
            let cells = line.replacingOccurrences(of: "\\|", with: "\u{1}").split(
                separator: "|", omittingEmptySubsequences: false
            )
            .map { $0.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "\u{1}", with: "|") }
            // "", id, message, when, exit, walked, ""
            guard cells.count == 7 else { continue }
            func unquote(_ s: String) -> String { s.hasPrefix("`") && s.hasSuffix("`") ? String(s.dropFirst().dropLast()) : s }
            rows.append(Row(id: unquote(cells[1]), message: unquote(cells[2]), walked: cells[5] == "yes"))
            XCTAssertEqual(cells[4], "2", "exit status of \(cells[1])")
        }
        return rows
    }

    // MARK: The table against the code

    /// The row ids the sources call for: `Type.case` for every case of an error enum of the
    /// library, and one `Kind File.swift` for each place a free-text error is made.
    static func idsInCode() throws -> [String: Int] {
        var ids: [String: Int] = [:]
        let fm = FileManager.default
        func swiftFiles(_ folder: String) -> [URL] {
            let root = packageRoot.appendingPathComponent(folder)
            let all = fm.enumerator(at: root, includingPropertiesForKeys: nil)?.compactMap { $0 as? URL } ?? []
            return all.filter { $0.pathExtension == "swift" }.sorted { $0.path < $1.path }
        }
        func count(_ needle: String, in text: String) -> Int { text.components(separatedBy: needle).count - 1 }
        // The library's targets: Sources/FaceTwin and Sources/FaceTwin<Layer> (the server's errors
        // are HTTP answers, in docs/ERRORS.md's table of their own: ServerErrorTableTests).
        let targets = (try fm.contentsOfDirectory(atPath: packageRoot.appendingPathComponent("Sources").path))
            .filter { $0.hasPrefix("FaceTwin") && $0 != "FaceTwinServer" }.sorted()
        for file in targets.flatMap({ swiftFiles("Sources/\($0)") }) {
            let text = try String(contentsOf: file, encoding: .utf8)
            let name = file.lastPathComponent
            for (needle, kind) in [(#"FileError\(\s*path:"#, "FileError"), (#"PairListError\("#, "PairListError")] {
                let n = try NSRegularExpression(pattern: needle).numberOfMatches(
                    in: text, range: NSRange(text.startIndex..., in: text))
                if n > 0 { ids["\(kind) \(name)", default: 0] += n }
            }
            for (type, cases) in errorEnums(in: text, file: name) {
                for c in cases { ids["\(type).\(c)", default: 0] += 1 }
            }
        }
        for file in swiftFiles("Sources/facetwin") {
            let text = try String(contentsOf: file, encoding: .utf8)
            let n = count("CLIError(", in: text) + count("ValidationError(", in: text)
            if n > 0 { ids["CLI \(file.lastPathComponent)", default: 0] += n }
        }
        return ids
    }

    /// The cases of each non-private `enum …Error` in `text` (and of `SafeTensorsError.Problem`).
    static func errorEnums(in text: String, file: String) -> [(String, [String])] {
        let lines = text.components(separatedBy: "\n")
        var result: [(String, [String])] = []
        var i = 0
        let enumPattern = try! NSRegularExpression(pattern: #"^\s*(public |package |internal )?enum (\w+)\b"#)
        let casePattern = try! NSRegularExpression(pattern: #"^\s*case\s+([a-zA-Z_]\w*)\s*(\(|,|$)"#)
        while i < lines.count {
            let line = lines[i]
            let range = NSRange(line.startIndex..., in: line)
            guard let m = enumPattern.firstMatch(in: line, range: range), let r = Range(m.range(at: 2), in: line) else {
                i += 1
                continue
            }
            let name = String(line[r])
            let type: String
            if name.hasSuffix("Error") {
                type = name
            } else if name == "Problem", file == "SafeTensorsError.swift" {
                type = "SafeTensorsError"
            } else {
                i += 1
                continue
            }
            // The enum's body, by braces.
            var depth = 0
            var cases: [String] = []
            var j = i
            repeat {
                // Braces in comments (`{` in a doc comment) do not count.
                let l = lines[j].components(separatedBy: "//")[0]
                if depth == 1, let c = casePattern.firstMatch(in: l, range: NSRange(l.startIndex..., in: l)),
                    let cr = Range(c.range(at: 1), in: l)
                {
                    cases.append(String(l[cr]))
                }
                depth += l.filter { $0 == "{" }.count - l.filter { $0 == "}" }.count
                j += 1
            } while depth > 0 && j < lines.count
            result.append((type, cases))
            i += 1
        }
        return result
    }

    func testTableHasARowForEveryErrorInTheCode() throws {
        let rows = try Self.table()
        XCTAssertGreaterThan(rows.count, 100)
        var inTable: [String: Int] = [:]
        for row in rows where !row.id.hasPrefix("ArgumentParser.") { inTable[row.id, default: 0] += 1 }
        let inCode = try Self.idsInCode()
        XCTAssertGreaterThan(inCode.count, 90)
        for (id, n) in inCode.sorted(by: { $0.key < $1.key }) {
            XCTAssertEqual(inTable[id] ?? 0, n, "docs/ERRORS.md: rows for \(id) (the code makes it in \(n) place(s))")
        }
        for id in inTable.keys.sorted() where inCode[id] == nil {
            XCTFail("docs/ERRORS.md: row \(id) names an error the code no longer has")
        }
        let walked = rows.filter(\.walked)
        XCTAssertEqual(Set(walked.map(\.key)).count, walked.count, "every walked row's id and message are unique")
    }

    // MARK: Walking the table

    /// What the rows are provoked with: a tiny data set, two tiny models (one with a threshold),
    /// and galleries made with them.
    final class Fixture {
        let dir: URL
        var data: URL { dir.appendingPathComponent("data") }
        var model: String { dir.appendingPathComponent("a.safetensors").path }
        var modelNoThreshold: String { dir.appendingPathComponent("b.safetensors").path }
        /// A dlib ResNet model file (every width divided by 32, random weights, 4 landmark bytes).
        var resnetModel: String { dir.appendingPathComponent("r.safetensors").path }
        var gallery: String { dir.appendingPathComponent("g.sqlite").path }
        var galleryNoThreshold: String { dir.appendingPathComponent("gb.sqlite").path }
        var emptyGallery: String { dir.appendingPathComponent("ge.sqlite").path }
        var orphanGallery: String { dir.appendingPathComponent("go.sqlite").path }
        var probe: String { data.appendingPathComponent("alice/1.pgm").path }
        var other: String { data.appendingPathComponent("bob/1.pgm").path }
        private var counter = 0

        init(_ dir: URL) throws {
            self.dir = dir
            for id in ["alice", "bob", "carol", "dave"] {
                let folder = data.appendingPathComponent(id)
                try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
                for i in 1...3 {
                    let seed = id.unicodeScalars.first!.value
                    try writePGM(folder.appendingPathComponent("\(i).pgm"), width: 12, height: 14) { x, y in
                        UInt8((x * 17 + y * 11 + i * 40 + Int(seed) * 7) % 256)
                    }
                }
            }
            let train = [
                "train", "--recipe", "reference", "--data", data.path, "--epochs", "1", "--size", "8", "--hidden", "8",
                "--batch", "2", "--quiet"
            ]
            try Self.run(train + ["--holdout", "carol,dave", "--out", model])
            try Self.run(train + ["--seed", "7", "--out", modelNoThreshold])
            let alice = ["--name", "alice", probe, data.appendingPathComponent("alice/2.pgm").path]
            try Self.run(["enroll", "--gallery", gallery, "--model", model] + alice)
            try Self.run(["enroll", "--gallery", gallery, "--model", model, "--name", "bob", other])
            try Self.run(["enroll", "--gallery", galleryNoThreshold, "--model", modelNoThreshold] + alice)
            try Self.run(["enroll", "--gallery", emptyGallery, "--model", model] + alice)
            try Self.run(["gallery", "remove", "--gallery", emptyGallery, "alice"])
            let moved = dir.appendingPathComponent("moved.safetensors").path
            try FileManager.default.copyItem(atPath: model, toPath: moved)
            try Self.run(["enroll", "--gallery", orphanGallery, "--model", moved] + alice)
            try FileManager.default.removeItem(atPath: moved)
            let resnet = try FaceModel(resnet: DlibResNet(architecture: .reduced(widthDivisor: 32), seed: 1))
            resnet.landmarkModel = Data([1, 2, 3, 4])
            resnet.detectorModel = Data([5, 6, 7, 8])
            try resnet.save(to: resnetModel)
        }

        static func run(_ args: [String]) throws {
            let r = try runFacetwin(args)
            guard r.status == 0 else {
                struct Failed: Error, CustomStringConvertible { let description: String }
                throw Failed(description: "facetwin \(args.joined(separator: " ")): \(r.stderr)")
            }
        }

        /// A fresh path in the fixture's folder.
        func path(_ name: String) -> String {
            counter += 1
            return dir.appendingPathComponent("\(counter)-\(name)").path
        }

        /// A file holding `bytes`.
        func file(_ name: String, _ bytes: [UInt8]) throws -> String {
            let p = path(name)
            try Data(bytes).write(to: URL(fileURLWithPath: p))
            return p
        }

        func file(_ name: String, _ text: String) throws -> String { try file(name, Array(text.utf8)) }

        func folder(_ name: String) throws -> String {
            let p = path(name)
            try FileManager.default.createDirectory(atPath: p, withIntermediateDirectories: true)
            return p
        }

        /// A safetensors file: the header (padded to 8 bytes) and `dataBytes` zero bytes.
        func safetensors(_ header: String, dataBytes: Int = 0) throws -> String {
            var h = Array(header.utf8)
            while h.count % 8 != 0 { h.append(0x20) }
            var bytes = withUnsafeBytes(of: UInt64(h.count).littleEndian) { Array($0) }
            bytes += h + [UInt8](repeating: 0, count: dataBytes)
            return try file("m.safetensors", bytes)
        }

        /// The tiny model (or `source`) with its header changed by `edit` (the data left as it is).
        func editedModel(_ source: String? = nil, _ edit: (inout [String: Any], inout [UInt8]) -> Void) throws -> String {
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: source ?? model)))
            let n = Int(bytes[0..<8].enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) })
            var header = try JSONSerialization.jsonObject(with: Data(bytes[8..<8 + n])) as! [String: Any]
            var data = Array(bytes[(8 + n)...])
            edit(&header, &data)
            var h = Array(String(decoding: try JSONSerialization.data(withJSONObject: header), as: UTF8.self).utf8)
            while h.count % 8 != 0 { h.append(0x20) }
            return try file("m.safetensors", withUnsafeBytes(of: UInt64(h.count).littleEndian) { Array($0) } + h + data)
        }

        /// The tiny model with its `info` metadata changed by `edit`.
        func editedInfo(_ edit: @escaping (inout [String: Any]) -> Void) throws -> String {
            try editedModel { header, _ in
                var meta = header["__metadata__"] as! [String: Any]
                var info = try! JSONSerialization.jsonObject(with: Data((meta["info"] as! String).utf8)) as! [String: Any]
                edit(&info)
                meta["info"] = String(decoding: try! JSONSerialization.data(withJSONObject: info), as: UTF8.self)
                header["__metadata__"] = meta
            }
        }

        /// A copy of the data set with `change` applied.
        func data(_ change: (URL) throws -> Void) throws -> String {
            let p = URL(fileURLWithPath: path("data"))
            try FileManager.default.copyItem(at: data, to: p)
            try change(p)
            return p.path
        }

        /// A pair list of `lines`, with paths relative to the data set.
        func pairs(_ text: String) throws -> String {
            let p = data.appendingPathComponent("pairs-\(counter).csv").path
            counter += 1
            try Data(text.utf8).write(to: URL(fileURLWithPath: p))
            return p
        }

        /// Pair folders: `annos` as annos.csv (none when nil) and a folder for each entry holding
        /// copies of the probe under the names listed.
        func pairFolders(_ annos: String?, _ folders: [String: [String]] = [:]) throws -> String {
            let root = try folder("pairs")
            if let annos { try Data(annos.utf8).write(to: URL(fileURLWithPath: root + "/annos.csv")) }
            for (name, images) in folders {
                try FileManager.default.createDirectory(atPath: root + "/" + name, withIntermediateDirectories: true)
                for image in images { try FileManager.default.copyItem(atPath: probe, toPath: root + "/" + name + "/" + image) }
            }
            return root
        }
    }

    /// How each walked row is provoked: the command line, run in `Fixture`.
    static func provocations(_ f: Fixture) throws -> [String: () throws -> [String]] {
        let train = [
            "train", "--recipe", "reference", "--data", f.data.path, "--epochs", "1", "--size", "8", "--hidden", "8",
            "--batch", "2", "--quiet"
        ]
        let compare = ["compare", f.probe, f.other, "--model", f.model]
        let verify = ["verify", "--gallery", f.gallery, "--claim", "alice"]
        let evaluate = ["evaluate", "--model", f.model, "--bootstrap", "0"]
        let crossval = [
            "crossval", "--recipe", "reference", "--epochs", "1", "--size", "8", "--hidden", "8", "--batch", "2", "--folds", "2"
        ]
        func embed(_ image: String) -> [String] { ["embed", "--model", f.model, image] }
        func info(_ model: String) -> [String] { ["info", "--model", model] }
        // `info` prints a dlib ResNet file from its metadata; `embed` loads it.
        func resnetEmbed(_ model: String) -> [String] { ["embed", "--model", model, f.probe] }
        func editMeta(_ header: inout [String: Any], _ edit: (inout [String: Any]) -> Void) {
            var meta = header["__metadata__"] as! [String: Any]
            edit(&meta)
            header["__metadata__"] = meta
        }
        func pairsEval(_ text: String) throws -> [String] { evaluate + ["--pairs", try f.pairs(text)] }
        func lfwEval(_ file: String) -> [String] { evaluate + ["--lfw-pairs", file, "--data", f.data.path] }
        func pairFolders(_ root: String) -> [String] { ["verify", "--model", f.model, "--pair-folders", root] }
        let ab = ["a.pgm", "b.pgm"]
        let pfl = "PairListError PairFolders.swift "
        let pgm = Array("P5\n12 14\n255\n".utf8) + [UInt8](repeating: 9, count: 168)
        let tensor = #"{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#
        let cli = "CLI ", file = "FileError ", st = "SafeTensorsError."
        let stBad = "{path}: not a model file: "
        return [
            "ArgumentParser.missing Missing expected argument '{option}'": { ["info"] },
            "ArgumentParser.unknownOption Unknown option '{option}'{. Did you mean …?}": { info(f.model) + ["--nope"] },
            "ArgumentParser.invalidValue The value '{value}' is invalid for '{option}'": { train + ["--epochs", "many"] },
            "ArgumentParser.unexpected Unexpected argument '{argument}'": { info(f.model) + ["extra"] },

            cli + "Options.swift --threshold: {problem}": { compare + ["--threshold=-1"] },
            cli
                + "Options.swift {model}: the model has no stored threshold; pass --threshold T or run facetwin calibrate first":
                {
                    ["compare", f.probe, f.other, "--model", f.modelNoThreshold]
                },
            cli + "Options.swift {option} must be between {low} and {high} (got {value})": { train + ["--epochs", "0"] },
            cli + "Options.swift --lr must be a finite number (got {value})": { train + ["--lr", "nan"] },
            cli + "Options.swift --margin must be a finite number (got {value})": { train + ["--margin", "nan"] },
            cli + "Options.swift --hard-share must be between 0 and 1 (got {value})": { train + ["--hard-share", "2"] },
            cli + "Options.swift --weight-decay must be between 0 and 1/--lr (got {value})": { train + ["--weight-decay=-1"] },
            cli + "Options.swift --embedding-scale must be between 0 and 1000 (got {value})": {
                train + ["--embedding-scale", "2000"]
            },
            cli + "Options.swift --size/--channels/--hidden/--embedding/--batch: {problem}": {
                train + ["--pool", "2", "--channels", "4,4,4,4,4,4"]
            },
            cli + "Options.swift {option} must be integers from {low} to {high} separated by commas (got \"{text}\")": {
                train + ["--channels", "a,b"]
            },
            cli + "Options.swift {option} takes {low} to {high} values (got {n})": {
                train + ["--channels", Array(repeating: "4", count: 17).joined(separator: ",")]
            },
            cli + "Options.swift --size must be N or WxH with sides from {low} to {high} (got \"{text}\")": {
                train + ["--size", "0"]
            },
            cli + "Options.swift --embedding must be between {low} and {high} (got {value})": { train + ["--embedding", "0"] },
            cli + "Options.swift --faces all is for facetwin detect; here use largest or refuse": {
                compare + ["--faces", "all"]
            },
            cli + "Options.swift --validation-share must be between 0 and 0.5 (got {value})": {
                train + ["--validation-share", "0.9"]
            },
            cli + "Options.swift --inset must be between 0 and 0.25 (got {value})": { train + ["--inset", "0.5"] },

            cli + "VerifyCommand.swift --pairs needs --model (so does --pair-folders)": { ["verify", "--pairs", "p.csv"] },
            cli + "VerifyCommand.swift --pairs compares listed pairs: it takes no --gallery, --claim or probe": {
                ["verify", "--pairs", "p.csv", "--model", f.model, "--gallery", f.gallery]
            },
            cli + "VerifyCommand.swift --out goes with --pairs": { verify + [f.probe, "--out", "x.csv"] },
            cli + "VerifyCommand.swift --strict goes with --pairs or --pair-folders": { verify + [f.probe, "--strict"] },
            cli + "VerifyCommand.swift give --gallery (or --pairs for batch mode)": { ["verify", "--claim", "alice", f.probe] },
            cli + "VerifyCommand.swift give --claim NAME: the identity the probe claims to be": {
                ["verify", "--gallery", f.gallery, f.probe]
            },
            cli + "VerifyCommand.swift --claim must not be empty": { ["verify", "--gallery", f.gallery, "--claim", "", f.probe] },
            cli + "VerifyCommand.swift give the probe photo": { verify },

            cli + "CalibrateCommand.swift give exactly one of --eer or --target-fmr F": { ["calibrate", "--model", f.model] },
            cli + "CalibrateCommand.swift --target-fmr must be a fraction between 0 and 1, e.g. 0.01 for 1 % (got {value})": {
                ["calibrate", "--model", f.model, "--target-fmr", "2"]
            },
            cli
                + "CalibrateCommand.swift give --identities (with --data) or --pairs: the identities to calibrate on, held out of training":
                {
                    ["calibrate", "--model", f.model, "--eer"]
                },
            cli + "CalibrateCommand.swift --identities needs --data": {
                ["calibrate", "--model", f.model, "--eer", "--identities", "carol,dave"]
            },
            cli
                + "CalibrateCommand.swift {model}: the model trained on {names}; a threshold chosen on them is too strict for new people — calibrate on held-out identities{hint}, or pass --allow-training-identities":
                {
                    ["calibrate", "--model", f.model, "--eer", "--data", f.data.path, "--identities", "alice,bob"]
                },
            cli + "IdentifyCommand.swift --top must be between {low} and {high} (got {n})": {
                ["identify", "--gallery", f.gallery, f.probe, "--top", "0"]
            },
            cli + "EvaluateCommand.swift give --identities or --pairs/--pair-folders, not both": {
                evaluate + ["--pairs", "p.csv", "--identities", "alice"]
            },
            cli + "EvaluateCommand.swift give --data DIR (identity folders), --pairs pairs.csv or --pair-folders DIR": {
                evaluate
            },
            cli + "EvaluateCommand.swift --root goes with --pairs": { evaluate + ["--data", f.data.path, "--root", "x"] },
            cli + "EvaluateCommand.swift --strict goes with --pairs or --pair-folders": {
                evaluate + ["--data", f.data.path, "--strict"]
            },
            cli + "EvaluateCommand.swift --bootstrap must be between {low} and {high} (got {value})": {
                ["evaluate", "--model", f.model, "--data", f.data.path, "--bootstrap=9223372036854775807"]
            },
            cli + "DetectCommand.swift --size must be WxH with sides from 8 to 4096 (got \"{text}\")": {
                ["detect", "--in", f.data.path, "--out", f.path("crops"), "--size", "4x4"]
            },
            cli + "Output.swift {path}: not a folder ({option} needs a folder there)": {
                evaluate + ["--data", f.data.path, "--report", f.probe + "/report"]
            },
            cli + "DetectCommand.swift {folder}: no photos (.pgm, .ppm, .pnm, .pam, .png, .jpg or .jpeg files)": {
                ["detect", "--in", try f.folder("empty"), "--out", f.path("crops")]
            },
            cli + "DetectCommand.swift {path}: every photo failed ({n}); the first: {error}": {
                ["detect", "--in", try f.file("half.pgm", Array(pgm.prefix(60))), "--out", f.path("crops")]
            },
            cli + "DetectCommand.swift {path}: no such file or folder": {
                ["detect", "--in", f.path("absent"), "--out", f.path("crops")]
            },
            cli + "DetectCommand.swift {folder}: not a folder (--out is the folder the crops go to)": {
                ["detect", "--in", f.probe, "--out", f.other]
            },
            cli + "DetectCommand.swift {folder}: cannot create the folder: {reason}": {
                ["detect", "--in", f.probe, "--out", f.other + "/crops"]
            },
            cli + "EnrollCommand.swift give --name with photos, or --folder": { ["enroll", "--gallery", f.gallery] },
            cli + "EnrollCommand.swift {gallery}: nothing enrolled: {n} photo(s) skipped, the first {path}: {reason}": {
                ["enroll", "--gallery", f.gallery, "--name", "erin", "--skip-bad", try f.file("half.pgm", Array(pgm.prefix(60)))]
            },
            cli + "EnrollCommand.swift give either --name with photos or --folder, not both": {
                ["enroll", "--gallery", f.gallery, "--name", "x", "--folder", f.data.path]
            },
            cli + "EnrollCommand.swift give at least one photo to enroll as {name}": {
                ["enroll", "--gallery", f.gallery, "--name", "x"]
            },
            cli + "EnrollCommand.swift --folder takes no photo arguments (got {photo})": {
                ["enroll", "--gallery", f.gallery, "--folder", f.data.path, f.probe]
            },
            cli
                + "EnrollCommand.swift {photo}: {problem} (enrolling \"{name}\" into {gallery}; nothing was written); --skip-bad enrolls the rest":
                {
                    ["enroll", "--gallery", f.gallery, "--name", "erin", try f.file("bad.pgm", "not an image")]
                },
            cli + "GalleryText.swift {gallery}: no gallery here; give --model to create one": {
                ["enroll", "--gallery", f.path("new.sqlite"), "--name", "x", f.probe]
            },
            cli + "GalleryCommand.swift {gallery}: no gallery here; give --model to create one": {
                let header = (["identity", "path", "sha256"] + (0..<8).map { "e\($0)" }).joined(separator: ",")
                let export = "# facetwin gallery export, model fingerprint ab, dimension 8\n" + header + "\n"
                return ["gallery", "import", "--gallery", f.path("new.sqlite"), try f.file("t.csv", export)]
            },
            cli + "GalleryText.swift {model problem} (the model gallery {gallery} was made with; pass --model)": {
                ["verify", "--gallery", f.orphanGallery, "--claim", "alice", f.probe]
            },
            cli + "GalleryCommand.swift {model problem} (the model gallery {gallery} was made with; pass --model)": {
                ["gallery", "copy", f.orphanGallery, f.path("copy.sqlite")]
            },
            cli + "CrossvalCommand.swift give --data DIR (identity folders) or --pairs/--pair-folders (labelled pairs)": {
                ["crossval", "--folds", "2"]
            },
            cli + "CrossvalCommand.swift --folds must be between {low} and {high} (got {n})": {
                ["crossval", "--data", f.data.path, "--folds", "1"]
            },
            cli + "CrossvalCommand.swift give --seed N or --seeds A,B,…, not both": {
                ["crossval", "--data", f.data.path, "--seed", "1", "--seeds", "1,2"]
            },
            cli + "CrossvalCommand.swift --bootstrap must be between {low} and {high} (got {value})": {
                ["crossval", "--data", f.data.path, "--bootstrap=9223372036854775807"]
            },
            cli + "CrossvalCommand.swift --seeds must be non-negative integers separated by commas, e.g. 0,1,2 (got \"{text}\")":
                {
                    ["crossval", "--data", f.data.path, "--seeds", "a"]
                },
            cli + "CrossvalCommand.swift --seeds lists a seed twice (\"{text}\")": {
                ["crossval", "--data", f.data.path, "--seeds", "1,1"]
            },
            cli + "CrossvalCommand.swift {folder}: cannot create folder: {reason}": {
                crossval + ["--data", f.data.path, "--models", f.probe + "/models"]
            },
            cli + "EvalFormat.swift --identities must be names separated by commas, e.g. s5,s6,s7 (got \"{text}\")": {
                evaluate + ["--data", f.data.path, "--identities", "alice,,bob"]
            },
            cli + "TrainCommand.swift give --data DIR (identity folders) or --pairs/--pair-folders (labelled pairs)": {
                ["train", "--out", f.path("m.safetensors")]
            },
            cli + "TrainCommand.swift --holdout goes with --data; with pairs use --validation-pairs": {
                ["train", "--pairs", "p.csv", "--holdout", "alice"]
            },
            cli + "TrainCommand.swift {folder}: {n} of its {m} images have a usable face; at least 2 are needed": {
                train + ["--detect", "always", "--out", f.path("m.safetensors")]
            },
            cli + "BackboneOptions.swift --freeze-backbone goes with --backbone MODEL": { train + ["--freeze-backbone"] },
            cli
                + "BackboneOptions.swift {model}: the backbone takes {WxH colour or grey} input, the options ask for {WxH colour or grey} input (give --size and --color to match)":
                {
                    train + ["--backbone", f.model, "--size", "10", "--out", f.path("m.safetensors")]
                },
            cli + "BackboneOptions.swift --freeze-backbone with --head distance leaves nothing to train; give --head sigmoid": {
                train + ["--backbone", f.model, "--freeze-backbone", "--out", f.path("m.safetensors")]
            },
            cli
                + "ScheduleOptions.swift --reduce-lr-on-plateau takes FACTOR,PATIENCE with FACTOR in (0, 1) and PATIENCE at least 1 epoch, e.g. 0.1,10 (got \"{text}\")":
                {
                    train + ["--reduce-lr-on-plateau", "2,1"]
                },
            "TrainingError.validationLossNeeded {--reduce-lr-on-plateau or --keep best-loss} needs validation data (the validation loss): give --holdout, --validation-share or --validation-pairs":
                {
                    train + ["--keep", "best-loss", "--out", f.path("m.safetensors")]
                },
            cli + "PairOptions.swift --label-means goes with --pairs or --pair-folders": {
                verify + ["--label-means", "same", f.probe]
            },
            cli + "PairOptions.swift give --pairs or --pair-folders, not both": {
                ["train", "--pairs", "p.csv", "--pair-folders", "p"]
            },
            cli + "PairOptions.swift give --validation-pairs or --validation-pair-folders, not both": {
                ["train", "--pairs", "p.csv", "--validation-pairs", "v.csv", "--validation-pair-folders", "v"]
            },
            cli
                + "PairOptions.swift --validation-pairs, --validation-pair-folders and --label-means go with --pairs or --pair-folders":
                {
                    train + ["--validation-pairs", "v.csv"]
                },
            cli + "PairOptions.swift {file}: the pairs have no labels (image1,image2,same)": {
                [
                    "train", "--recipe", "reference", "--pairs", try f.pairs("alice/1.pgm,bob/1.pgm\n"), "--epochs", "1",
                    "--size", "8",
                    "--hidden", "8", "--batch", "2", "--quiet", "--out", f.path("m.safetensors")
                ]
            },
            cli + "PredictCommand.swift give --pairs FILE.csv or --pair-folders DIR": { ["predict", "--model", f.model] },
            cli
                + "VerifyPairs.swift {file}: none of the {n} pairs could be scored: each has an image without a usable face or that cannot be decoded (first: {error})":
                {
                    let blank = try f.file("blank-pairs.pgm", pgm)
                    return ["verify", "--pairs", try f.pairs("\(blank),alice/1.pgm\n\(blank),bob/1.pgm\n"), "--model", f.model]
                },

            file + "InputFile.swift {path}: {system error}": { info(f.path("absent.safetensors")) },
            file + "InputFile.swift {path}: is {kind}, not a regular file": { info(try f.folder("dir.safetensors")) },
            file + "OutputFile.swift {path}: empty path": {
                ["verify", "--pairs", try f.pairs("alice/1.pgm,bob/1.pgm\n"), "--model", f.model, "--out", ""]
            },
            file + "OutputFile.swift {path}: cannot write: {system error}": {
                ["verify", "--pairs", try f.pairs("alice/1.pgm,bob/1.pgm\n"), "--model", f.model, "--out", f.probe + "/x.csv"]
            },
            file + "OutputFile.swift {path}: is {kind}, not a regular file; refusing to write it": {
                ["verify", "--pairs", try f.pairs("alice/1.pgm,bob/1.pgm\n"), "--model", f.model, "--out", try f.folder("out")]
            },
            file + "OutputFile.swift {path}: too many levels of symbolic links": {
                let a = f.path("loop-a"), b = f.path("loop-b")
                try FileManager.default.createSymbolicLink(atPath: a, withDestinationPath: b)
                try FileManager.default.createSymbolicLink(atPath: b, withDestinationPath: a)
                return ["verify", "--pairs", try f.pairs("alice/1.pgm,bob/1.pgm\n"), "--model", f.model, "--out", a]
            },
            file + "OutputFile.swift {path}: cannot create a temporary file in {folder}: {system error}": {
                [
                    "verify", "--pairs", try f.pairs("alice/1.pgm,bob/1.pgm\n"), "--model", f.model, "--out",
                    f.path("absent") + "/x.csv"
                ]
            },

            "ImageError.cannotOpen {path}: cannot open: {reason}": { embed(f.path("absent.pgm")) },
            "ImageError.empty {path}: empty file (0 bytes)": { embed(try f.file("e.pgm", [])) },
            "ImageError.notNetpbm {path}: not a Netpbm image ({reason})": { embed(try f.file("p9.pgm", "P9\n12 14\n255\n")) },
            "ImageError.unrecognized {path}: not a PGM/PPM/PAM, PNG, JPEG or WebP image ({reason})": {
                embed(try f.file("t.pgm", "hello, world"))
            },
            "ImageError.truncated {path}: truncated: {reason}": { embed(try f.file("half.pgm", Array(pgm.prefix(60)))) },
            "ImageError.malformed {path}: malformed Netpbm image: {reason}": { embed(try f.file("m.pgm", "P5\n12 14\n0\n")) },
            "ImageError.malformedPhoto {path}: malformed {format} image: {reason}": {
                var png = [UInt8](
                    try Data(contentsOf: packageRoot.appendingPathComponent("Tests/FaceTwinTests/Fixtures/codecs/colour.png")))
                png[30] ^= 0xFF  // the IHDR chunk's CRC
                return embed(try f.file("crc.png", png))
            },
            "ImageError.tooLarge {path}: image too large: {w}x{h} = {n} pixels exceeds the limit of {limit} pixels": {
                embed(try f.file("big.pgm", "P5\n100000 100000\n255\n\0\0\0\0"))
            },
            "ImageError.unsupported {path}: unsupported image: {reason}": {
                embed(
                    try f.file(
                        "d5.pam",
                        Array("P7\nWIDTH 2\nHEIGHT 2\nDEPTH 5\nMAXVAL 255\nENDHDR\n".utf8) + [UInt8](repeating: 1, count: 20)))
            },
            "ImageError.noFace {path}: no face found": {
                let none = packageRoot.appendingPathComponent("Tests/FaceTwinTests/Fixtures/photos/none/empty.ppm").path
                return ["compare", none, f.other, "--model", f.model, "--detect", "always"]
            },
            "ImageError.blankImage {path}: blank image (one grey level), no face": {
                ["compare", try f.file("blank.pgm", pgm), f.other, "--model", f.model]
            },
            "ImageError.multipleFaces {path}: {n} faces found; refused (--faces largest keeps the largest)": {
                let two = packageRoot.appendingPathComponent("Tests/FaceTwinTests/Fixtures/photos/multi/two.ppm").path
                return ["compare", two, f.other, "--model", f.model, "--detect", "always"]
            },
            "FaceDetectionError.landmarkModelUnreadable {path}: cannot load the face landmark model: {reason} (Debian: apt-get install libdlib-data)":
                {
                    compare + ["--detect", "always", "--landmarks", try f.file("lm.dat", "not a shape predictor")]
                },

            "DatasetError.rootNotFound {path}: dataset folder not found": {
                ["train", "--data", f.path("absent"), "--out", f.path("m.safetensors")]
            },
            "DatasetError.notADirectory {path}: not a directory (expected <root>/<identity>/<image> folders)": {
                ["train", "--data", f.probe, "--out", f.path("m.safetensors")]
            },
            "DatasetError.unknownIdentities {root}: no identity folder named {names}": {
                train + ["--holdout", "zed", "--out", f.path("m.safetensors")]
            },
            "DatasetError.tooFewImages {folder}: identity folder has {n} image{s}; at least 2 are needed": {
                let d = try f.data { root in
                    let erin = root.appendingPathComponent("erin")
                    try FileManager.default.createDirectory(at: erin, withIntermediateDirectories: true)
                    try FileManager.default.copyItem(
                        at: root.appendingPathComponent("alice/1.pgm"), to: erin.appendingPathComponent("1.pgm"))
                }
                return ["train", "--data", d, "--out", f.path("m.safetensors")]
            },
            "DatasetError.tooFewIdentities {root}: found {n} identity folder{s}; at least 2 are needed": {
                let d = try f.data { root in
                    for id in ["bob", "carol", "dave"] { try FileManager.default.removeItem(at: root.appendingPathComponent(id)) }
                }
                return ["train", "--data", d, "--out", f.path("m.safetensors")]
            },
            "DatasetError.image {path}: {image problem}": {
                let d = try f.data { root in try Data("P5\n12 14\n255\n".utf8).write(to: root.appendingPathComponent("bob/2.pgm"))
                }
                return ["train", "--data", d, "--out", f.path("m.safetensors")]
            },

            cli + "EvaluateCommand.swift --identification searches the identity folders of --data: give --data, not pairs": {
                try pairsEval("alice/1.pgm,bob/1.pgm,0\n") + ["--identification"]
            },
            cli + "EvaluateCommand.swift --gallery-images must be from 1 to {max} (got {n})": {
                evaluate + ["--data", f.data.path, "--identification", "--gallery-images", "0"]
            },
            cli + "EvaluateCommand.swift --gallery-images and --non-mated go with --identification": {
                evaluate + ["--data", f.data.path, "--non-mated", "bob"]
            },
            "IdentificationError.unknownIdentity non-mated identity {name} is not among the evaluated identities": {
                evaluate + ["--data", f.data.path, "--identification", "--non-mated", "zed"]
            },
            "IdentificationError.tooFewIdentities identification needs at least 2 enrolled identities (got {n})": {
                evaluate + ["--data", f.data.path, "--identities", "alice", "--identification", "--non-mated", "bob"]
            },
            "IdentificationError.noMatedSearches no identity has more than {n} images, so nothing is left to search after enrolling the first {n}":
                { evaluate + ["--data", f.data.path, "--identification", "--gallery-images", "50"] },
            "PairListError LFWPairs.swift {file}: {reason}": { lfwEval(f.path("absent.txt")) },
            "PairListError LFWPairs.swift {file}: not UTF-8 text": { lfwEval(try f.file("l.txt", [0xFF, 0xFE, 0x41])) },
            "PairListError LFWPairs.swift {file}:{line}: contains a NUL byte": { lfwEval(try f.pairs("1 1\nalice\u{0} 1 2\n")) },
            "PairListError LFWPairs.swift {file}: empty: expected a first line such as \"10 300\"": {
                lfwEval(try f.pairs("\n"))
            },
            "PairListError LFWPairs.swift {file}:{line}: {what} \"{text}\" is not a whole number from 1 to 10000000": {
                lfwEval(try f.pairs("10 0\n"))
            },
            "PairListError LFWPairs.swift {file}:{line}: the first line must be \"FOLDS PAIRS\" (View 2, e.g. \"10 300\") or \"PAIRS\" (View 1, e.g. \"1100\")":
                { lfwEval(try f.pairs("10 300 1\n")) },
            "PairListError LFWPairs.swift {file}:{line}: {folds} folds of {n} + {n} pairs is more than 10000000 pairs": {
                lfwEval(try f.pairs("10000 10000\n"))
            },
            "PairListError LFWPairs.swift {file}: the first line declares {declared} = {n} pairs, but the file has {m}": {
                lfwEval(try f.pairs("1 1\nalice 1 2\n"))
            },
            "PairListError LFWPairs.swift {file}:{line}: {fold: }expected a {matched or mismatched} pair \"{shape}\" here ({lines} of each fold), found {a matched or a mismatched} one":
                { lfwEval(try f.pairs("1 1\nalice 1 bob 1\nalice 1 2\n")) },
            "PairListError LFWPairs.swift {file}:{line}: expected \"name n1 n2\" (same person) or \"name1 n1 name2 n2\" (two people), found {n} fields":
                { lfwEval(try f.pairs("1 1\nalice 1\nalice 1 bob 1\n")) },
            "PairListError LFWPairs.swift {file}:{line}: \"{name}\" is not a person's folder name": {
                lfwEval(try f.pairs("1 1\n.. 1 2\nalice 1 bob 1\n"))
            },
            "PairListError LFWPairs.swift {file}:{line}: {path}: no such image under {root}": {
                lfwEval(try f.pairs("1 1\nalice 1 2\nalice 1 bob 1\n"))
            },
            cli
                + "EvaluateCommand.swift --lfw-pairs takes its images from --data; give no --pairs, --pair-folders, --identities or --root":
                { lfwEval(try f.pairs("1 1\n")) + ["--identities", "alice"] },
            cli + "EvaluateCommand.swift --lfw-pairs needs --data LFW_ROOT (the folder of the people's folders)": {
                evaluate + ["--lfw-pairs", try f.pairs("1 1\n")]
            },
            "PairListError PairList.swift {file}: {reason}": { evaluate + ["--pairs", f.path("absent.csv")] },
            "PairListError PairList.swift {file}: not UTF-8 text": {
                evaluate + ["--pairs", try f.file("p.csv", [0xFF, 0xFE, 0x41])]
            },
            "PairListError PairList.swift {file}:{line}: header must be \"image1,image2\" or \"image1,image2,same\" (got \"{text}\")":
                {
                    try pairsEval("image1,photo2\nalice/1.pgm,bob/1.pgm\n")
                },
            "PairListError PairList.swift {file}:{line}: header has {n} columns; expected image1,image2[,same]": {
                try pairsEval("image1,image2,same,x\nalice/1.pgm,bob/1.pgm,0,1\n")
            },
            "PairListError PairList.swift {file}:{line}: the header names the third column \"{name}\" but --label-means says {meaning}":
                {
                    try pairsEval("image1,image2,same\nalice/1.pgm,bob/1.pgm,0\n") + ["--label-means", "different"]
                },
            "PairListError PairList.swift {file}:{line}: third column is named \"label\": say what 1 means with --label-means same|different, or name it \"same\" (1 = same person, 0 = different people)":
                {
                    try pairsEval("image1,image2,label\nalice/1.pgm,bob/1.pgm,0\n")
                },
            "PairListError PairList.swift {file}:{line}: third column is named \"{name}\"; name it \"same\" (1 = same person, 0 = different people) so its meaning is unambiguous":
                {
                    try pairsEval("image1,image2,match\nalice/1.pgm,bob/1.pgm,0\n")
                },
            "PairListError PairList.swift {file}:{line}: expected 2 or 3 columns (image1,image2[,same]), found {n}": {
                try pairsEval("alice/1.pgm\n")
            },
            "PairListError PairList.swift {file}:{line}: {n} columns, but earlier rows (or the header) have {m}": {
                try pairsEval("alice/1.pgm,bob/1.pgm,0\nalice/1.pgm,bob/2.pgm\n")
            },
            "PairListError PairList.swift {file}:{line}: image{k} is empty": { try pairsEval("alice/1.pgm,,0\n") },
            "PairListError PairList.swift {file}:{line}: image{k} contains a NUL byte": {
                try pairsEval("alice/1.pgm,bob/1.pgm\u{0}.png,0\n")
            },
            "PairListError PairList.swift {file}:{line}: label \"{text}\" is not 1 (same person) or 0 (different people)": {
                try pairsEval("alice/1.pgm,bob/1.pgm,maybe\n")
            },
            "PairListError PairList.swift {file}:{line}: image {path} {not found or is a directory}": {
                try pairsEval("alice/1.pgm,zed/1.pgm,0\n")
            },
            "PairListError PairList.swift {file}: no pairs (expected lines image1,image2[,same])": { try pairsEval("") },
            "PairListError PairList.swift {file}:{line}: text after a closing quote": {
                try pairsEval("\"alice/1.pgm\"x,bob/1.pgm,0\n")
            },
            "PairListError PairList.swift {file}:{line}: unterminated quote": { try pairsEval("\"alice/1.pgm,bob/1.pgm,0\n") },
            pfl + "{root}: not found": { pairFolders(f.path("absent")) },
            pfl + "{root}: not a folder of pair folders": { pairFolders(f.probe) },
            pfl + "{root}/annos.csv: {file not found, or cannot read: system error}": { pairFolders(try f.pairFolders(nil)) },
            pfl + "{root}/annos.csv: not UTF-8 text": {
                let root = try f.pairFolders(nil)
                try Data([0xFF, 0xFE, 0x41]).write(to: URL(fileURLWithPath: root + "/annos.csv"))
                return pairFolders(root)
            },
            pfl + "{root}/annos.csv:{line}: the header has no \"label\" column": { pairFolders(try f.pairFolders("id,same\n")) },
            pfl + "{root}/annos.csv:{line}: row has {n} columns, no \"label\" value": {
                pairFolders(try f.pairFolders("id,label\n0000\n", ["0000": ab]))
            },
            pfl + "{root}/annos.csv: empty (expected a header with \"label\")": { pairFolders(try f.pairFolders("")) },
            pfl + "{root}: no pair folders": { pairFolders(try f.pairFolders("label\n1\n")) },
            pfl + "{root}/annos.csv{:line}: {n} label row{s} for {m} pair folder{s} in {root}": {
                pairFolders(try f.pairFolders("label\n1\n0\n", ["0000": ab]))
            },
            pfl
                + "{root}/annos.csv:{line}: label \"{text}\" of pair folder {name} is not {1 (same person) or 0 (different people), or the reverse}":
                {
                    pairFolders(try f.pairFolders("label\nmaybe\n", ["0000": ab]))
                },
            pfl
                + "{root}/annos.csv:{line}: pair folder {folder} has {no image a.jpg (or .png, .pgm, …), or n images named a.*: …}":
                {
                    pairFolders(try f.pairFolders("label\n1\n", ["0000": ["a.pgm"]]))
                },

            file + "FaceModel.swift {path}: cannot {operation}: {system error}": { info(f.path("absent.safetensors")) },
            file + "FaceModel.swift {path}: not a model file: {problem}": { info(try f.file("t.safetensors", "text")) },
            file + "FaceModel.swift {path}: FaceTwin model with unreadable metadata (key \"info\")": {
                info(
                    try f.editedModel { header, _ in
                        var meta = header["__metadata__"] as! [String: Any]
                        meta["info"] = "{"
                        header["__metadata__"] = meta
                    })
            },
            file + "FaceModel.swift {path}: FaceTwin model format version {v} is not supported (this build reads {w})": {
                info(
                    try f.editedModel { header, _ in
                        var meta = header["__metadata__"] as! [String: Any]
                        meta["format_version"] = "9"
                        header["__metadata__"] = meta
                    })
            },
            file + "FaceModel.swift {path}: not a FaceTwin or reference-architecture model: {detail}": {
                info(try f.safetensors(tensor, dataBytes: 4))
            },
            file + "FaceModel.swift {path}: implausible network configuration: {problem}": {
                info(
                    try f.editedInfo { info in
                        var config = info["config"] as! [String: Any]
                        config["channels"] = [100_000]
                        info["config"] = config
                    })
            },
            file + "FaceModel.swift {path}: not a FaceTwin model: tensor {name} is missing": {
                info(try f.editedModel { header, _ in header["renamed"] = header.removeValue(forKey: "cnn1.1.weight") })
            },
            file + "FaceModel.swift {path}: tensor {name} has shape {shape}, the network the metadata describes needs {shape}": {
                info(
                    try f.editedModel { header, _ in
                        var t = header["cnn1.1.weight"] as! [String: Any]
                        t["shape"] = [1, 4, 3, 3]
                        header["cnn1.1.weight"] = t
                    })
            },
            file + "FaceModel.swift {path}: tensor {name} holds {dtype}, not floating-point weights": {
                info(
                    try f.editedModel { header, _ in
                        var t = header["cnn1.1.weight"] as! [String: Any]
                        t["dtype"] = "I32"
                        header["cnn1.1.weight"] = t
                    })
            },
            file + "WeightLoading.swift {path}: tensor {name} holds a value that is not finite ({value} at element {i})": {
                info(
                    try f.editedModel { header, data in
                        let t = header["cnn1.1.weight"] as! [String: Any]
                        let begin = (t["data_offsets"] as! [Int])[0]
                        withUnsafeBytes(of: Float.nan.bitPattern.littleEndian) { for k in 0..<4 { data[begin + k] = $0[k] } }
                    })
            },
            file
                + "DlibResNetModelFile.swift {path}: facetwin.dlib-resnet model format version {v} is not supported (this build reads {w})":
                {
                    resnetEmbed(
                        try f.editedModel(f.resnetModel) { header, _ in editMeta(&header) { $0["format_version"] = "9" } })
                },
            file + "DlibResNetModelFile.swift {path}: facetwin.dlib-resnet model with unreadable metadata (key \"architecture\")":
                {
                    resnetEmbed(try f.editedModel(f.resnetModel) { header, _ in editMeta(&header) { $0["architecture"] = "{" } })
                },
            file + "DlibResNetModelFile.swift {path}: implausible network architecture: {problem}": {
                resnetEmbed(
                    try f.editedModel(f.resnetModel) { header, _ in
                        editMeta(&header) {
                            $0["architecture"] = ($0["architecture"] as! String).replacingOccurrences(
                                of: "\"stride\":2", with: "\"stride\":3")
                        }
                    })
            },
            file + "DlibResNetModelFile.swift {path}: not a facetwin.dlib-resnet model: tensor {name} is missing": {
                resnetEmbed(
                    try f.editedModel(f.resnetModel) { header, _ in header["renamed"] = header.removeValue(forKey: "fc.weight") })
            },
            file
                + "DlibResNetModelFile.swift {path}: tensor {name} is {dtype} {shape}, the architecture in the metadata needs floating-point weights of shape {shape}":
                {
                    resnetEmbed(
                        try f.editedModel(f.resnetModel) { header, _ in
                            var t = header["fc.weight"] as! [String: Any]
                            t["dtype"] = "I32"
                            header["fc.weight"] = t
                        })
                },
            file
                + "DlibResNetModelFile.swift {path}: tensor landmarks.shape_predictor_5 should hold the landmark model's bytes (U8, one dimension)":
                {
                    resnetEmbed(
                        try f.editedModel(f.resnetModel) { header, _ in
                            var t = header["landmarks.shape_predictor_5"] as! [String: Any]
                            t["dtype"] = "I8"
                            header["landmarks.shape_predictor_5"] = t
                        })
                },
            file
                + "DlibResNetModelFile.swift {path}: tensor detector.frontal_face should hold the face detector's bytes (U8, one dimension)":
                {
                    resnetEmbed(
                        try f.editedModel(f.resnetModel) { header, _ in
                            var t = header["detector.frontal_face"] as! [String: Any]
                            t["shape"] = [2, 2]
                            header["detector.frontal_face"] = t
                        })
                },
            file + "DlibResNetModelFile.swift {path}: facetwin.dlib-resnet model with unreadable metadata (key \"info\")": {
                resnetEmbed(try f.editedModel(f.resnetModel) { header, _ in editMeta(&header) { $0["info"] = "{" } })
            },
            cli
                + "BackboneOptions.swift {model}: holds dlib's ResNet, which has its own layers and input; {options} describe a twin's (leave them out)":
                {
                    train + ["--backbone", f.resnetModel, "--out", f.path("m.safetensors")]
                },
            cli + "BackboneOptions.swift --backbone-lr-scale goes with --backbone MODEL": {
                train + ["--backbone-lr-scale", "0.5"]
            },
            cli + "BackboneOptions.swift --backbone-lr-scale must be above 0 and at most 1 (got {s})": {
                [
                    "train", "--data", f.data.path, "--backbone", f.resnetModel, "--backbone-lr-scale", "0", "--out",
                    f.path("m.safetensors")
                ]
            },
            cli
                + "TrainCommand.swift {model}: the model file carries no landmark model (landmarks.shape_predictor_5) to cut chips with: convert it again with facetwin import-dlib":
                {
                    let bare = f.path("bare.safetensors")
                    try FaceModel(resnet: DlibResNet(architecture: .reduced(widthDivisor: 32), seed: 1)).save(to: bare)
                    return ["train", "--data", f.data.path, "--backbone", bare, "--out", f.path("m.safetensors")]
                },
            cli
                + "CrossvalCommand.swift {model}: the model file carries no landmark model (landmarks.shape_predictor_5) to cut chips with: convert it again with facetwin import-dlib":
                {
                    let bare = f.path("bare.safetensors")
                    try FaceModel(resnet: DlibResNet(architecture: .reduced(widthDivisor: 32), seed: 1)).save(to: bare)
                    return ["crossval", "--data", f.data.path, "--backbone", bare]
                },
            cli + "CrossvalCommand.swift --zero-shot goes with --backbone MODEL": {
                ["crossval", "--data", f.data.path, "--zero-shot"]
            },
            cli + "CrossvalCommand.swift --zero-shot trains nothing; --freeze-backbone trains a head": {
                ["crossval", "--data", f.data.path, "--backbone", f.resnetModel, "--zero-shot", "--freeze-backbone"]
            },
            cli + "CrossvalCommand.swift crossval --backbone takes identity folders (--data DIR)": {
                ["crossval", "--pairs", "p.csv", "--backbone", f.resnetModel]
            },
            cli + "CrossvalCommand.swift {model}: crossval --backbone takes dlib's ResNet": {
                ["crossval", "--data", f.data.path, "--backbone", f.model]
            },
            file + "FaceModel.swift {path}: cannot write model: {reason}": {
                [
                    "calibrate", "--model", f.model, "--eer", "--data", f.data.path, "--identities", "carol,dave", "--out",
                    f.path("absent") + "/m.safetensors"
                ]
            },

            st + "io {path}: cannot {operation}: {system error}": { info(f.path("absent.safetensors")) },
            "DlibModelError.unreadable {path}: cannot read the dlib model: {reason}": {
                ["import-dlib", f.path("absent.dat"), "--out", f.path("r.safetensors")]
            },
            "DlibModelError.notResNet {path}: not dlib's face recognition ResNet (dlib_face_recognition_resnet_model_v1.dat): {reason}":
                {
                    ["import-dlib", try f.file("r.dat", "not a dlib network"), "--out", f.path("r.safetensors")]
                },
            st + "fileTooShort " + stBad + "not a safetensors file ({n} bytes, shorter than the 8-byte header length)": {
                info(try f.file("s.safetensors", [1, 2, 3]))
            },
            st + "headerLengthExceedsFile " + stBad + "not a safetensors file (header length {n} exceeds file size {size})": {
                info(try f.file("s.safetensors", [0xE8, 0x03, 0, 0, 0, 0, 0, 0, 0x7B]))
            },
            st + "headerTooLarge " + stBad
                + "not a safetensors file (header length {n} exceeds the limit of {limit} bytes)": {
                    let p = try f.file("s.safetensors", withUnsafeBytes(of: UInt64(100_000_001).littleEndian) { Array($0) })
                    let h = try FileHandle(forWritingTo: URL(fileURLWithPath: p))
                    try h.truncate(atOffset: 100_000_016)  // sparse: nothing is written
                    try h.close()
                    return info(p)
                },
            st + "headerNotJSON " + stBad + "not a safetensors file (header is not valid JSON: {detail})": {
                info(try f.safetensors("{nope"))
            },
            st + "headerNotObject " + stBad + "not a safetensors file (header is not a JSON object)": {
                info(try f.safetensors("[1]"))
            },
            st + "invalidMetadata " + stBad + "invalid __metadata__ ({detail})": {
                info(try f.safetensors(#"{"__metadata__":{"a":1}}"#))
            },
            st + "invalidEntry " + stBad + "tensor \"{name}\": header entry is not an object": {
                info(try f.safetensors(#"{"x":1}"#))
            },
            st + "missingField " + stBad + "tensor \"{name}\": header entry has no \"{field}\"": {
                info(try f.safetensors(#"{"x":{"dtype":"F32","shape":[1]}}"#, dataBytes: 4))
            },
            st + "invalidField " + stBad + "tensor \"{name}\": invalid \"{field}\" ({detail})": {
                info(try f.safetensors(#"{"x":{"dtype":"F32","shape":"a","data_offsets":[0,4]}}"#, dataBytes: 4))
            },
            st + "unknownDType " + stBad + "tensor \"{name}\": unknown dtype \"{dtype}\"": {
                info(try f.safetensors(#"{"x":{"dtype":"Q7","shape":[1],"data_offsets":[0,4]}}"#, dataBytes: 4))
            },
            st + "offsetsOutOfRange " + stBad
                + "tensor \"{name}\": data_offsets [{begin}, {end}] outside the data section of {n} bytes": {
                    info(try f.safetensors(#"{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, dataBytes: 4))
                },
            st + "sizeMismatch " + stBad + "tensor \"{name}\": data_offsets span {n} bytes but dtype and shape need {m}": {
                info(try f.safetensors(#"{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}"#, dataBytes: 4))
            },
            st + "overlap " + stBad + "tensor \"{name}\": data overlaps tensor \"{other}\"": {
                info(
                    try f.safetensors(
                        #"{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"y":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#,
                        dataBytes: 4))
            },
            st + "hole " + stBad + "data bytes [{begin}, {end}) belong to no tensor": {
                info(try f.safetensors(tensor, dataBytes: 8))
            },

            "GalleryError.exportModelMismatch {file}: the templates were made with model {fingerprint}, {gallery or model} has model {fingerprint}: import them into a gallery of their own model; nothing was written":
                {
                    let export = f.path("t.csv")
                    try Fixture.run(["gallery", "export", "--gallery", f.gallery, "--out", export])
                    return ["gallery", "import", "--gallery", f.galleryNoThreshold, export]
                },
            "GalleryError.badExport {file}:{line}: {problem}": {
                ["gallery", "import", "--gallery", f.gallery, try f.file("t.csv", "identity,path\n")]
            },
            "GalleryError.file {path}: {file problem}": { ["gallery", "export", "--gallery", f.gallery, "--out", f.dir.path] },
            file + "InputFile.swift {path}: {n} bytes, more than the {limit} bytes allowed": {
                let big = try f.file("big.csv", "")
                let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: big))
                try handle.truncate(atOffset: UInt64(TemplateExport.maxBytes) + 1)  // sparse: no disk used
                try handle.close()
                return ["gallery", "import", "--gallery", f.gallery, big]
            },
            "GalleryError.notFound {gallery}: no gallery here (facetwin enroll --gallery {gallery} --model M … creates one)": {
                ["gallery", "list", "--gallery", f.path("absent.sqlite")]
            },
            "GalleryError.invalidLocation {url}: not a usable gallery location ({reason})": {
                ["gallery", "list", "--gallery", "postgres://someone@localhost:99999/faces"]
            },
            "GalleryError.notAGallery {gallery}: not a FaceTwin gallery ({reason})": {
                ["gallery", "list", "--gallery", try f.file("t.sqlite", "just text, not SQLite at all")]
            },
            "GalleryError.newerSchema {gallery}: gallery written by a newer FaceTwin (unknown schema); upgrade facetwin to use it":
                {
                    let p = f.path("newer.sqlite")
                    try FileManager.default.copyItem(atPath: f.gallery, toPath: p)
                    let queue = try DatabaseQueue(path: p)
                    try queue.write { try $0.execute(sql: "UPDATE gallery_meta SET schema_version = 999") }
                    try queue.close()
                    return ["gallery", "list", "--gallery", p]
                },
            "GalleryError.database {gallery}: database error: {message}": {
                ["enroll", "--gallery", f.path("absent") + "/g.sqlite", "--model", f.model, "--name", "x", f.probe]
            },
            "GalleryError.interruptedWrite {gallery}: an interrupted write left its rollback journal ({gallery}-journal), which a read-only command cannot undo; a command that writes the gallery (enroll, gallery remove, gallery rename), run by a user who may write its folder, rolls it back":
                {
                    let p = f.path("interrupted.sqlite")
                    try copyWithInterruptedWrite(f.gallery, to: p)
                    return ["gallery", "list", "--gallery", p]
                },
            "GalleryError.modelMismatch gallery {gallery} was made with model {fingerprint} ({path}), not {fingerprint} ({path}): re-enroll or pass the model it was made with":
                {
                    verify + ["--model", f.modelNoThreshold, f.probe]
                },
            "GalleryError.invalidKeyName invalid key name \"{name}\": {reason}": {
                ["keys", "add", "--gallery", f.gallery, "--role", "admin", " x"]
            },
            "GalleryError.duplicateKey {gallery}: the gallery already has a key named \"{name}\" (revoke it first to replace it)":
                {
                    let p = f.path("keys.sqlite")
                    try FileManager.default.copyItem(atPath: f.gallery, toPath: p)
                    try Fixture.run(["keys", "add", "--gallery", p, "--role", "verify", "door"])
                    return ["keys", "add", "--gallery", p, "--role", "admin", "door"]
                },
            "GalleryError.unknownKey {gallery}: no key named \"{name}\" in the gallery": {
                ["keys", "revoke", "--gallery", f.gallery, "nobody"]
            },
            cli + "KeysCommand.swift {gallery}: no gallery here; give --model to create one": {
                ["keys", "add", "--gallery", f.path("none.sqlite"), "--role", "admin", "k"]
            },
            cli + "ServeCommand.swift --workers must be between 1 and 64 (got {n})": {
                ["serve", "--model", f.model, "--gallery", f.gallery, "--workers", "0"]
            },
            cli + "ServeCommand.swift --max-body-mib and --max-photo-mib must be between 1 and 1024": {
                ["serve", "--model", f.model, "--gallery", f.gallery, "--max-body-mib", "0"]
            },
            "GalleryError.unknownIdentity {gallery}: no identity named \"{name}\" in the gallery": {
                ["verify", "--gallery", f.gallery, "--claim", "zed", f.probe]
            },
            "GalleryError.duplicateIdentity {gallery}: the gallery already has an identity named \"{name}\"": {
                ["gallery", "rename", "--gallery", f.gallery, "alice", "bob"]
            },
            "GalleryError.invalidName invalid identity name \"{name}\": {reason}": {
                ["enroll", "--gallery", f.gallery, "--name", " x", f.probe]
            },
            "GalleryError.nothingToEnroll {path}: nothing to enroll: {reason}": {
                ["enroll", "--gallery", f.gallery, "--folder", try f.folder("none")]
            },
            "GalleryError.folder {folder}: {reason}": { ["enroll", "--gallery", f.gallery, "--folder", f.path("absent")] },
            "GalleryError.badProbe {image problem} (probe image)": { verify + [f.path("absent.pgm")] },
            "GalleryError.empty {gallery}: the gallery has no identities; enroll someone first": {
                ["identify", "--gallery", f.emptyGallery, f.probe]
            },
            "GalleryError.noThreshold {model}: the model has no verification threshold; give --threshold, train with --holdout, or run facetwin calibrate":
                {
                    ["verify", "--gallery", f.galleryNoThreshold, "--claim", "alice", f.probe]
                },

            "EvaluationError.dataset {path}: {dataset problem}": { evaluate + ["--data", f.path("absent")] },
            "EvaluationError.image {path}: {image problem}": {
                let bad = try f.file("bad.pgm", "P5\n1 1\n")
                return try pairsEval("alice/1.pgm,\(bad),0\n")
            },
            "EvaluationError.pairList {file}:{line}: {pair list problem}": { try pairsEval("alice/1.pgm,bob/1.pgm,maybe\n") },
            "EvaluationError.unlabeledPairs {file}: the pair list has no \"same\" column (1 = same person, 0 = different); error rates need it":
                {
                    try pairsEval("alice/1.pgm,bob/1.pgm\n")
                },
            "EvaluationError.metrics {context}: verification metrics: {problem}": {
                try pairsEval("alice/1.pgm,alice/2.pgm,1\n")
            },
            "MetricsError.noGenuinePairs verification metrics: no genuine pairs (every pair is of two different identities)": {
                try pairsEval("alice/1.pgm,bob/2.pgm,0\n")
            },
            "MetricsError.noImpostorPairs verification metrics: no impostor pairs (every pair is of the same identity)": {
                try pairsEval("alice/1.pgm,alice/3.pgm,1\n")
            },
            "CrossValidationError.tooFewIdentities {k} folds need at least {n} identities (2 a fold, so that each test fold has impostor pairs); found {m}":
                {
                    ["crossval", "--data", f.data.path, "--folds", "3"]
                },
            "CrossValidationError.sharedImage fold {f}/{k}: test image {path} has the same bytes (SHA-256) as training image {path}; the same photo under two identities would leak into training — remove or refile one of them":
                {
                    let d = try f.data { root in
                        try FileManager.default.copyItem(
                            at: root.appendingPathComponent("alice/1.pgm"), to: root.appendingPathComponent("bob/9.pgm"))
                    }
                    return crossval + ["--data", d, "--seed", "0"]
                },
            "CrossValidationError.dataset {path}: {dataset problem}": { crossval + ["--data", f.path("absent")] }
        ]
    }

    /// The row's message as a pattern: `{…}` matches anything.
    static func pattern(_ message: String) -> String {
        var out = ""
        var inBraces = false
        var literal = ""
        for ch in message {
            if inBraces {
                if ch == "}" { inBraces = false }
                continue
            }
            if ch == "{" {
                out += NSRegularExpression.escapedPattern(for: literal) + ".*"
                literal = ""
                inBraces = true
            } else {
                literal.append(ch)
            }
        }
        return out + NSRegularExpression.escapedPattern(for: literal)
    }

    func testEveryWalkedRowIsPrintedAsTheTableSays() throws {
        let rows = try Self.table()
        let fixture = try Fixture(temporaryDirectory(self))
        let provocations = try Self.provocations(fixture)
        let walked = rows.filter(\.walked)
        for key in Set(provocations.keys).subtracting(walked.map(\.key)).sorted() {
            XCTFail("a provocation for no walked row of docs/ERRORS.md: \(key)")
        }
        for row in walked {
            guard let provoke = provocations[row.key] else {
                XCTFail("docs/ERRORS.md row \(row.key) is marked walked but nothing provokes it")
                continue
            }
            let args = try provoke()
            let r = try runFacetwin(args)
            let context = "\(row.key)\n  facetwin \(args.joined(separator: " "))\n  stderr: \(r.stderr)"
            XCTAssertEqual(r.status, 2, "exit status: \(context)")
            let lines = r.stderr.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            let first = lines.first ?? ""
            XCTAssertTrue(first.hasPrefix("facetwin: error: "), context)
            let message = String(first.dropFirst("facetwin: error: ".count))
            XCTAssertNotNil(
                message.range(of: "^" + Self.pattern(row.message) + "$", options: .regularExpression)
                    ?? message.range(of: Self.pattern(row.message) + "$", options: .regularExpression),
                "message does not match the table: \(context)")
            // One line, or (a usage error) the line then the command's usage.
            let rest = lines.dropFirst().filter { !$0.isEmpty }
            XCTAssertTrue(rest.isEmpty || rest.contains { $0.hasPrefix("Usage: ") }, "one line: \(context)")
        }
    }
}
