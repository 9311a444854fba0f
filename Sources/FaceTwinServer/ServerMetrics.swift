import Foundation
import Prometheus
import Synchronization

/// The server's Prometheus metrics (swift-prometheus, a registry of its own, so several servers
/// in one process — the tests — do not share counts): requests by route, method and status,
/// request latency by route, photos embedded, and the gallery's size (read at each scrape).
final class ServerMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    /// Each route's request counter (by method and status) and latency histogram, made on first use.
    private let made = Mutex<(counters: [String: Counter], histograms: [String: DurationHistogram])>(([:], [:]))
    let identities: Gauge
    let templates: Gauge
    let photos: Counter
    let waiting: Gauge

    static let buckets: [Duration] = [
        .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
        .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10)
    ]

    init() {
        identities = registry.makeGauge(
            descriptor: MetricNameDescriptor(
                namespace: "facetwin", metricName: "gallery_identities", unitName: "count",
                helpText: "Identities in the gallery"))
        templates = registry.makeGauge(
            descriptor: MetricNameDescriptor(
                namespace: "facetwin", metricName: "gallery_templates", unitName: "count",
                helpText: "Templates (enrolled photos) in the gallery"))
        photos = registry.makeCounter(
            descriptor: MetricNameDescriptor(
                namespace: "facetwin", metricName: "photos_embedded", unitName: "total",
                helpText: "Photos decoded, aligned and embedded"))
        waiting = registry.makeGauge(
            descriptor: MetricNameDescriptor(
                namespace: "facetwin", metricName: "photos_waiting", unitName: "count",
                helpText: "Photos waiting for a worker"))
    }

    /// Counts a request and records its duration.
    func record(route: String, method: String, status: Int, duration: Duration) {
        let key = "\(route) \(method) \(status)"
        let (counter, histogram) = made.withLock { made in
            let counter =
                made.counters[key]
                ?? registry.makeCounter(
                    descriptor: MetricNameDescriptor(
                        namespace: "facetwin", metricName: "http_requests", unitName: "total",
                        helpText: "HTTP requests by route, method and status"),
                    labels: [("route", route), ("method", method), ("status", String(status))])
            made.counters[key] = counter
            let histogram =
                made.histograms[route]
                ?? registry.makeDurationHistogram(
                    descriptor: MetricNameDescriptor(
                        namespace: "facetwin", metricName: "http_request_duration", unitName: "seconds",
                        helpText: "HTTP request latency by route"),
                    labels: [("route", route)], buckets: Self.buckets)
            made.histograms[route] = histogram
            return (counter, histogram)
        }
        counter.increment()
        histogram.record(duration)
    }

    /// The Prometheus text exposition.
    func text() -> String { registry.emitToString() }
}
