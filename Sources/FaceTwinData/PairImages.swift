/// Labelled image pairs decoded once and kept in memory as network-ready floats: the training
/// and validation data of a pair dataset (pair folders or a pair CSV), as ``ImageFolder`` is
/// for identity folders. An image used by several pairs is decoded and stored once.
public struct PairImages: Sendable {
    /// What the pairs were read from (a pair CSV, or a pair folder root's `annos.csv`).
    public let source: String
    public let width: Int
    public let height: Int
    public let channels: Int
    public let invert: Bool
    public let standardize: Bool
    /// Every distinct image file, in order of first use; `pixels` holds them in this order.
    public let paths: [String]
    /// Image `i` is `pixels[i*imageSize ..< (i+1)*imageSize]` (channel planes, row-major).
    public let pixels: [Float]
    /// Pair `k` is images `first[k]` and `second[k]`; `same[k]` whether they show one person.
    public let first: [Int]
    public let second: [Int]
    public let same: [Bool]

    public var count: Int { same.count }
    public var imageSize: Int { channels * height * width }

    /// Decodes the images of `pairs` (resolved paths) and prepares them as ``ImageFolder`` does
    /// (size, channels, inversion, standardisation, inset; with `preparer`, through face
    /// detection or dlib's chips first). Throws the first image that fails, as ``ImageFolder``
    /// does; with `preparer`, an image without a usable face too (a pair cannot be trained on
    /// with one image).
    public init(
        source: String, pairs: [(path1: String, path2: String, same: Bool)], width: Int, height: Int, channels: Int = 1,
        invert: Bool = false, standardize: Bool = false, inset: Double = 0, preparer: (any ImagePreparing)? = nil
    ) throws(DatasetError) {
        var index: [String: Int] = [:]
        var paths: [String] = []
        var first: [Int] = [], second: [Int] = []
        func slot(_ path: String) -> Int {
            if let known = index[path] { return known }
            index[path] = paths.count
            paths.append(path)
            return paths.count - 1
        }
        for pair in pairs {
            first.append(slot(pair.path1))
            second.append(slot(pair.path2))
        }
        let decoded = try ImageFolder.decodeAll(
            paths, width: width, height: height, channels: channels, invert: invert, standardize: standardize,
            maxPixels: ImageDecoder.defaultMaxPixels, preparer: preparer, inset: inset
        )
        if let failure = decoded.failures.lazy.compactMap({ $0 }).first { throw .image(failure) }
        pixels = decoded.pixels
        self.source = source
        self.width = width
        self.height = height
        self.channels = channels
        self.invert = invert
        self.standardize = standardize
        self.paths = paths
        self.first = first
        self.second = second
        same = pairs.map(\.same)
    }

    /// How many pairs show the same person.
    public var genuineCount: Int { same.filter { $0 }.count }
}
