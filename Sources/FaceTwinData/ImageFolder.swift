import Dispatch

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A face dataset laid out as `root/<identity>/<image>`, decoded once and kept
/// in memory as network-ready floats.
///
/// This is the layout of ORL and of every "folder per person" dataset, and of
/// `torchvision.datasets.ImageFolder`. Everything the training and evaluation
/// code needs is computed here, once: each image is decoded with
/// ``ImageDecoder``, resized with Pillow-exact `Resize/bilinear(_:width:height:)`
/// and scaled to [0, 1], so an epoch never touches the disk and a Swift run
/// sees the same inputs as the PyTorch reference.
///
/// Rules, chosen so that a mistake in the data is loud rather than silently
/// changing results:
/// - Identities are the subdirectories of `root`, in natural order (`s2` before
///   `s10`); labels index ``identities``. Hidden directories (`.git`) are ignored.
/// - In an identity folder, files ending in `.pgm`, `.ppm`, `.pnm`, `.pam`, `.png`, `.jpg`, `.jpeg` or `.webp` (decoded by their first bytes, not the name)
///   (any case) are images, loaded in natural order. Everything else (hidden
///   files such as `.DS_Store`, `README.txt`, subfolders), and any non-folder
///   entry at the root, is skipped and counted in ``skippedFiles``.
/// - An image file that fails to decode throws; it is not skipped.
/// - With a preparer (``ImagePreparing``: face detection and alignment), an image without a usable face
///   is a failure to acquire: left out and listed in ``failedToAcquire``. An identity can then
///   hold fewer than 2 images (``attemptedByLabel`` keeps how many it had).
/// - Every loaded identity needs at least 2 images (a same-identity pair), and at
///   least 2 identities must remain (a different-identity pair).
/// - `only` and `excluding` must name existing identity folders; a typo in a
///   holdout list would otherwise leak the held-out people into training.
public struct ImageFolder: Sendable {
    /// The folder the dataset was loaded from, as given.
    public let root: String
    /// Width of every stored image (the network input width).
    public let width: Int
    /// Height of every stored image.
    public let height: Int
    /// Channels of every stored image: 1 (grey) or 3 (RGB planes; grey files replicated).
    public let channels: Int
    /// Whether pixels were stored inverted (`1 - x`).
    public let invert: Bool
    /// Whether each image was standardised (mean 0, standard deviation 1) after that.
    public let standardize: Bool
    /// Fraction of each side cut off before the resize (``GrayImage/inset(_:)``).
    public let inset: Double
    /// Loaded identity names (folder names), natural order; `labels` index this.
    public let identities: [String]
    /// All images, contiguous: image `i` is `pixels[i*imageSize ..< (i+1)*imageSize]`,
    /// channel planes one after the other, each row-major, values in [0, 1].
    public let pixels: [Float]
    /// The identity of each image, an index into ``identities``.
    public let labels: [Int]
    /// The file of each image.
    public let paths: [String]
    /// For each label, the indices of its images, ascending.
    public let imagesByLabel: [[Int]]
    /// Entries ignored while scanning (non-image files, hidden files, subfolders).
    public let skippedFiles: Int
    /// With a preparer: the images without a usable face, left out, in load order.
    public let failedToAcquire: [ImageError]
    /// Images found for each label, those that failed to acquire included.
    public let attemptedByLabel: [Int]
    /// The size every image had as decoded (before preparation), nil when sizes varied.
    public let sourceSize: ImageSize?
    /// What prepared each image before resizing (face detection and alignment), nil for images
    /// taken as given.
    public let preparer: (any ImagePreparing)?

    /// Number of images.
    public var count: Int { labels.count }

    /// Floats per image (`channels * height * width`).
    public var imageSize: Int { channels * height * width }

    /// The stored floats of image `index` (a view into ``pixels``, no copy).
    public func image(at index: Int) -> ArraySlice<Float> {
        pixels[index * imageSize..<(index + 1) * imageSize]
    }

    /// Image file extensions that are loaded, lower-cased.
    public static let imageExtensions: Set<String> = FolderListing.imageExtensions

