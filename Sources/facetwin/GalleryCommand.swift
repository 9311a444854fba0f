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
            try printJSON(Output(gallery: gallery, info: g.info, identities: identities))
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
            try printJSON(Output(gallery: gallery, identity: name, templates: templates))
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
        let removed = try Gallery(path: gallery, forWriting: true).remove(name: name)
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
        try Gallery(path: gallery, forWriting: true).rename(old: old, new: new)
        print("renamed \(old) to \(new)")
    }
}
