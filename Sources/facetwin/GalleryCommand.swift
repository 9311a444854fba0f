import ArgumentParser
import FaceTwin
import Foundation

struct GalleryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gallery",
        abstract: "List, show, remove and rename the identities of a gallery.",
        discussion: "A gallery is made and filled by `facetwin enroll`; these commands need no model.",
        subcommands: [GalleryListCommand.self, GalleryShowCommand.self, GalleryRemoveCommand.self, GalleryRenameCommand.self]
    )
}

struct GalleryListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List the gallery's identities with their number of templates."
    )

    @Option(help: "Gallery file.")
    var gallery: String

    @Flag(help: "Print JSON.")
    var json = false

    func run() throws {
        let g = try Gallery(path: gallery)
        let identities = try g.identities()
        if json {
            struct Output: Encodable { let gallery: String; let info: GalleryInfo; let identities: [IdentitySummary] }
            GalleryText.printJSON(Output(gallery: gallery, info: g.info, identities: identities))
            return
        }
        var templates = 0
        var width = 8
        for i in identities {
            templates += i.templateCount
            width = max(width, i.name.count)
        }
        let people: String = identities.count == 1 ? "1 identity" : "\(identities.count) identities"
        let fingerprint: String = GalleryError.short(g.info.modelFingerprint)
        let created: String = GalleryText.date(g.info.createdAt)
        print("gallery \(gallery): \(people), \(GalleryText.count(templates, "template"))")
        print("model \(fingerprint) (\(g.info.modelPath)), created \(created)")
        guard !identities.isEmpty else { return }
        print("\(GalleryText.pad("identity", width))  templates  enrolled")
        for i in identities {
            let name: String = GalleryText.pad(i.name, width)
            let count: String = GalleryText.pad(String(i.templateCount), 9, right: true)
            let date: String = GalleryText.date(i.enrolledAt)
            print("\(name)  \(count)  \(date)")
        }
    }
}

struct GalleryShowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Show one identity's templates: when each photo was enrolled, its SHA-256 and path."
    )

    @Option(help: "Gallery file.")
    var gallery: String

    @Flag(help: "Print JSON (with the embeddings).")
    var json = false

    @Argument(help: "Identity name.")
    var name: String

    func run() throws {
        let g = try Gallery(path: gallery)
        let templates = try g.templates(of: name)
        if json {
            struct Output: Encodable { let gallery: String; let identity: String; let templates: [GalleryTemplate] }
            GalleryText.printJSON(Output(gallery: gallery, identity: name, templates: templates))
            return
        }
        print("\(name): \(GalleryText.count(templates.count, "template")) in \(gallery)")
        for t in templates {
            let date: String = GalleryText.date(t.enrolledAt)
            let sha: String = String(t.imageSHA256.prefix(12))
            print("  #\(t.id)  \(date)  sha256 \(sha)  \(t.imagePath)")
        }
    }
}

struct GalleryRemoveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remove",
        abstract: "Remove an identity and all its templates (deleted data is overwritten)."
    )

    @Option(help: "Gallery file.")
    var gallery: String

    @Argument(help: "Identity name.")
    var name: String

    func run() throws {
        let removed = try Gallery(path: gallery).remove(name: name)
        print("removed \(name) (\(GalleryText.count(removed, "template")))")
    }
}

struct GalleryRenameCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rename",
        abstract: "Rename an identity, keeping its templates."
    )

    @Option(help: "Gallery file.")
    var gallery: String

    @Argument(help: "Current identity name.")
    var old: String

    @Argument(help: "New identity name (not already in the gallery).")
    var new: String

    func run() throws {
        try Gallery(path: gallery).rename(old: old, new: new)
        print("renamed \(old) to \(new)")
    }
}

// MARK: - Shared by enroll, verify, identify and gallery

/// Opens a gallery bound to its model: the one given with --model, or else the one whose
/// path the gallery recorded when it was created.
func openGallery(_ gallery: String, model: String?, create: Bool) throws -> Gallery {
    if let model {
        let m = try FaceModel.load(path: model)
        return try Gallery(path: gallery, model: m, modelPath: model, mode: create ? .openOrCreate : .openExisting)
    }
    let recorded: String
    do throws(GalleryError) {
        recorded = try Gallery(path: gallery).info.modelPath
    } catch {
        if create, case .notFound(let path) = error { throw CLIError("\(path): no gallery here; give --model to create one") }
        throw error
    }
    let m: FaceModel
    do {
        m = try FaceModel.load(path: recorded)
    } catch {
        throw CLIError("\(error) (the model gallery \(gallery) was made with; pass --model)")
    }
    return try Gallery(path: gallery, model: m, modelPath: recorded, mode: .openExisting)
}

/// Output helpers of the gallery commands.
enum GalleryText {
    static func printJSON<T: Encodable>(_ value: T) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        // Encoding plain structs of strings and numbers does not fail.
        let data = (try? encoder.encode(value)) ?? Data("null".utf8)
        print(String(decoding: data, as: UTF8.self))
    }

    /// Local time to the minute.
    static func date(_ date: Date) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.dateFormat = "yyyy-MM-dd HH:mm"
        return f.string(from: date)
    }

    static func pad(_ s: String, _ width: Int, right: Bool = false) -> String {
        let fill = String(repeating: " ", count: max(0, width - s.count))
        return right ? fill + s : s + fill
    }

    /// "1 template", "5 templates".
    static func count(_ n: Int, _ noun: String) -> String {
        n == 1 ? "1 \(noun)" : "\(n) \(noun)s"
    }

    /// "min over 5 templates".
    static func templates(_ n: Int, score: MatchScore) -> String {
        "\(score.rawValue) over \(count(n, "template"))"
    }

    /// A distance with 4 decimals.
    static func distance(_ x: Float) -> String { String(format: "%.4f", Double(x)) }
}
