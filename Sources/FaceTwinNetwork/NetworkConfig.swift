/// The shape of a siamese network and how its input is prepared. The memberwise defaults are the
/// reference recipe: 100×100 grayscale input in [0, 1], CNN channels 1→4→8→8 without pooling,
/// fully connected 80 000→500→500→5, raw embeddings. `NetworkConfig.default` is the default
/// recipe's network.
public struct NetworkConfig: Codable, Equatable, Sendable {
    /// Input channels: 1 (grey) or 3 (RGB planes, as torchvision's `ToTensor` lays them out).
    public var inputChannels: Int
    public var inputHeight: Int
    public var inputWidth: Int
    /// Output channels of each [ReflectionPad2d(1), Conv2d 3×3, ReLU, BatchNorm2d] block.
    public var channels: [Int]
    /// Widths of the hidden fully connected layers.
    public var hidden: [Int]
    public var embeddingSize: Int
    /// Whether pixel values are inverted (1 − x) before the network sees them.
    public var invert: Bool
    /// Max pooling after each block over `pool` × `pool` windows (0: none, as in the reference).
    public var pool: Int
    /// Each image standardised to mean 0 and standard deviation 1 before the network sees it.
    public var standardize: Bool
    /// Embeddings L2-normalised and scaled to this length (nil: raw, as in the reference).
    public var embeddingScale: Float?
    /// Whether an image's embedding is the mean of its own and its mirror image's (evaluation only).
    public var mirrorAverage: Bool
    /// Fraction of each side of an image cut off before it is resized to the input (nil: none):
    /// the network then sees the face without the crop's outer border, where the background
    /// of a photo differs most from the training crops' (``GrayImage/inset(_:)``).
    public var inputInset: Double?
    /// What a pair's score is: the distance, or a learned sigmoid of it (`SigmoidHead`).
    public var head: HeadKind
    /// Whether the sigmoid head's γ and w are the softplus of their stored parameters, so its
    /// score rises with the distance by construction (``SigmoidHead``). True for every head
    /// FaceTwin trains; false for a file that does not record it (the plain PyTorch head).
    public var monotoneHead: Bool

    public init(
        inputHeight: Int = 100, inputWidth: Int = 100, channels: [Int] = [4, 8, 8],
        hidden: [Int] = [500, 500], embeddingSize: Int = 5, invert: Bool = false,
        pool: Int = 0, standardize: Bool = false, embeddingScale: Float? = nil, mirrorAverage: Bool = false,
        inputInset: Double? = nil, inputChannels: Int = 1, head: HeadKind = .distance
    ) {
        self.inputInset = inputInset
        self.inputChannels = inputChannels
        self.head = head
        self.monotoneHead = true
        self.inputHeight = inputHeight
        self.inputWidth = inputWidth
        self.channels = channels
        self.hidden = hidden
        self.embeddingSize = embeddingSize
        self.invert = invert
        self.pool = pool
        self.standardize = standardize
        self.embeddingScale = embeddingScale
        self.mirrorAverage = mirrorAverage
    }

    /// The reference recipe's network (the classic PyTorch ORL tutorial).
    public static let reference = NetworkConfig()

    /// The default recipe's network: standardised 64×64 input, four blocks of 16, 32, 64 and
    /// 64 channels each followed by 2×2 max pooling (64 → 4 pixels a side), one linear layer
    /// from the 1024 pooled features to a 64-dimensional embedding on the unit sphere, and the
    /// mirror image averaged in at evaluation. 70 k weights, against the reference's 40 M.
    public static let `default` = NetworkConfig(
        inputHeight: 64, inputWidth: 64, channels: [16, 32, 64, 64], hidden: [],
        embeddingSize: 64, pool: 2, standardize: true, embeddingScale: 1,
        mirrorAverage: true)

    /// Whether the network takes colour (three channels).
    public var isColor: Bool { inputChannels == 3 }

    /// Floats of one prepared image: channels × height × width.
    public var imageSize: Int { inputChannels * inputHeight * inputWidth }

    /// Height and width of the CNN's output maps.
    public var featureHeight: Int { pooledSide(inputHeight) }
    public var featureWidth: Int { pooledSide(inputWidth) }

    private func pooledSide(_ side: Int) -> Int {
        guard pool > 1 else { return side }
        var s = side
        for _ in channels { s /= pool }
        return s
    }

    /// Features entering the first fully connected layer: last channels × the output maps' size.
    public var flatFeatures: Int { (channels.last ?? 1) * featureHeight * featureWidth }

    private enum CodingKeys: String, CodingKey {
        case inputChannels, inputHeight, inputWidth, channels, hidden, embeddingSize, invert, pool, standardize, embeddingScale,
            mirrorAverage, head, inputInset, monotoneHead
    }

    /// Model files written before pooling, standardisation, normalisation, mirror averaging and
    /// colour input existed have none of those keys: they are grey reference-style networks.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        inputChannels = try c.decodeIfPresent(Int.self, forKey: .inputChannels) ?? 1
        inputHeight = try c.decode(Int.self, forKey: .inputHeight)
        inputWidth = try c.decode(Int.self, forKey: .inputWidth)
        channels = try c.decode([Int].self, forKey: .channels)
        hidden = try c.decode([Int].self, forKey: .hidden)
        embeddingSize = try c.decode(Int.self, forKey: .embeddingSize)
        invert = try c.decodeIfPresent(Bool.self, forKey: .invert) ?? false
        pool = try c.decodeIfPresent(Int.self, forKey: .pool) ?? 0
        standardize = try c.decodeIfPresent(Bool.self, forKey: .standardize) ?? false
        embeddingScale = try c.decodeIfPresent(Float.self, forKey: .embeddingScale)
        mirrorAverage = try c.decodeIfPresent(Bool.self, forKey: .mirrorAverage) ?? false
        head = try c.decodeIfPresent(HeadKind.self, forKey: .head) ?? .distance
        monotoneHead = head == .sigmoid ? try c.decodeIfPresent(Bool.self, forKey: .monotoneHead) ?? false : true
        inputInset = try c.decodeIfPresent(Double.self, forKey: .inputInset)
    }

    /// Keys that keep their default (grey input, distance head, no inset) are not written, so
    /// the files of networks without them stay byte for byte what they were.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        if inputChannels != 1 { try c.encode(inputChannels, forKey: .inputChannels) }
        try c.encode(inputHeight, forKey: .inputHeight)
        try c.encode(inputWidth, forKey: .inputWidth)
        try c.encode(channels, forKey: .channels)
        try c.encode(hidden, forKey: .hidden)
        try c.encode(embeddingSize, forKey: .embeddingSize)
        try c.encode(invert, forKey: .invert)
        try c.encode(pool, forKey: .pool)
        try c.encode(standardize, forKey: .standardize)
        try c.encodeIfPresent(embeddingScale, forKey: .embeddingScale)
        try c.encode(mirrorAverage, forKey: .mirrorAverage)
        if head != .distance { try c.encode(head, forKey: .head) }
        if head == .sigmoid { try c.encode(monotoneHead, forKey: .monotoneHead) }
        try c.encodeIfPresent(inputInset, forKey: .inputInset)
    }
}
