import Foundation

/// A pair list in the format of Labeled Faces in the Wild (LFW): the input of
/// `facetwin evaluate --lfw-pairs`.
///
/// ## Format
///
/// View 2 (`pairs.txt`, for the figure a paper reports): a first line `10 300` (folds, and
/// matched pairs per fold), then each fold in turn: 300 lines `name n1 n2` (two photos of one
/// person) followed by 300 lines `name1 n1 name2 n2` (two people). View 1
/// (`pairsDevTrain.txt`, `pairsDevTest.txt`, for choosing a model): a first line `1100` (or
/// `500`), then that many matched and that many mismatched lines: one set, no folds.
/// Fields are separated by tabs or spaces. Image `n` of `name` is
/// `ROOT/name/name_%04d.jpg` (`Abel_Pacheco 1 4` → `Abel_Pacheco/Abel_Pacheco_0001.jpg`).
///
/// Every problem (a count that disagrees with the first line, a field that is not a positive
/// number, a line of the wrong shape or in the wrong half of its fold, an image that is not
/// there) is an ``PairListError`` naming the file and line, before any image is decoded.
public struct LFWPairs: Sendable {
    /// The pairs in file order, as a labelled ``PairList`` (paths resolved against the root).
    public let list: PairList
    /// The fold of each pair (0-based; all 0 for View 1).
    public let folds: [Int]
    /// How many folds the first line declares (1 for View 1).
    public let foldCount: Int
    /// Matched (and mismatched) pairs per fold.
    public let pairsPerClass: Int

    /// Reads an LFW pair file; `root` is the folder of the identity folders.
    public init(contentsOf file: String, root: String, checkImagesExist: Bool = true) throws(PairListError) {
        let data: Data
        do {
            data = try InputFile.read(file)
        } catch {
            let reason = FileManager.default.fileExists(atPath: file) ? "cannot read: \(error.message)" : "file not found"
            throw PairListError(file: file, line: nil, reason)
        }
        guard let text = String(data: data, encoding: .utf8) else { throw PairListError(file: file, line: nil, "not UTF-8 text") }
        try self.init(text: text, file: file, root: root, checkImagesExist: checkImagesExist)
    }

    /// Parses LFW pair text; `file` names it in errors, `root` resolves the image paths.
    public init(text: String, file: String, root: String, checkImagesExist: Bool = false) throws(PairListError) {
        var lines: [(fields: [Substring], number: Int)] = []
        for (line, number) in PairList.lines(of: text) {
            if line.contains("\0") { throw PairListError(file: file, line: number, "contains a NUL byte") }
            let fields = line.split(whereSeparator: { $0 == "\t" || $0 == " " })
            if fields.isEmpty { continue }
            lines.append((fields, number))
        }
        guard let head = lines.first else {
            throw PairListError(file: file, line: nil, "empty: expected a first line such as \"10 300\"")
        }
        func count(_ f: Substring, _ what: String, line: Int) throws(PairListError) -> Int {
            guard let v = Int(f), v > 0, v <= LFWPairs.maximumCount else {
                throw PairListError(
                    file: file, line: line, "\(what) \"\(f.prefix(40))\" is not a whole number from 1 to \(LFWPairs.maximumCount)"
                )
            }
            return v
        }
        let folds: Int, perClass: Int
        switch head.fields.count {
        case 1: (folds, perClass) = (1, try count(head.fields[0], "pair count", line: head.number))
        case 2:
            folds = try count(head.fields[0], "fold count", line: head.number)
            perClass = try count(head.fields[1], "pairs per fold", line: head.number)
        default:
            throw PairListError(
                file: file, line: head.number,
                "the first line must be \"FOLDS PAIRS\" (View 2, e.g. \"10 300\") or \"PAIRS\" (View 1, e.g. \"1100\")")
        }
        let expected = folds * perClass * 2
        guard expected <= LFWPairs.maximumCount else {
            throw PairListError(
                file: file, line: head.number,
                "\(folds) folds of \(perClass) + \(perClass) pairs is more than \(LFWPairs.maximumCount) pairs")
        }
        let body = lines.dropFirst()
        guard body.count == expected else {
            let declared =
                folds == 1
                ? "\(perClass) matched + \(perClass) mismatched"
                : "\(folds) folds × (\(perClass) matched + \(perClass) mismatched)"
            throw PairListError(
                file: file, line: body.count > expected ? body[body.startIndex + expected].number : nil,
                "the first line declares \(declared) = \(expected) pairs, but the file has \(body.count)")
        }
        var entries: [PairListEntry] = []
        var foldOf: [Int] = []
        entries.reserveCapacity(expected)
        let fm = FileManager.default
        for (k, (fields, number)) in body.enumerated() {
            let fold = k / (2 * perClass)
            let matched = k % (2 * perClass) < perClass
            let names: (String, String), numbers: (Int, Int)
            switch (fields.count, matched) {
            case (3, true):
                names = (String(fields[0]), String(fields[0]))
                numbers = (try count(fields[1], "image number", line: number), try count(fields[2], "image number", line: number))
            case (4, false):
                names = (String(fields[0]), String(fields[2]))
                numbers = (try count(fields[1], "image number", line: number), try count(fields[3], "image number", line: number))
            case (3, false), (4, true):
                let place = folds == 1 ? "" : "fold \(fold + 1): "
                throw PairListError(
                    file: file, line: number,
                    "\(place)expected a \(matched ? "matched pair \"name n1 n2\"" : "mismatched pair \"name1 n1 name2 n2\"") here (\(matched ? "lines 1–\(perClass)" : "lines \(perClass + 1)–\(2 * perClass)") of each fold), found \(fields.count == 3 ? "a matched" : "a mismatched") one"
                )
            default:
                throw PairListError(
                    file: file, line: number,
                    "expected \"name n1 n2\" (same person) or \"name1 n1 name2 n2\" (two people), found \(fields.count) fields")
            }
            for name in [names.0, names.1] where name == "." || name == ".." || name.contains("/") {
                throw PairListError(file: file, line: number, "\"\(name)\" is not a person's folder name")
            }
            let rel1 = Self.imagePath(name: names.0, number: numbers.0)
            let rel2 = Self.imagePath(name: names.1, number: numbers.1)
            let path1 = (root as NSString).appendingPathComponent(rel1)
            let path2 = (root as NSString).appendingPathComponent(rel2)
            if checkImagesExist {
                for (rel, path) in [(rel1, path1), (rel2, path2)] where !fm.fileExists(atPath: path) {
                    throw PairListError(file: file, line: number, "\(rel): no such image under \(root)")
                }
            }
            entries.append(PairListEntry(image1: rel1, image2: rel2, path1: path1, path2: path2, same: matched, line: number))
            foldOf.append(fold)
        }
        list = PairList(pairs: entries, file: file, root: root)
        self.folds = foldOf
        foldCount = folds
        pairsPerClass = perClass
    }

    /// `name/name_0004.jpg`, LFW's name for image `number` of `name`.
    public static func imagePath(name: String, number: Int) -> String {
        "\(name)/\(name)_\(String(format: "%04d", number)).jpg"
    }

    /// The most pairs (and the largest number) a file may declare.
    public static let maximumCount = 10_000_000
}
