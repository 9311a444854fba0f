import Foundation

/// A list of image pairs to score, read from CSV: the input of `facetwin evaluate --pairs`
/// and `facetwin verify --pairs`.
///
/// ## Format
///
/// ```
/// image1,image2,same
/// s5/1.pgm,s5/2.pgm,1
/// s5/1.pgm,s6/1.pgm,0
/// ```
///
/// - One pair a line: `image1,image2` or `image1,image2,same`. Every row has the same
///   number of columns.
/// - The third column says whether the two images are of the **same person**: `1` (or
///   `same`, `true`, `yes`) = the same person, a genuine pair; `0` (or `different`, `false`,
///   `no`) = two different people, an impostor pair. This is the user-facing convention
///   (as in LFW's pair lists), and the opposite of the contrastive loss's internal label
///   (1 = different); to rule out that confusion, a header must name the column `same`,
///   and a header calling it `label` is accepted only with a ``PairLabelMeaning`` saying what
///   1 means (`--label-means same|different`). A header `different` (1 = different people) is
///   accepted too. A list without a header takes its labels in the `labelMeans` convention
///   (same, unless given).
/// - A header line is optional; it is recognised by its first field being `image1`
///   (any case) and must then read `image1,image2` or `image1,image2,same`.
/// - Blank lines and lines starting with `#` are skipped. Fields are trimmed of spaces
///   and may be double-quoted (RFC 4180: `"a,b.pgm"`, `""` for a quote inside).
/// - Relative image paths are resolved against `root` when given, otherwise against the
///   folder that holds the CSV file; absolute paths are used as they are.
///
/// Every problem is a ``PairListError`` naming the file and line.
public struct PairList: Sendable {
    /// The CSV file the list was read from (as given), or a name for in-memory text.
    public let file: String
    /// The folder relative paths were resolved against.
    public let root: String
    public let pairs: [PairListEntry]
    /// Whether the list has the `same` column (then every pair has a label).
    public let hasLabels: Bool

    public var count: Int { pairs.count }

    /// Reads and parses a pair list file.
    ///
    /// - Parameters:
    ///   - root: folder for relative image paths; `nil` = the CSV file's folder.
    ///   - checkImagesExist: when true, an image path that names no file is an error
    ///     (with the CSV line), before any image is decoded.
    ///   - labelMeans: what a label of 1 means in a list whose header says only `label`, or
    ///     that has no header; contradicting a `same` or `different` header is an error.
    public init(
        contentsOf file: String, root: String? = nil, checkImagesExist: Bool = true, labelMeans: PairLabelMeaning? = nil
    ) throws(PairListError) {
        let data: Data
        do {
            data = try InputFile.read(file)  // refuses a named pipe or device instead of blocking on it
        } catch {
            let reason = FileManager.default.fileExists(atPath: file) ? "cannot read: \(error.message)" : "file not found"
            throw PairListError(file: file, line: nil, reason)
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw PairListError(file: file, line: nil, "not UTF-8 text")
        }
        let folder = root ?? URL(fileURLWithPath: file).deletingLastPathComponent().path
        try self.init(text: text, file: file, root: folder, checkImagesExist: checkImagesExist, labelMeans: labelMeans)
    }

    /// Pairs already read (e.g. from pair folders); `file` names the list in messages.
    public init(pairs: [PairListEntry], file: String, root: String) {
        self.file = file
        self.root = root
        self.pairs = pairs
        self.hasLabels = pairs.allSatisfy { $0.same != nil }
    }

