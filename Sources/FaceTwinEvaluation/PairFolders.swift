import Foundation

/// Pair folders: the layout of the Keras siamese recipe.
///
/// ```
/// root/annos.csv        a header naming a `label` column, then one row a pair folder
/// root/0000/a.jpg       the pair's two images (any supported format: a.png, b.pgm, …)
/// root/0000/b.jpg
/// root/0001/…
/// ```
///
/// The `label` column gives, row by row in the sorted order of the pair folders (by name, as
/// Python's `sorted` orders them: byte by byte, so `10` before `2`; zero-padded names avoid
/// the question), 1 for a similar pair (the same person) and 0 for a different one, unless
/// `labelMeans` says 1 means different. Other columns are ignored. Hidden entries and files
/// at the root other than `annos.csv` are not pair folders.
///
/// Every problem is a ``PairListError`` naming `annos.csv` (with its line when a row is at
/// fault) or the pair folder.
extension PairList {
    public static let annotationsFile = "annos.csv"

    public init(pairFolders root: String, labelMeans: PairLabelMeaning = .same) throws(PairListError) {
        let annos = Self.resolve(Self.annotationsFile, root: root)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root, isDirectory: &isDirectory) else {
            throw PairListError(file: root, line: nil, "not found")
        }
        guard isDirectory.boolValue else { throw PairListError(file: root, line: nil, "not a folder of pair folders") }
        let data: Data
        do {
            data = try InputFile.read(annos)
        } catch {
            let reason = FileManager.default.fileExists(atPath: annos) ? "cannot read: \(error.message)" : "file not found"
            throw PairListError(file: annos, line: nil, reason)
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw PairListError(file: annos, line: nil, "not UTF-8 text")
        }

        // The label column, row by row.
        var labels: [(value: String, line: Int)] = []
        var labelColumn: Int? = nil
        var lineNumber = 0
        for (line, number) in Self.lines(of: text) {
            lineNumber = number
            if line.trimmingCharacters(in: .whitespaces).isEmpty { continue }
            let fields = try Self.fields(of: line, file: annos, line: lineNumber)
            guard let column = labelColumn else {
                guard let k = fields.firstIndex(where: { $0.lowercased() == "label" }) else {
                    throw PairListError(file: annos, line: lineNumber, "the header has no \"label\" column")
                }
                labelColumn = k
                continue
            }
            guard column < fields.count else {
                throw PairListError(file: annos, line: lineNumber, "row has \(fields.count) columns, no \"label\" value")
            }
            labels.append((fields[column], lineNumber))
        }
        guard labelColumn != nil else { throw PairListError(file: annos, line: nil, "empty (expected a header with \"label\")") }

        // Pair folders pair with the label rows in byte order of their names.
        let names: [String]
        do {
            names = try FolderListing(root).folders.map(\.name)
                .sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
        } catch {
            throw PairListError(file: root, line: nil, "cannot list: \(Self.listingProblem(error))")
        }
        guard !names.isEmpty else { throw PairListError(file: root, line: nil, "no pair folders") }
        guard names.count == labels.count else {
            let line = labels.count > names.count ? labels[names.count].line : nil
            throw PairListError(
                file: annos, line: line,
                "\(labels.count) label row\(labels.count == 1 ? "" : "s") for \(names.count) pair folder\(names.count == 1 ? "" : "s") in \(root)"
            )
        }

        var pairs: [PairListEntry] = []
        for (name, label) in zip(names, labels) {
            guard let same = labelMeans.isSame(label.value) else {
                throw PairListError(
                    file: annos, line: label.line, "label \"\(label.value)\" of pair folder \(name) is not \(labelMeans.allowed)")
            }
            let folder = Self.resolve(name, root: root)
            let images = try Self.pairImages(in: folder, annos: annos, line: label.line)
            pairs.append(
                PairListEntry(
                    image1: name + "/" + images.a, image2: name + "/" + images.b, path1: Self.resolve(images.a, root: folder),
                    path2: Self.resolve(images.b, root: folder), same: same, line: label.line))
        }
        self.init(pairs: pairs, file: annos, root: root)
    }

    /// Why a folder cannot be listed, without its path (the error names it).
    private static func listingProblem(_ error: DatasetError) -> String {
        switch error {
        case .unreadableDirectory(_, let reason): reason
        case .notADirectory: "not a directory"
        case .rootNotFound: "not found"
        default: error.description
        }
    }

    /// The names of `a.<ext>` and `b.<ext>` in a pair folder (an image extension, any case).
    private static func pairImages(in folder: String, annos: String, line: Int) throws(PairListError) -> (a: String, b: String) {
        let entries: [String]
        do { entries = try FolderListing(folder).entries.map(\.name) } catch {
            throw PairListError(file: folder, line: nil, "cannot list: \(Self.listingProblem(error))")
        }
        func find(_ stem: String) throws(PairListError) -> String {
            let found = entries.filter { name in
                let url = URL(fileURLWithPath: name)
                return url.deletingPathExtension().lastPathComponent.lowercased() == stem
                    && ImageFormat.fileExtensions.contains(url.pathExtension.lowercased())
            }
            guard found.count == 1 else {
                throw PairListError(
                    file: annos, line: line,
                    found.isEmpty
                        ? "pair folder \(folder) has no image \(stem).jpg (or .png, .pgm, …)"
                        : "pair folder \(folder) has \(found.count) images named \(stem).*: \(found.sorted().joined(separator: ", "))"
                )
            }
            return found[0]
        }
        return (try find("a"), try find("b"))
    }
}
