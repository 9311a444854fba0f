import ArgumentParser
import FaceTwin
import FaceTwinPostgres
import FaceTwinServer
import Foundation

struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the gallery over HTTP: a JSON API under /v1, a web page at /, /healthz and /metrics.",
        discussion: """
            One model is loaded for every request; photos are embedded on worker threads and never \
            stored (only templates are). Every request to /v1 and /metrics needs an API key \
            (Authorization: Bearer KEY; facetwin keys add makes one) unless --insecure-no-keys, \
            which is allowed on loopback only. SIGTERM or SIGINT stops it gracefully: requests in \
            flight finish. The API is described at /v1/openapi.yaml (docs/openapi.yaml).
            """
    )

    @Option(help: "Model file.")
    var model: String

    @Option(
        help:
            "Gallery: an SQLite file or a postgres:// URL (created, bound to the model, when missing; several servers may share a PostgreSQL gallery)."
    )
    var gallery: String

    @Option(help: "Address and port to listen on, HOST:PORT (port 0: any free port).")
    var listen = "127.0.0.1:8080"

    @Flag(help: "Serve without API keys (loopback addresses only).")
    var insecureNoKeys = false

    @Option(help: "Threads that embed photos (default: one a core).")
    var workers: Int?

    @Option(help: "Largest request body in MiB.")
    var maxBodyMib = 32

    @Option(help: "Largest photo in MiB.")
    var maxPhotoMib = 10

    @OptionGroup var thresholdOption: ThresholdOption
    @OptionGroup var detectOptions: DetectOptionsGroup

    func validate() throws {
        if let workers, !(1...64).contains(workers) {
            throw ValidationError("--workers must be between 1 and 64 (got \(workers))")
        }
        guard (1...1024).contains(maxBodyMib), (1...1024).contains(maxPhotoMib) else {
            throw ValidationError("--max-body-mib and --max-photo-mib must be between 1 and 1024")
        }
    }

    func run() throws {
        do {
            try serve()
        } catch let error as ServerError {
            throw Self.inFlags(error)
        }
    }

    /// The server's start-up errors in this command's words (its flags).
    static func inFlags(_ error: ServerError) -> any Error {
        switch error {
        case .badListen(let text):
            return CLIError("--listen: expected HOST:PORT with a port from 0 to 65535 (got \"\(text)\")")
        case .insecureNotLoopback(let host):
            return CLIError(
                "--insecure-no-keys serves without keys on loopback only (127.0.0.1, ::1, localhost), not on \(host)")
        case .noLandmarks(let model):
            return CLIError(
                "\(model): the model file carries no landmark model (landmarks.shape_predictor_5) to align photos with: "
                    + "convert it again with facetwin import-dlib, or give --detect never for images that are chips already")
        default:
            return error
        }
    }

    func serve() throws {
        var c = ServerConfiguration()
        try c.setListen(listen)
        c.requireKeys = !insecureNoKeys
        try c.validate()
        if let workers { c.workers = workers }
        c.maxBodyBytes = maxBodyMib << 20
        c.maxImageBytes = maxPhotoMib << 20
        c.detect = detectOptions.detect
        c.faces = detectOptions.faces
        c.landmarks = detectOptions.landmarks
        c.threshold = thresholdOption.threshold

        let m = try FaceModel.load(path: model)
        let g = try GalleryStores.open(gallery, model: m, modelPath: model, mode: .openOrCreate)
        // The key checks' own connection (read-only for an SQLite file).
        let keyReader = try GalleryStores.open(gallery)
        let server = try FaceServer(model: m, modelPath: model, gallery: g, keyReader: keyReader, configuration: c)
        let keys = try g.keys().count
        let gallery = g.path  // a URL without its password
        if c.requireKeys && keys == 0 {
            printError(
                "facetwin: warning: \(gallery) has no API keys yet: every request will be refused until facetwin keys add makes one"
            )
        }
        let keysNote = c.requireKeys ? "API keys required" : "no API keys"
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var failure: (any Error)? = nil
        Task {
            do {
                try await server.run { url in
                    printError("facetwin: serving \(gallery) on \(url) (\(keysNote))")
                }
            } catch {
                failure = error
            }
            done.signal()
        }
        done.wait()
        if let failure { throw CLIError("cannot serve on \(listen): \(failure)") }
    }
}
