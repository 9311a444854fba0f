import FaceTwin
import Foundation

/// What `facetwin serve` serves: one loaded model and its gallery, the workers that embed
/// photos, and the metrics. Everything blocking (decoding, detection, the network, the
/// gallery's SQLite or PostgreSQL calls) runs on the service's own threads; the handlers only
/// wait for them. (Unchecked: `GalleryStore` is not `Sendable`, yet both stores guard their own
/// connections, `Gallery` in GRDB's queue and `PostgresGallery` in its pool, so they may be
/// called from any thread; the rest is immutable or a class of its own guarded by a lock.)
final class FaceService: @unchecked Sendable {
    let configuration: ServerConfiguration
    let model: FaceModel
    let modelPath: String
    let gallery: any GalleryStore
    let verifier: Verifier
    /// The keys' own connection, so a key check never waits behind an enroll's write.
    let keyReader: any GalleryStore
    /// The key checks' thread (one: it owns `keyReader`), so they neither block the event loop
    /// nor queue behind photos.
    let keyWorker: WorkerPool<Void>
    let pipeline: PhotoPipeline
    let workers: WorkerPool<FacePreparer?>
    let metrics: ServerMetrics
    let thresholdMethod: String

    /// Loads nothing itself: `model` is loaded and `gallery` opened (writable, bound to the
    /// model) by the caller. `keyReader` is a second connection to the same gallery for the key
    /// checks (for an SQLite gallery, left out: a read-only connection is opened here).
    /// - Throws: ``ServerError`` or ``GalleryError`` (no threshold, no landmark model).
    init(
        model: FaceModel, modelPath: String, gallery: any GalleryStore, keyReader: (any GalleryStore)? = nil,
        configuration: ServerConfiguration
    ) throws {
        self.configuration = configuration
        self.model = model
        self.modelPath = modelPath
        self.gallery = gallery
        verifier = try Verifier(gallery: gallery, threshold: configuration.threshold)
        thresholdMethod =
            configuration.threshold != nil ? "--threshold" : (model.info.thresholdMethod ?? "stored in the model")
        if let keyReader {
            self.keyReader = keyReader
        } else if gallery is Gallery {
            self.keyReader = try Gallery(path: gallery.path)
        } else {
            self.keyReader = gallery
        }
        keyWorker = WorkerPool(name: "facetwin-keys", count: 1, queueLimit: max(64, configuration.queueLimit)) {}
        pipeline = PhotoPipeline(model: model, maxPixels: configuration.maxImagePixels)
        // Checked here, on this thread, so a model that cannot prepare photos fails the start.
        let first = try Self.preparer(for: model, modelPath: modelPath, configuration: configuration)
        let made = FirstThenMore(first) { try? Self.preparer(for: model, modelPath: modelPath, configuration: configuration) }
        workers = WorkerPool(name: "facetwin-embed", count: configuration.workers, queueLimit: configuration.queueLimit) {
            made.next()
        }
        metrics = ServerMetrics()
    }

    /// Ends the workers after the jobs already queued.
    func shutdown() {
        workers.shutdown()
        keyWorker.shutdown()
    }

    /// The face preparation the CLI's `--detect`, `--faces` and `--landmarks` give (each worker
    /// has its own: dlib's detector serializes its calls).
    static func preparer(for model: FaceModel, modelPath: String, configuration c: ServerConfiguration) throws(ServerError)
        -> FacePreparer?
    {
        if model.resnet != nil, model.landmarkModel != nil || c.detect != .never {
            guard let bytes = model.landmarkModel else { throw .noLandmarks(model: modelPath) }
            return FacePreparer(chipsWith: bytes, modelName: "landmarks.shape_predictor_5", mode: c.detect, policy: c.faces)
        }
        let landmarks = c.landmarks
        return FacePreparer(
            for: model.info, mode: c.detect, policy: c.faces,
            detector: { () throws(FaceDetectionError) in try FaceDetector(landmarkModel: landmarks) })
    }

    /// The threshold verify, identify and compare judge with.
    var threshold: Float { verifier.threshold }

    // MARK: Work

    /// Embeds one photo on a worker, then runs `then` there with the result.
    func withEmbedding<T: Sendable>(
        _ photo: UploadedPhoto, crop: Bool, then: @escaping @Sendable (EmbeddedPhoto) throws -> T
    ) async throws -> T {
        try checkSize(photo)
        let pipeline = self.pipeline
        return try await workers.run { preparer in
            let embedded: EmbeddedPhoto
            do throws(ImageError) {
                embedded = try pipeline.embed(photo, preparer: preparer, wantCrop: crop)
            } catch {
                throw ServerError.image(error)
            }
            return try then(embedded)
        }
    }

    /// Embeds photos on the workers, in parallel, each result or its image error in order.
    func embedAll(_ photos: [UploadedPhoto], crop: Bool) async throws -> [Result<EmbeddedPhoto, ImageError>] {
        for p in photos { try checkSize(p) }
        let pipeline = self.pipeline
        return try await withThrowingTaskGroup(of: (Int, Result<EmbeddedPhoto, ImageError>).self) { group in
            for (i, photo) in photos.enumerated() {
                group.addTask {
                    try await (
                        i,
                        self.workers.run { preparer in
                            do throws(ImageError) {
                                return .success(try pipeline.embed(photo, preparer: preparer, wantCrop: crop))
                            } catch {
                                return .failure(error)
                            }
                        }
                    )
                }
            }
            var results = [Result<EmbeddedPhoto, ImageError>?](repeating: nil, count: photos.count)
            for try await (i, r) in group { results[i] = r }
            return results.map { $0! }
        }
    }

    /// Runs blocking gallery work on a worker.
    func onWorker<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await workers.run { _ in try body() }
    }

    func checkSize(_ photo: UploadedPhoto) throws(ServerError) {
        if photo.bytes.count > configuration.maxImageBytes {
            throw .photoTooLarge(name: photo.name, bytes: photo.bytes.count, limit: configuration.maxImageBytes)
        }
    }

    /// The key's name and role, or nil for a key the gallery does not have (looked up in the
    /// gallery at every request, on the key thread: a revoked key is refused at once).
    func authenticate(_ key: String) async throws -> APIKeySummary? {
        let reader = UncheckedStore(keyReader)
        return try await keyWorker.run { _ in try reader.store.authenticate(key: key) }
    }
}

/// A store handed to the key thread, which alone uses it (unchecked: `GalleryStore` is not
/// `Sendable`).
struct UncheckedStore: @unchecked Sendable {
    let store: any GalleryStore
    init(_ store: any GalleryStore) { self.store = store }
}

/// Hands out `first` once, then what `more` makes: the first worker's preparer is the one
/// checked at start-up. (Unchecked `Sendable`: `first` is guarded by the lock; `more` makes a
/// new value for each worker that asks, from immutable inputs.)
final class FirstThenMore<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var first: T?
    private let more: () -> T

    init(_ first: T, more: @escaping () -> T) {
        self.first = first
        self.more = more
    }

    func next() -> T {
        lock.lock()
        if let f = first {
            first = nil
            lock.unlock()
            return f
        }
        lock.unlock()
        return more()
    }
}
