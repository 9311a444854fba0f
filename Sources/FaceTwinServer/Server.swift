import FaceTwin
import FaceTwinPostgres
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import Synchronization

/// The HTTP service of `facetwin serve`, for a program of its own: one loaded model and its
/// gallery served as a JSON API under `/v1` (docs/openapi.yaml), a web page at `/`, `/healthz`
/// and `/metrics`, on Hummingbird 2.
///
///     var configuration = ServerConfiguration()
///     try configuration.setListen("127.0.0.1:8080")
///     let server = try FaceServer(model: "model.safetensors", gallery: "gallery.sqlite", configuration: configuration)
///     try await server.run { url in print("serving on \(url)") }
///
/// ``run(stoppingOnSignals:onRunning:)`` serves until ``stop()`` is called (or SIGTERM or
/// SIGINT arrives): then no new connection is taken, requests in flight finish (an enroll's
/// transaction among them) and the worker threads end. A server runs once.
public final class FaceServer: Sendable {
    /// How it serves (validated when the server was made).
    public let configuration: ServerConfiguration
    let service: FaceService
    private let state = Mutex(RunState.ready)

    private enum RunState {
        case ready
        case running(ServiceGroup)
        case stopRequested
        case finished
    }

    /// A server for `model` (loaded by the caller, from `modelPath`, which messages and
    /// `/v1/model` show) over `gallery`, opened writable and bound to the model (a `Gallery`
    /// file or a `PostgresGallery`). `keyReader` is a second store on the same gallery for the
    /// API key checks, so that a key check never waits behind an enroll's write; left out, an
    /// SQLite gallery gets a read-only connection of its own and any other store is shared.
    /// - Throws: ``ServerError`` (a configuration ``ServerConfiguration/validate()`` refuses, a
    ///   model that cannot prepare photos) or `GalleryError` (no threshold to judge with).
    public init(
        model: FaceModel, modelPath: String, gallery: any GalleryStore, keyReader: (any GalleryStore)? = nil,
        configuration: ServerConfiguration
    ) throws {
        try configuration.validate()
        self.configuration = configuration
        service = try FaceService(
            model: model, modelPath: modelPath, gallery: gallery, keyReader: keyReader, configuration: configuration)
    }

    /// A server for the model file at `model` over the gallery at `gallery`: an SQLite file or
    /// a `postgres://` URL (`GalleryStores`), created and bound to the model when missing, with
    /// a second connection for the key checks.
    /// - Throws: the model's load errors, `GalleryError`, ``ServerError``.
    public convenience init(model: String, gallery: String, configuration: ServerConfiguration) throws {
        try configuration.validate()
        let loaded = try FaceModel.load(path: model)
        let store = try GalleryStores.open(gallery, model: loaded, modelPath: model, mode: .openOrCreate)
        let keyReader = try GalleryStores.open(gallery)
        try self.init(model: loaded, modelPath: model, gallery: store, keyReader: keyReader, configuration: configuration)
    }

    /// Serves until ``stop()``, or SIGTERM or SIGINT when `stoppingOnSignals`; returns once the
    /// requests in flight have finished and the workers have ended. `onRunning` is called with
    /// the URL the server listens on (its real port when the configuration asked for port 0).
    /// - Throws: ``ServerError/alreadyRan`` on a second call; the listener's errors (the
    ///   address in use, …).
    public func run(stoppingOnSignals: Bool = true, onRunning: @escaping @Sendable (String) -> Void = { _ in }) async throws {
        let group = ServiceGroup(
            configuration: .init(
                services: [application(onRunning: onRunning)],
                gracefulShutdownSignals: stoppingOnSignals ? [.sigterm, .sigint] : [], logger: Self.logger))
        let stopAtOnce: Bool = try state.withLock { (state) throws(ServerError) -> Bool in
            switch state {
            case .ready:
                state = .running(group)
                return false
            case .stopRequested:
                state = .finished
                return true
            case .running, .finished:
                throw .alreadyRan
            }
        }
        defer {
            state.withLock { $0 = .finished }
            service.shutdown()
        }
        if stopAtOnce { return }
        try await group.run()
    }

    /// Asks a running server to stop (returns at once: ``run(stoppingOnSignals:onRunning:)``
    /// returns when the requests in flight have finished). Before `run`, the server will not
    /// serve at all.
    public func stop() async {
        let group: ServiceGroup? = state.withLock { state in
            switch state {
            case .running(let group): return group
            case .ready:
                state = .stopRequested
                return nil
            case .stopRequested, .finished: return nil
            }
        }
        await group?.triggerGracefulShutdown()
    }

    static let logger: Logger = {
        var logger = Logger(label: "facetwin-serve")
        logger.logLevel = .warning
        return logger
    }()

    /// The Hummingbird application serving the service (the tests drive it through
    /// HummingbirdTesting).
    func application(onRunning: @escaping @Sendable (String) -> Void = { _ in }) -> some ApplicationProtocol {
        let c = configuration
        let host = c.host
        return Application(
            router: Routes.router(service: service),
            configuration: .init(address: .hostname(host, port: c.port), serverName: "facetwin"),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? c.port
                let shown = host.contains(":") ? "[\(host)]" : host
                onRunning("http://\(shown):\(port)/")
            },
            logger: Self.logger)
    }
}
