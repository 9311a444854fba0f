import FaceTwin
import Foundation
import Hummingbird
import Logging

/// `facetwin serve`: the gallery as an HTTP service (JSON API under /v1, a web page at /,
/// /healthz, /metrics), on Hummingbird 2.
public enum FaceTwinServer {
    /// The Hummingbird application serving `service`. `onRunning` is called with the URL the
    /// server listens on (its real port when the configuration asked for port 0).
    public static func application(
        service: FaceService, onRunning: @escaping @Sendable (String) -> Void = { _ in }
    ) -> some ApplicationProtocol {
        let c = service.configuration
        var logger = Logger(label: "facetwin-serve")
        logger.logLevel = .warning
        let host = c.host
        return Application(
            router: Routes.router(service: service),
            configuration: .init(address: .hostname(host, port: c.port), serverName: "facetwin"),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? c.port
                let shown = host.contains(":") ? "[\(host)]" : host
                onRunning("http://\(shown):\(port)/")
            },
            logger: logger)
    }

    /// Serves until SIGTERM or SIGINT: then no new connection is taken, requests in flight
    /// (an enroll's transaction among them) finish, and the workers end.
    public static func run(service: FaceService, onRunning: @escaping @Sendable (String) -> Void) async throws {
        let app = application(service: service, onRunning: onRunning)
        defer { service.shutdown() }
        try await app.runService(gracefulShutdownSignals: [.sigterm, .sigint])
    }
}