    /// Scans `root`, decodes every image (in parallel across cores) and stores it
    /// resized to `width × height`.
    ///
    /// - Parameters:
    ///   - only: load just these identities (e.g. one fold); unknown names throw.
    ///   - excluding: leave these identities out (e.g. a holdout); unknown names throw.
    ///   - maxPixels: per-image decode limit, see ``ImageDecoder/decode(path:maxPixels:)``.
    /// - Throws: ``DatasetError`` naming the folder or file at fault. Which error
    ///   is reported does not depend on thread scheduling: when several images fail,
    ///   the first in load order is named.
    public init(
        root: String, width: Int = 100, height: Int = 100, channels: Int = 1, invert: Bool = false,
        standardize: Bool = false, only: Set<String>? = nil, excluding: Set<String> = [],
        maxPixels: Int = ImageDecoder.defaultMaxPixels, preparer: (any ImagePreparing)? = nil, inset: Double = 0
    ) throws(DatasetError) {
        guard width > 0, height > 0, channels == 1 || channels == 3 else {
            throw .invalidImageSize(root: root, width: width, height: height)
        }
        let listing = try FolderListing(root)
        // At the root, identity folders count; hidden folders are ignored, any other entry skipped.
        let folders = listing.folders.map(\.name)
        var skipped = listing.entries.count - folders.count + listing.hidden.filter { !$0.isDirectory }.count

        let known = Set(folders)
        let unknown = (only ?? []).union(excluding).subtracting(known)
        if !unknown.isEmpty {
            throw .unknownIdentities(root: root, names: NaturalOrder.sorted(unknown))
        }
        let selected = folders.filter { (only?.contains($0) ?? true) && !excluding.contains($0) }
        if selected.count < 2 { throw .tooFewIdentities(root: root, count: selected.count) }

        var paths: [String] = []
        var labels: [Int] = []
        var byLabel: [[Int]] = []
        for (label, identity) in selected.enumerated() {
            let folder = FolderListing.join(root, identity)
            let contents = try FolderListing(folder)
            let images = contents.images.map(\.path)
            skipped += contents.entries.count + contents.hidden.count - images.count
            if images.count < 2 { throw .tooFewImages(folder: folder, count: images.count) }
            byLabel.append(Array(paths.count..<paths.count + images.count))
            for path in images {
                paths.append(path)
                labels.append(label)
            }
        }

        let decoded = try Self.decodeAll(
            paths, width: width, height: height, channels: channels, invert: invert, standardize: standardize,
            maxPixels: maxPixels, preparer: preparer, inset: inset)

        let sizes = Set(decoded.sizes)
        let failed = decoded.failures.compactMap { $0 }
        var keptPixels = decoded.pixels, keptLabels = labels, keptPaths = paths, keptByLabel = byLabel
        if !failed.isEmpty {
            let size = channels * width * height
            keptPixels = []
            keptLabels = []
            keptPaths = []
            keptByLabel = [[Int]](repeating: [], count: selected.count)
            keptPixels.reserveCapacity(decoded.pixels.count)
            for i in paths.indices where decoded.failures[i] == nil {
                keptByLabel[labels[i]].append(keptPaths.count)
                keptPaths.append(paths[i])
                keptLabels.append(labels[i])
                keptPixels += decoded.pixels[i * size..<(i + 1) * size]
            }
        }
        self.init(
            root: root, width: width, height: height, channels: channels, invert: invert, standardize: standardize,
            inset: inset, identities: selected, pixels: keptPixels, labels: keptLabels, paths: keptPaths,
            imagesByLabel: keptByLabel, skippedFiles: skipped, failedToAcquire: failed,
            attemptedByLabel: byLabel.map(\.count), sourceSize: sizes.count == 1 ? sizes.first : nil,
            preparer: preparer)
    }

    /// A folder from its parts (the scan above, and ``splitting(off:)``).
    private init(
        root: String, width: Int, height: Int, channels: Int, invert: Bool, standardize: Bool, inset: Double,
        identities: [String], pixels: [Float], labels: [Int], paths: [String], imagesByLabel: [[Int]],
        skippedFiles: Int, failedToAcquire: [ImageError], attemptedByLabel: [Int], sourceSize: ImageSize?,
        preparer: (any ImagePreparing)?
    ) {
        self.root = root
        self.width = width
        self.height = height
        self.channels = channels
        self.invert = invert
        self.standardize = standardize
        self.inset = inset
        self.identities = identities
        self.pixels = pixels
        self.labels = labels
        self.paths = paths
        self.imagesByLabel = imagesByLabel
        self.skippedFiles = skippedFiles
        self.failedToAcquire = failedToAcquire
        self.attemptedByLabel = attemptedByLabel
        self.sourceSize = sourceSize
        self.preparer = preparer
    }