    /// Parses pair list text; `file` names it in errors, `root` resolves relative paths.
    public init(
        text: String, file: String, root: String, checkImagesExist: Bool = false, labelMeans: PairLabelMeaning? = nil
    ) throws(PairListError) {
        var meaning = labelMeans ?? .same
        var pairs: [PairListEntry] = []
        var columns: Int? = nil
        var sawHeader = false
        var lineNumber = 0
        for (line, number) in Self.lines(of: text) {
            lineNumber = number
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            let fields = try Self.fields(of: line, file: file, line: lineNumber)

            if pairs.isEmpty, !sawHeader, fields.first?.lowercased() == "image1" {
                let names = fields.map { $0.lowercased() }
                guard names.count >= 2, names[1] == "image2" else {
                    throw PairListError(
                        file: file, line: lineNumber,
                        "header must be \"image1,image2\" or \"image1,image2,same\" (got \"\(trimmed)\")")
                }
                if names.count > 3 {
                    throw PairListError(
                        file: file, line: lineNumber, "header has \(names.count) columns; expected image1,image2[,same]")
                }
                if names.count == 3 {
                    switch (names[2], labelMeans) {
                    case ("same", nil), ("same", .same?): meaning = .same
                    case ("different", nil), ("different", .different?): meaning = .different
                    case ("label", let given?): meaning = given
                    case ("same", _), ("different", _):
                        throw PairListError(
                            file: file, line: lineNumber,
                            labelMeaning: .contradicted(column: fields[2], given: labelMeans!))
                    case ("label", nil):
                        throw PairListError(file: file, line: lineNumber, labelMeaning: .unstated)
                    default:
                        throw PairListError(
                            file: file, line: lineNumber,
                            "third column is named \"\(fields[2])\"; name it \"same\" (1 = same person, 0 = different people) so its meaning is unambiguous"
                        )
                    }
                }
                columns = names.count
                sawHeader = true
                continue
            }
            guard fields.count == 2 || fields.count == 3 else {
                throw PairListError(
                    file: file, line: lineNumber, "expected 2 or 3 columns (image1,image2[,same]), found \(fields.count)")
            }
            if let expected = columns, fields.count != expected {
                throw PairListError(
                    file: file, line: lineNumber, "\(fields.count) columns, but earlier rows (or the header) have \(expected)")
            }
            columns = fields.count
            for (k, f) in fields.prefix(2).enumerated() where f.isEmpty {
                throw PairListError(file: file, line: lineNumber, "image\(k + 1) is empty")
            }
            // A file name cannot hold a NUL: the system would read the path only up to it.
            for (k, f) in fields.prefix(2).enumerated() where f.utf8.contains(0) {
                throw PairListError(file: file, line: lineNumber, "image\(k + 1) contains a NUL byte")
            }
            var same: Bool? = nil
            if fields.count == 3 {
                guard let value = meaning.isSame(fields[2]) else {
                    throw PairListError(file: file, line: lineNumber, "label \"\(fields[2])\" is not \(meaning.allowed)")
                }
                same = value
            }
            let p1 = Self.resolve(fields[0], root: root), p2 = Self.resolve(fields[1], root: root)
            if checkImagesExist {
                for (written, path) in [(fields[0], p1), (fields[1], p2)] {
                    var isDirectory: ObjCBool = false
                    if !FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) || isDirectory.boolValue {
                        let shown = written == path ? path : "\(written) (\(path))"
                        throw PairListError(
                            file: file, line: lineNumber,
                            "image \(shown) \(isDirectory.boolValue ? "is a directory" : "not found")")
                    }
                }
            }
            pairs.append(PairListEntry(image1: fields[0], image2: fields[1], path1: p1, path2: p2, same: same, line: lineNumber))
        }
        guard !pairs.isEmpty else { throw PairListError(file: file, line: nil, "no pairs (expected lines image1,image2[,same])") }
        self.file = file
        self.root = root
        self.pairs = pairs
        self.hasLabels = columns == 3
    }

    /// `path` if absolute, else `root/path`.
    public static func resolve(_ path: String, root: String) -> String {
        if path.hasPrefix("/") || root.isEmpty { return path }
        return root.hasSuffix("/") ? root + path : root + "/" + path
    }

    /// Splits one CSV line into trimmed fields, honouring double quotes.
    /// The lines of a CSV text with their 1-based numbers: split on \n and \r\n (a lone \r is
    /// not a line break; a Swift String sees "\r\n" as one Character, so splitting on "\n" alone
    /// would never split a CRLF file), a trailing \r and a leading byte-order mark dropped.
    static func lines(of text: String) -> [(line: Substring, number: Int)] {
        var result: [(line: Substring, number: Int)] = []
        for (i, rawLine) in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
            .enumerated()
        {
            var line = Substring(rawLine)
            if line.hasSuffix("\r") { line = line.dropLast() }
            if i == 0, line.hasPrefix("\u{FEFF}") { line = line.dropFirst() }
            result.append((line, i + 1))
        }
        return result
    }

    static func fields(of line: Substring, file: String, line number: Int) throws(PairListError) -> [String] {
        var fields: [String] = []
        var current = ""
        var quoted = false  // inside quotes
        var wasQuoted = false  // this field was quoted (no trimming of its content)
        var afterQuote = false  // the closing quote was seen; only spaces may follow
        var chars = line.makeIterator()
        var pending: Character? = nil
        func finish() {
            fields.append(wasQuoted ? current : current.trimmingCharacters(in: .whitespaces))
            current = ""; wasQuoted = false; afterQuote = false
        }
        while let c = pending ?? chars.next() {
            pending = nil
            if quoted {
                if c == "\"" {
                    if let next = chars.next() {
                        if next == "\"" { current.append("\"") } else { quoted = false; afterQuote = true; pending = next }
                    } else {
                        quoted = false; afterQuote = true
                    }
                } else {
                    current.append(c)
                }
                continue
            }
            switch c {
            case ",":
                finish()
            case "\"" where current.trimmingCharacters(in: .whitespaces).isEmpty && !afterQuote:
                quoted = true; wasQuoted = true; current = ""
            default:
                if afterQuote {
                    if c == " " || c == "\t" { continue }
                    throw PairListError(file: file, line: number, "text after a closing quote")
                }
                current.append(c)
            }
        }
        if quoted { throw PairListError(file: file, line: number, "unterminated quote") }
        finish()
        return fields
    }
}

