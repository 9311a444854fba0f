import ArgumentParser
import FaceTwin
import FaceTwinPostgres
import Foundation

extension KeyRole: ExpressibleByArgument {}

struct KeysCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Add, list and revoke the API keys of `facetwin serve`, stored (as SHA-256 hashes) in the gallery.",
        discussion: """
            Roles: verify (verify, identify, compare, model info), enroll (also enroll, list and show \
            identities), admin (also rename and delete identities).
            """,
        subcommands: [KeysAddCommand.self, KeysListCommand.self, KeysRevokeCommand.self]
    )
}

struct KeysAddCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add",
        abstract: "Make a key and print it, once: the gallery keeps only its hash."
    )

    @Option(help: "Gallery: an SQLite file or a postgres:// URL (created with --model when missing).")
    var gallery: String

    @Option(help: "The model of a new gallery.")
    var model: String?

    @Option(help: "What the key may do: admin, enroll or verify.")
    var role: KeyRole

    @Argument(help: "The key's name (who or what uses it).")
    var name: String

    func run() throws {
        let g: any GalleryStore
        if let model {
            g = try openGallery(gallery, model: model, create: true)
        } else {
            do throws(GalleryError) {
                g = try GalleryStores.open(gallery, forWriting: true)
            } catch {
                if case .notFound(let path) = error { throw CLIError("\(path): no gallery here; give --model to create one") }
                throw error
            }
        }
        let key = try g.addKey(name: name, role: role)
        print(key)
        printError("facetwin: key \"\(name)\" (\(role.rawValue)) added to \(gallery); it is shown only this once")
    }
}

struct KeysListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List the gallery's keys: names, roles, dates (never the keys)."
    )

    @Option(help: "Gallery: an SQLite file or a postgres:// URL.")
    var gallery: String

    @Flag(help: "Print JSON.")
    var json = false

    func run() throws {
        let keys = try GalleryStores.open(gallery).keys()
        if json {
            try printJSON(keys)
            return
        }
        print("gallery \(gallery): \(GalleryText.count(keys.count, "key"))")
        guard !keys.isEmpty else { return }
        let width = max(4, keys.map(\.name.count).max() ?? 0)
        print("\(GalleryText.pad("name", width))  role    created")
        for k in keys {
            let name: String = GalleryText.pad(k.name, width)
            let role: String = GalleryText.pad(k.role.rawValue, 6)
            let date: String = GalleryText.date(k.createdAt)
            print("\(name)  \(role)  \(date)")
        }
    }
}

struct KeysRevokeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revoke",
        abstract: "Delete a key: requests with it are refused from then on."
    )

    @Option(help: "Gallery: an SQLite file or a postgres:// URL.")
    var gallery: String

    @Argument(help: "The key's name.")
    var name: String

    func run() throws {
        try GalleryStores.open(gallery, forWriting: true).revokeKey(name: name)
        print("revoked key \(name)")
    }
}