    /// Decodes, prepares, resizes and normalizes every file into one contiguous array (the
    /// slots of failures to acquire left at 0), with each file's decoded size.
    /// Each worker writes only its own image's slice, so the result does not
    /// depend on scheduling; errors are kept per image and the first is thrown.
    static func decodeAll(
        _ paths: [String], width: Int, height: Int, channels: Int, invert: Bool, standardize: Bool,
        maxPixels: Int, preparer: (any ImagePreparing)?, inset: Double
    ) throws(DatasetError) -> (pixels: [Float], sizes: [ImageSize], failures: [ImageError?]) {
        let size = channels * width * height
        var pixels = [Float](repeating: 0, count: paths.count * size)
        var errors = [ImageError?](repeating: nil, count: paths.count)
        var sizes = [ImageSize](repeating: ImageSize(width: 0, height: 0), count: paths.count)
        pixels.withUnsafeMutableBufferPointer { pixels in
            errors.withUnsafeMutableBufferPointer { errors in
                sizes.withUnsafeMutableBufferPointer { sizes in
                    // Not checked by the compiler: image i writes only element i of each buffer.
                    nonisolated(unsafe) let (pixels, errors, sizes) = (pixels, errors, sizes)
                    DispatchQueue.concurrentPerform(iterations: paths.count) { i in
                        do throws(ImageError) {
                            let slot = UnsafeMutableBufferPointer(rebasing: pixels[i * size..<(i + 1) * size])
                            let decoded = try ImageDecoder.decodeImage(
                                path: paths[i], maxPixels: maxPixels, keepColor: channels == 3)
                            var gray = decoded.gray
                            var rgb = channels == 3 ? decoded.rgb : nil
                            sizes[i] = ImageSize(width: gray.width, height: gray.height)
                            if let preparer {
                                let p = try preparer.prepared(gray, rgb: rgb, path: paths[i])
                                (gray, rgb) = (p.gray, p.rgb)
                            }
                            if let rgb {
                                let input = Resize.networkInput(rgb.inset(inset), width: width, height: height, invert: invert)
                                _ = slot.update(fromContentsOf: input)
                            } else {
                                let resized = Resize.bilinear(gray.inset(inset), width: width, height: height)
                                resized.writeNormalized(into: slot, invert: invert)
                            }
                            if standardize { Standardization.apply(slot.baseAddress!, count: slot.count) }
                        } catch {
                            errors[i] = error
                        }
                    }
                }
            }
        }
        if let first = errors.lazy.compactMap({ $0 }).first(where: { !$0.isFailureToAcquire }) { throw .image(first) }
        return (pixels, sizes, errors)
    }

    /// The folder part of `path` (everything before its last "/").
    private static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "" }
        return String(path[..<slash])
    }
}

extension ImageFolder {
    /// The identities a validation split of `share` would hold out of this folder:
    /// `share` of them (rounded, at least 2), drawn by a Fisher–Yates shuffle seeded with
    /// `seed`, in natural order. Empty when `share` is 0 or when fewer than 2 identities would
    /// be left to train on.
    public func validationIdentities(share: Double, seed: UInt64) -> [String] {
        guard share > 0 else { return [] }
        let k = max(2, Int((share * Double(identities.count)).rounded()))
        guard identities.count - k >= 2 else { return [] }
        var order = identities
        var rng = RandomSource(seed: seed)
        for i in stride(from: order.count - 1, to: 0, by: -1) {
            order.swapAt(i, Int(rng.next() % UInt64(i + 1)))
        }
        return NaturalOrder.sorted(Array(order.prefix(k)))
    }

    /// This folder without the identities `held`, and those identities alone, made from the
    /// images in memory (nothing is read again). Each keeps the folder's order; `held` must
    /// name loaded identities and leave at least 2 on each side.
    package func splitting(off held: Set<String>) -> (rest: ImageFolder, held: ImageFolder) {
        precondition(held.isSubset(of: identities), "held identities must be loaded ones")
        precondition(held.count >= 2 && identities.count - held.count >= 2, "each side needs 2 identities")
        return (subset { !held.contains($0) }, subset { held.contains($0) })
    }

    /// The identities for which `keep` holds, with their images.
    private func subset(_ keep: (String) -> Bool) -> ImageFolder {
        var pixels: [Float] = [], labels: [Int] = [], paths: [String] = [], byLabel: [[Int]] = [], names: [String] = []
        var attempted: [Int] = []
        for (label, name) in identities.enumerated() where keep(name) {
            attempted.append(attemptedByLabel[label])
            byLabel.append(Array(paths.count..<paths.count + imagesByLabel[label].count))
            for i in imagesByLabel[label] {
                pixels += image(at: i)
                labels.append(names.count)
                paths.append(self.paths[i])
            }
            names.append(name)
        }
        let folders = Set(names.map { FolderListing.join(root, $0) })
        let failed = failedToAcquire.filter { folders.contains(Self.parent(of: $0.path)) }
        return ImageFolder(
            root: root, width: width, height: height, channels: channels, invert: invert, standardize: standardize,
            inset: inset, identities: names, pixels: pixels, labels: labels, paths: paths, imagesByLabel: byLabel,
            skippedFiles: skippedFiles, failedToAcquire: failed, attemptedByLabel: attempted, sourceSize: sourceSize,
            preparer: preparer)
    }
}

/// What prepares a decoded image before it is resized, such as FaceTwinDetection's
/// `FacePreparer` (a face detected and aligned): the grey image and, when the image is kept in
/// colour, its colour planes, prepared alike; `path` names the file in errors.
public protocol ImagePreparing: Sendable {
    func prepared(_ gray: GrayImage, rgb: RGBImage?, path: String) throws(ImageError) -> PreparedImage
}

/// A decoded image as an ``ImagePreparing`` left it: its grey image and, when kept in colour,
/// its colour planes (prepared alike).
public struct PreparedImage: Sendable {
    public var gray: GrayImage
    public var rgb: RGBImage?

    public init(gray: GrayImage, rgb: RGBImage?) {
        self.gray = gray
        self.rgb = rgb
    }
}