/// What a pair label of 1 means: the same person (LFW's lists, FaceTwin's `same` column, the
/// Keras pair-folder convention) or different people (the contrastive loss's own label).
public enum PairLabelMeaning: String, CaseIterable, Codable, Sendable {
    case same
    case different

    /// Whether `label` says the same person: 1/0 (and true/false, yes/no) read in this
    /// convention, `same`/`different` as they say; nil for anything else.
    public func isSame(_ label: String) -> Bool? {
        let one: Bool
        switch label.lowercased() {
        case "same": return true
        case "different": return false
        case "1", "true", "yes": one = true
        case "0", "false", "no": one = false
        default: return nil
        }
        return self == .same ? one : !one
    }

    /// "1 (same person) or 0 (different people)" in this convention.
    public var allowed: String {
        self == .same ? "1 (same person) or 0 (different people)" : "1 (different people) or 0 (same person)"
    }
}

/// One row of a ``PairList``: two image paths and, when the list has the `same` column,
/// whether they show the same person.
public struct PairListEntry: Sendable, Equatable {
    /// The paths as written in the file.
    public var image1: String
    public var image2: String
    /// The paths resolved against the list's root (what is opened).
    public var path1: String
    public var path2: String
    /// `true` = same person, `false` = different people, `nil` = no label column.
    public var same: Bool?
    /// 1-based line number in the file.
    public var line: Int
}

/// A pair list that could not be read. `description` is one line: `file:line: problem`.
public struct PairListError: Error, CustomStringConvertible, Equatable, Sendable {
    public let file: String
    /// 1-based line, or nil for a problem with the whole file.
    public let line: Int?
    public let message: String

    /// When the problem is the meaning of the third column's labels, which the caller's
    /// `labelMeans` settles (a caller words it in its own terms: the CLI names `--label-means`).
    public let labelMeaning: LabelMeaningProblem?

    /// What is wrong with the meaning of a pair list's labels.
    public enum LabelMeaningProblem: Equatable, Sendable {
        /// The header names the column (`same` or `different`) the other way from the meaning given.
        case contradicted(column: String, given: PairLabelMeaning)
        /// The column is named `label` and no meaning was given.
        case unstated
    }

    public init(file: String, line: Int?, _ message: String) {
        self.file = file
        self.line = line
        self.message = message
        labelMeaning = nil
    }

    /// A problem with the labels' meaning, worded with the `labelMeans` value that settles it.
    public init(file: String, line: Int?, labelMeaning problem: LabelMeaningProblem) {
        self.file = file
        self.line = line
        labelMeaning = problem
        switch problem {
        case .contradicted(let column, let given):
            message =
                "the header names the third column \"\(column)\" but the labels' meaning given (labelMeans) is \(given.rawValue)"
        case .unstated:
            message =
                "third column is named \"label\": give what 1 means (labelMeans: same or different), or name it \"same\" (1 = same person, 0 = different people)"
        }
    }

    public var description: String {
        if let line { return "\(file):\(line): \(message)" }
        return "\(file): \(message)"
    }
}
