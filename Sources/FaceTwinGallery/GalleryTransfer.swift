import Foundation
import GRDB

/// A gallery's templates as a CSV file, to compare them with other tools and to move them
/// between galleries (`facetwin gallery export` and `gallery import`).
///
/// The file:
///
///     # facetwin gallery export, model fingerprint <hex>, dimension <d>
///     identity,path,sha256,e0,e1,…,e<d-1>
///     alice,alice/1.pgm,<sha256 hex>,0.0123456789,…
///
/// Identity and path are written with `CSV/field(_:)` (quoted when they hold a comma, quote or
/// line break; a leading apostrophe before a character a spreadsheet reads as a formula, which
/// reading drops again); the values as `%.9g`, which gives every Float32 back exactly.
public struct TemplateExport: Sendable {
    /// One template of the file.
    public struct Row: Sendable, Equatable {
        public let identity: String
        public let imagePath: String
        public let imageSHA256: String
        public let embedding: [Float]
        /// The file's line the row starts on.
        public let line: Int

        public init(identity: String, imagePath: String, imageSHA256: String, embedding: [Float], line: Int) {
            self.identity = identity
            self.imagePath = imagePath
            self.imageSHA256 = imageSHA256
            self.embedding = embedding
            self.line = line
        }
    }

    /// The file, as given.
    public let path: String
    /// ``FaceModel/fingerprint`` of the model that made the templates.
    public let modelFingerprint: String
    /// Values per embedding.
    public let dimension: Int
    public let rows: [Row]

    /// Templates not read from a file (a copy from another gallery, generated ones); `path`
    /// names where they come from, for messages.
    public init(path: String, modelFingerprint: String, dimension: Int, rows: [Row]) {
        self.path = path
        self.modelFingerprint = modelFingerprint
        self.dimension = dimension
        self.rows = rows
    }

    /// Largest file ``read(path:maxBytes:)`` reads: 1 GiB.
    public static let maxBytes = 1 << 30

    static let commentPrefix = "# facetwin gallery export, model fingerprint "

    /// The first line of an export of templates made by the model of fingerprint `fingerprint`.
    static func comment(fingerprint: String, dimension: Int) -> String {
        commentPrefix + fingerprint + ", dimension \(dimension)"
    }

    static func header(dimension: Int) -> String {
        (["identity", "path", "sha256"] + (0..<dimension).map { "e\($0)" }).joined(separator: ",")
    }

    /// Reads and checks an export: its first line, its header, and every row (column count,
    /// identity name, SHA-256, finite values), before anything is written anywhere.
    /// - Throws: ``GalleryError/badExport(file:line:problem:)`` naming the first bad line;
    ///   ``GalleryError/file(_:)`` when the file cannot be read or is larger than `maxBytes`.
    public static func read(path: String, maxBytes: Int = maxBytes) throws(GalleryError) -> TemplateExport {
        let data: Data
        do { data = try InputFile.read(path, maxBytes: maxBytes) } catch { throw .file(error) }
        let bytes = [UInt8](data)
        var reader = RecordReader(bytes: bytes, path: path)
        func bad(_ line: Int, _ problem: String) -> GalleryError { .badExport(file: path, line: line, problem: problem) }

        guard let (first, _) = try reader.physicalLine() else { throw bad(1, "empty file") }
        let expected = "\"# facetwin gallery export, model fingerprint <hex>, dimension <d>\""
        guard first.hasPrefix(commentPrefix), let comma = first.range(of: ", dimension ", options: .backwards) else {
            throw bad(1, "not a facetwin gallery export (the first line is not \(expected))")
        }
        let fingerprint = String(first[first.index(first.startIndex, offsetBy: commentPrefix.count)..<comma.lowerBound])
        guard !fingerprint.isEmpty, fingerprint.allSatisfy(\.isHexDigit) else {
            throw bad(1, "the model fingerprint is not hexadecimal")
        }
        let dimensionText = first[comma.upperBound...]
        guard let dimension = Int(dimensionText), NetworkConfig.limits.embedding.contains(dimension) else {
            throw bad(1, "dimension \"\(dimensionText)\" is not a possible embedding size")
        }
        guard let (header, headerLine) = try reader.physicalLine() else { throw bad(2, "no header line") }
        guard header == Self.header(dimension: dimension) else {
            throw bad(headerLine, "the header is not identity,path,sha256,e0,…,e\(dimension - 1)")
        }

        var rows: [Row] = []
        let columns = 3 + dimension
        while let (fields, line) = try reader.record() {
            if fields.count == 1, fields[0].isEmpty { continue }  // a blank line
            guard fields.count == columns else {
                throw bad(line, "\(fields.count) columns, expected \(columns) (identity, path, sha256 and \(dimension) values)")
            }
            let identity = Gallery.normalized(Self.unescaped(fields[0]))
            do throws(GalleryError) {
                try Gallery.validate(name: identity)
            } catch {
                if case .invalidName(let name, let reason) = error {
                    throw bad(line, "invalid identity name \"\(name)\": \(reason)")
                }
                throw error
            }
            let imagePath = Self.unescaped(fields[1])
            guard !imagePath.isEmpty else { throw bad(line, "empty path") }
            let sha = fields[2].lowercased()
            guard sha.count == 64, sha.allSatisfy(\.isHexDigit) else {
                throw bad(line, "the sha256 column is not 64 hexadecimal digits")
            }
            var embedding: [Float] = []
            embedding.reserveCapacity(dimension)
            for c in 0..<dimension {
                let text = fields[3 + c]
                guard let value = Float(text) else { throw bad(line, "e\(c) is not a number: \"\(text.prefix(40))\"") }
                guard value.isFinite else { throw bad(line, "e\(c) is not finite: \(text.prefix(40))") }
                embedding.append(value)
            }
            rows.append(Row(identity: identity, imagePath: imagePath, imageSHA256: sha, embedding: embedding, line: line))
        }
        return TemplateExport(path: path, modelFingerprint: fingerprint.lowercased(), dimension: dimension, rows: rows)
    }

