/// The shape of a siamese network and how its input is prepared. The defaults are the reference
/// recipe: 100×100 grayscale input, CNN channels 1→4→8→8, fully connected 80 000→500→500→5.
public struct NetworkConfig: Codable, Equatable, Sendable {
    public var inputHeight: Int
    public var inputWidth: Int
    /// Output channels of each [ReflectionPad2d(1), Conv2d 3×3, ReLU, BatchNorm2d] block.
    public var channels: [Int]
    /// Widths of the hidden fully connected layers.
    public var hidden: [Int]
    public var embeddingSize: Int
    /// Whether pixel values are inverted (1 − x) before the network sees them.
    public var invert: Bool

    public init(inputHeight: Int = 100, inputWidth: Int = 100, channels: [Int] = [4, 8, 8],
                hidden: [Int] = [500, 500], embeddingSize: Int = 5, invert: Bool = false) {
        self.inputHeight = inputHeight
        self.inputWidth = inputWidth
        self.channels = channels
        self.hidden = hidden
        self.embeddingSize = embeddingSize
        self.invert = invert
    }

    /// The reference recipe's network.
    public static let reference = NetworkConfig()

    /// Features entering the first fully connected layer: last channels × H × W.
    public var flatFeatures: Int { (channels.last ?? 1) * inputHeight * inputWidth }
}
