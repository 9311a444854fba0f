import FaceTwin
import Foundation

/// How a ``FaceServer`` serves: where it listens, its limits, whether keys are required, and how
/// photos are prepared (the CLI's `--detect`, `--faces`, `--landmarks`, `--threshold`).
public struct ServerConfiguration: Sendable {
    /// The address to listen on: a loopback address unless the server should be reachable
    /// from other machines.
    public var host = "127.0.0.1"
    /// The port (0: any free port; ``FaceServer/run(stoppingOnSignals:onRunning:)`` tells which).
    public var port = 8080
    /// Whether every request to `/v1` and `/metrics` needs one of the gallery's API keys
    /// (`Authorization: Bearer KEY`). False is allowed on loopback only (``validate()``).
    public var requireKeys = true
    /// Largest request body accepted (413 above).
    public var maxBodyBytes = 32 << 20
    /// Largest single photo accepted (413 above).
    public var maxImageBytes = 10 << 20
    /// Largest photo in pixels (width × height, from its header, before decoding; 413 above).
    public var maxImagePixels = 40_000_000
    /// Most photos in one enroll.
    public var maxPhotosPerEnroll = 32
    /// Threads that embed photos (each with its own face detector; the network runs one
    /// photo at a time, itself on all cores).
    public var workers = max(1, ProcessInfo.processInfo.activeProcessorCount)
    /// Photos that may wait for a worker before requests are refused with 503.
    public var queueLimit = 256
    /// Whether faces are found and aligned in photos, as for `facetwin verify`.
    public var detect: FaceDetectionMode = .auto
    /// What a photo with several faces gets.
    public var faces: MultiFacePolicy = .refuse
    /// dlib's 68-point landmark model, for a model that aligns with it.
    public var landmarks: String = FaceDetector.defaultLandmarkModel
    /// Overrides the model's stored threshold.
    public var threshold: Float?

    /// The defaults: loopback port 8080, keys required, a worker a core.
    public init() {}

    /// `HOST:PORT` (`[::1]:8080` for IPv6) into ``host`` and ``port``.
    public mutating func setListen(_ text: String) throws(ServerError) {
        var hostPart: Substring
        let portPart: Substring
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            hostPart = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { throw .badListen(text) }
            portPart = rest.dropFirst()
        } else {
            guard let colon = text.lastIndex(of: ":") else { throw .badListen(text) }
            hostPart = text[..<colon]
            portPart = text[text.index(after: colon)...]
            if hostPart.contains(":") { throw .badListen(text) }
        }
        hostPart = hostPart.isEmpty ? "127.0.0.1" : hostPart
        guard let port = Int(portPart), (0...65535).contains(port) else { throw .badListen(text) }
        host = String(hostPart)
        self.port = port
    }

    /// Whether `host` is a loopback address or name.
    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1"
            || host.hasPrefix("127.")
                && host.split(separator: ".").count == 4 && host.split(separator: ".").allSatisfy { UInt8($0) != nil }
    }

    /// Refuses serving without keys (``requireKeys`` false) away from loopback.
    public func validate() throws(ServerError) {
        if !requireKeys && !Self.isLoopback(host) { throw .insecureNotLoopback(host: host) }
    }
}