    /// Refuses templates made by another model than `model`: `target` names what they were to
    /// go into ("model m.safetensors", "gallery g.sqlite"), for the message.
    public func check(model: FaceModel, target: String) throws(GalleryError) {
        guard modelFingerprint == model.fingerprint || modelFingerprint == model.weightsFingerprint else {
            throw .exportModelMismatch(
                file: path, fileFingerprint: modelFingerprint, target: target, targetFingerprint: model.fingerprint)
        }
    }

    /// A cell as ``CSV/field(_:)`` wrote it, without the apostrophe it puts before a leading
    /// formula character.
    static func unescaped(_ s: String) -> String {
        guard s.hasPrefix("'"), let second = s.unicodeScalars.dropFirst().first,
            ["=", "+", "-", "@", "\t", "\r"].contains(second)
        else { return s }
        return String(s.dropFirst())
    }

    /// RFC 4180 records over bytes: quoted fields may hold commas, quotes (`""`) and line
    /// breaks; each record knows the line it starts on.
    struct RecordReader {
        let bytes: [UInt8]
        let path: String
        var position = 0
        var line = 1

        init(bytes: [UInt8], path: String) {
            self.bytes = bytes
            self.path = path
            if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { position = 3 }  // a byte-order mark
        }

        /// The next line as it is (no quoting), without its line break.
        mutating func physicalLine() throws(GalleryError) -> (String, Int)? {
            guard position < bytes.count else { return nil }
            let start = position
            while position < bytes.count, bytes[position] != 0x0A { position += 1 }
            var end = position
            if end > start, bytes[end - 1] == 0x0D { end -= 1 }
            if position < bytes.count { position += 1 }
            let number = line
            line += 1
            return (try text(bytes[start..<end], line: number), number)
        }

        /// The next record's fields, or nil at the end of the file.
        mutating func record() throws(GalleryError) -> ([String], Int)? {
            guard position < bytes.count else { return nil }
            let number = line
            var fields: [String] = []
            var current: [UInt8] = []
            var quoted = false
            var afterQuote = false
            while position < bytes.count {
                let b = bytes[position]
                position += 1
                if quoted {
                    if b == 0x22 {
                        if position < bytes.count, bytes[position] == 0x22 {
                            current.append(0x22)
                            position += 1
                        } else {
                            quoted = false
                            afterQuote = true
                        }
                    } else {
                        if b == 0x0A { line += 1 }
                        current.append(b)
                    }
                    continue
                }
                switch b {
                case 0x2C:
                    fields.append(try text(current[...], line: number))
                    current = []
                    afterQuote = false
                case 0x0A:
                    line += 1
                    if current.last == 0x0D, !afterQuote { current.removeLast() }
                    fields.append(try text(current[...], line: number))
                    return (fields, number)
                case 0x22 where current.isEmpty && !afterQuote:
                    quoted = true
                default:
                    if afterQuote {
                        if b == 0x0D, position < bytes.count, bytes[position] == 0x0A { continue }
                        throw .badExport(file: path, line: line, problem: "text after a closing quote")
                    }
                    current.append(b)
                }
            }
            if quoted { throw .badExport(file: path, line: number, problem: "unterminated quote") }
            fields.append(try text(current[...], line: number))
            return (fields, number)
        }

        func text(_ slice: ArraySlice<UInt8>, line: Int) throws(GalleryError) -> String {
            guard let s = String(validating: slice, as: UTF8.self) else {
                throw .badExport(file: path, line: line, problem: "not UTF-8 text")
            }
            return s
        }
    }
}

/// What an import did.
public struct ImportReport: Sendable, Equatable, Codable {
    /// Templates added.
    public let imported: Int
    /// Rows whose identity already had a template of the same SHA-256 (in the gallery or
    /// earlier in the file): left out.
    public let duplicates: Int
    /// Identities the import created, in the file's order.
    public let newIdentities: [String]

    /// (`package`: the PostgreSQL store's batched import makes one too.)
    package init(imported: Int, duplicates: Int, newIdentities: [String]) {
        self.imported = imported
        self.duplicates = duplicates
        self.newIdentities = newIdentities
    }
}

extension Gallery {
    /// Adds an export's templates in one transaction: all of them or, on any error, none.
    /// A row whose identity already has a template of the same SHA-256 is left out and counted.
    /// - Throws: ``GalleryError/exportModelMismatch(file:fileFingerprint:target:targetFingerprint:)``
    ///   when the templates were made by another model than the gallery's;
    ///   ``GalleryError/badExport(file:line:problem:)`` for another dimension.
    public func importTemplates(_ export: TemplateExport) throws(GalleryError) -> ImportReport {
        try checkImport(export)
        let now = Date()
        return try write { db in try export.write(into: SQLiteWrites(db: db), at: now) }
    }
}
