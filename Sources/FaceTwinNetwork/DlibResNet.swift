import Foundation

/// The shape of dlib's face-recognition ResNet (`anet_type` of dlib's
/// dnn_face_recognition_ex.cpp), as the model file's `architecture` metadata records it:
/// a 7×7 stem convolution with its affine map, ReLU and max pool, then residual blocks
/// (3×3 convolution, affine, ReLU, 3×3 convolution, affine, plus the shortcut, ReLU; a block of
/// stride 2 takes its shortcut through a 2×2 average pool), a global average pool and a fully
/// connected layer without bias to the embedding.
public struct DlibResNetArchitecture: Codable, Equatable, Sendable {
    public struct Input: Codable, Equatable, Sendable {
        /// Chip side in pixels, and colour channels (3).
        public var size: Int
        public var channels: Int
        /// Mean of R, G and B (0–255) subtracted from each pixel, then multiplied by `scale`.
        public var meanRGB: [Float]
        public var scale: Float

        enum CodingKeys: String, CodingKey {
            case size, channels
            case meanRGB = "mean_rgb"
            case scale
        }
    }

    public struct Pool: Codable, Equatable, Sendable {
        public var kernel: Int
        public var stride: Int
        public var padding: Int
    }

    public struct Stem: Codable, Equatable, Sendable {
        public var kernel: Int
        public var stride: Int
        public var padding: Int
        public var out: Int
        public var pool: Pool
    }

    public struct Block: Codable, Equatable, Sendable {
        public var out: Int
        public var stride: Int
    }

    /// How chips are cut from a photo for this network (dlib's `get_face_chip_details`).
    public struct Chip: Codable, Equatable, Sendable {
        public var size: Int
        public var padding: Double
        public var landmarks: Int
    }

    public var name: String
    public var input: Input
    public var stem: Stem
    public var blocks: [Block]
    public var embedding: Int
    public var chip: Chip?
    /// A learned score head on the pair distance (``SigmoidHead``, tensors `head.0.*` and
    /// `head.1.*`), trained by `facetwin train --backbone … --head sigmoid`; nil (absent from the
    /// metadata): the distance is the score.
    public var head: HeadKind?

    /// dlib's `dlib_face_recognition_resnet_model_v1`: 150×150 chips, stem of 32, blocks of
    /// 3×32, 64 (down) + 3×64, 128 (down) + 2×128, 256 (down) + 2×256, 256 (down), 128-D.
    public static let v1 = DlibResNetArchitecture(
        name: "dlib_resnet_v1",
        input: Input(size: 150, channels: 3, meanRGB: [122.782, 117.001, 104.298], scale: 1 / 256),
        stem: Stem(kernel: 7, stride: 2, padding: 0, out: 32, pool: Pool(kernel: 3, stride: 2, padding: 0)),
        blocks: [
            (32, 1), (32, 1), (32, 1), (64, 2), (64, 1), (64, 1), (64, 1), (128, 2), (128, 1), (128, 1), (256, 2), (256, 1),
            (256, 1), (256, 2)
        ]
        .map { Block(out: $0.0, stride: $0.1) },
        embedding: 128, chip: Chip(size: 150, padding: 0.25, landmarks: 5))

    /// The same network with every width divided by `divisor` (at least 1 channel) and
    /// another input side: small instances for tests.
    public static func reduced(widthDivisor divisor: Int, inputSize: Int = 150, embedding: Int = 128) -> DlibResNetArchitecture {
        var a = v1
        a.input.size = inputSize
        a.stem.out = max(1, a.stem.out / divisor)
        a.blocks = a.blocks.map { Block(out: max(1, $0.out / divisor), stride: $0.stride) }
        a.embedding = embedding
        a.chip = nil
        return a
    }

    /// A block's convolution padding: dlib's default, kernel/2 at stride 1 and 0 otherwise.
    static func blockPadding(stride: Int) -> Int { stride == 1 ? 1 : 0 }

    /// Every tensor the network holds, name and shape, in forward order, computed without
    /// building it: what a model file must hold.
    package var stateShapes: [(name: String, shape: [Int])] {
        var out: [(String, [Int])] = [
            ("conv1.weight", [stem.out, input.channels, stem.kernel, stem.kernel]), ("conv1.bias", [stem.out]),
            ("affine1.weight", [stem.out]), ("affine1.bias", [stem.out])
        ]
        var channels = stem.out
        for (i, b) in blocks.enumerated() {
            let p = "blocks.\(i)."
            out += [
                (p + "conv1.weight", [b.out, channels, 3, 3]), (p + "conv1.bias", [b.out]),
                (p + "affine1.weight", [b.out]), (p + "affine1.bias", [b.out]),
                (p + "conv2.weight", [b.out, b.out, 3, 3]), (p + "conv2.bias", [b.out]),
                (p + "affine2.weight", [b.out]), (p + "affine2.bias", [b.out])
            ]
            channels = max(channels, b.out)
        }
        out.append(("fc.weight", [embedding, channels]))
        if head == .sigmoid {
            out += [
                ("head.0.weight", [1]), ("head.0.bias", [1]), ("head.0.running_mean", [1]), ("head.0.running_var", [1]),
                ("head.1.weight", [1, 1]), ("head.1.bias", [1])
            ]
        }
        return out
    }

    /// The sides of the maps: after the stem's pool, then after each block.
    public var sides: [Int] {
        var side = 1 + (input.size + 2 * stem.padding - stem.kernel) / stem.stride
        side = 1 + (side - stem.pool.kernel) / stem.pool.stride
        var out = [side]
        for b in blocks {
            let p = Self.blockPadding(stride: b.stride)
            let conv = 1 + (side + 2 * p - 3) / b.stride
            side = b.stride == 1 ? max(side, conv) : max(conv, 1 + (side - 2) / 2)
            out.append(side)
        }
        return out
    }

    /// Why this architecture cannot be built (a value out of the bounds FaceTwin runs, or maps
    /// that shrink below a window), or nil.
    public func problem() -> String? {
        guard input.channels == 3 else { return "input channels \(input.channels), expected 3" }
        guard (8...1024).contains(input.size) else { return "input size \(input.size) outside 8–1024" }
        guard input.meanRGB.count == 3, input.meanRGB.allSatisfy(\.isFinite) else { return "mean_rgb needs 3 finite values" }
        guard input.scale.isFinite, input.scale > 0 else { return "input scale \(input.scale) is not a positive number" }
        guard (1...15).contains(stem.kernel), (1...4).contains(stem.stride), (0..<stem.kernel).contains(stem.padding) else {
            return "stem kernel \(stem.kernel), stride \(stem.stride), padding \(stem.padding) unsupported"
        }
        guard (1...7).contains(stem.pool.kernel), (1...4).contains(stem.pool.stride), stem.pool.padding == 0 else {
            return "stem pool kernel \(stem.pool.kernel), stride \(stem.pool.stride), padding \(stem.pool.padding) unsupported"
        }
        guard (1...4096).contains(stem.out) else { return "stem width \(stem.out) outside 1–4096" }
        guard (1...64).contains(blocks.count) else { return "\(blocks.count) blocks, expected 1–64" }
        for (i, b) in blocks.enumerated() {
            guard (1...4096).contains(b.out), b.stride == 1 || b.stride == 2 else {
                return "block \(i): width \(b.out), stride \(b.stride) unsupported"
            }
        }
        guard (1...4096).contains(embedding) else { return "embedding size \(embedding) outside 1–4096" }
        let stemSide = 1 + (input.size + 2 * stem.padding - stem.kernel) / stem.stride
        guard input.size + 2 * stem.padding >= stem.kernel, stemSide >= stem.pool.kernel else {
            return "a \(input.size)-pixel input is too small for the stem"
        }
        var side = 1 + (stemSide - stem.pool.kernel) / stem.pool.stride
        // Floats of one image's activations as evaluation keeps them (each layer owns its
        // output), at most 16 M (64 MB: an embedding batch of 16 within 1 GB; dlib_resnet_v1
        // needs about 1 M).
        var activations = Double(input.size * input.size * 6) + Double(stem.out) * Double(stemSide * stemSide + side * side)
        var channels = stem.out
        for (i, b) in blocks.enumerated() {
            guard side >= (b.stride == 1 ? 1 : 3) else { return "block \(i) gets a \(side)×\(side) map, too small for it" }
            let p = Self.blockPadding(stride: b.stride)
            let conv = 1 + (side + 2 * p - 3) / b.stride
            side = b.stride == 1 ? max(side, conv) : max(conv, 1 + (side - 2) / 2)
            channels = max(channels, b.out)
            activations += Double(side * side) * Double(2 * b.out + 2 * channels)
        }
        guard activations <= Double(1 << 24) else {
            return "activations of \(Int(activations)) values an image, more than \(1 << 24)"
        }
        let parameters = stateShapes.reduce(0.0) { $0 + Double($1.shape.reduce(1, *)) }
        guard parameters <= Double(1 << 28) else { return "\(Int(parameters)) weights, more than \(1 << 28)" }
        return nil
    }

    /// Compact JSON, keys sorted: the `architecture` metadata value and the fingerprint's
    /// description of the network.
    public var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // A struct of numbers and strings always encodes.
        return (try? encoder.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? ""
    }
}

/// Why a ``DlibResNet`` cannot be built.
public enum DlibResNetError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The architecture has a ``DlibResNetArchitecture/problem()``: a value outside the bounds
    /// FaceTwin runs, or maps that shrink below a window.
    case implausibleArchitecture(String)

    public var description: String {
        switch self {
        case .implausibleArchitecture(let problem): return "implausible network architecture: \(problem)"
        }
    }
}

/// dlib's face-recognition ResNet in FaceTwin's engine: forward (evaluation and training) and
/// backward, from the layers of `Layers/`. Images come as FaceTwin prepares them (RGB planes in
/// [0, 1], a chip of `architecture.input.size`); the network scales them as dlib's
/// `input_rgb_image_sized` does: (255·v − mean) · scale per channel. The embedding is the raw
/// output of the last layer (dlib's descriptor, compared by Euclidean distance).
public final class DlibResNet {
    public let architecture: DlibResNetArchitecture

    /// One residual block: conv1 → affine1 → ReLU → conv2 → affine2, plus the shortcut (the
    /// block's input, through a 2×2 average pool at stride 2), ReLU.
    public final class Block {
        package let conv1: ZeroPaddedConv2d, affine1: ChannelAffine, relu1 = ReLU()
        package let conv2: ZeroPaddedConv2d, affine2: ChannelAffine
        package let shortcutPool: AvgPool2d?
        let add = ResidualAdd()
        let relu2 = ReLU()
        /// The gradient with respect to the block's input: the two paths' sum.
        private var gradInput: Tensor?

        init(_ cin: Int, _ out: Int, stride: Int, rng: inout some RandomNumberGenerator, initialize: Bool) {
            let p = DlibResNetArchitecture.blockPadding(stride: stride)
            conv1 = ZeroPaddedConv2d(cin, out, kernel: 3, stride: stride, padding: p, rng: &rng, initialize: initialize)
            affine1 = ChannelAffine(out)
            conv2 = ZeroPaddedConv2d(out, out, kernel: 3, stride: 1, padding: 1, rng: &rng, initialize: initialize)
            affine2 = ChannelAffine(out)
            shortcutPool = stride == 1 ? nil : AvgPool2d(kernel: 2, stride: 2)
        }

        var parameters: [(name: String, parameter: Parameter)] {
            let layers: [(String, any Layer)] = [("conv1", conv1), ("affine1", affine1), ("conv2", conv2), ("affine2", affine2)]
            return layers.flatMap { name, layer in
                layer.parameters.map { (name: "\(name).\($0.name)", parameter: $0.parameter) }
            }
        }

        package func forward(_ x: Tensor, mode: Mode) -> Tensor {
            let shortcut = shortcutPool?.forward(x, mode: mode) ?? x
            let residual: Tensor
            if mode == .evaluation {
                let t = conv1.forward(x, epilogue: ZeroPaddedConv2d.Epilogue(affine1, relu: true))
                residual = conv2.forward(t, epilogue: ZeroPaddedConv2d.Epilogue(affine2, relu: false))
            } else {
                let t = relu1.forward(affine1.forward(conv1.forward(x, mode: mode), mode: mode), mode: mode)
                residual = affine2.forward(conv2.forward(t, mode: mode), mode: mode)
            }
            return relu2.forward(add.forward(residual, shortcut), mode: mode)
        }

        func backward(_ g: Tensor, needsInputGradient: Bool) -> Tensor? {
            let (gResidual, gShortcut) = add.backward(relu2.backward(g, needsInputGradient: true)!)
            let gt = conv2.backward(affine2.backward(gResidual, needsInputGradient: true)!, needsInputGradient: true)!
            let gx1 = conv1.backward(
                affine1.backward(relu1.backward(gt, needsInputGradient: true)!, needsInputGradient: true)!,
                needsInputGradient: needsInputGradient)
            guard needsInputGradient, let gx1 else { return nil }
            let gx2 = shortcutPool?.backward(gShortcut, needsInputGradient: true)! ?? gShortcut
            // Both paths start from the block's input: their gradients have its shape.
            let gin = Tensor.reuse(gradInput, shape: gx1.shape)
            gradInput = gin
            let (a, b, d) = (gx1.pointer, gx2.pointer, gin.pointer)
            for i in 0..<gin.count { d[i] = a[i] + b[i] }
            return gin
        }
    }

    package let conv1: ZeroPaddedConv2d
    package let affine1: ChannelAffine
    let relu1 = ReLU()
    package let pool: StridedMaxPool2d
    public let blocks: [Block]
    let globalPool = GlobalAvgPool2d()
    package let fc: LinearNoBias
    /// The learned score head (``DlibResNetArchitecture/head`` sigmoid), monotone in the distance.
    public let head: SigmoidHead?
    /// The scaled input of the last forward.
    private var scaledInput: Tensor?

    /// Images embedded at once by `embed`: activations of about 4 MB a chip at 150×150.
    public static let inferenceBatch = 16

    /// A network with PyTorch-style uniform initialisation drawn from `seed` (affine maps the
    /// identity); with `seed` nil the weights are zero, for a network whose state is loaded next.
    /// Throws ``DlibResNetError/implausibleArchitecture(_:)`` when the architecture has a
    /// ``DlibResNetArchitecture/problem()``, before anything is allocated.
    public convenience init(architecture: DlibResNetArchitecture, seed: UInt64? = 0) throws(DlibResNetError) {
        if let problem = architecture.problem() { throw .implausibleArchitecture(problem) }
        self.init(checked: architecture, seed: seed)
    }

    /// The network of an architecture its caller has found without a problem (a model file's,
    /// checked before its tensors are read).
    package init(checked architecture: DlibResNetArchitecture, seed: UInt64?) {
        // An invariant of the package: every caller checks the architecture first.
        precondition(architecture.problem() == nil, architecture.problem() ?? "")
        self.architecture = architecture
        var rng = RandomSource(seed: seed ?? 0)
        let initialize = seed != nil
        let s = architecture.stem
        conv1 = ZeroPaddedConv2d(
            architecture.input.channels, s.out, kernel: s.kernel, stride: s.stride, padding: s.padding, rng: &rng,
            initialize: initialize)
        affine1 = ChannelAffine(s.out)
        pool = StridedMaxPool2d(kernel: s.pool.kernel, stride: s.pool.stride)
        var channels = s.out
        var blocks: [Block] = []
        for b in architecture.blocks {
            blocks.append(Block(channels, b.out, stride: b.stride, rng: &rng, initialize: initialize))
            channels = max(channels, b.out)
        }
        self.blocks = blocks
        fc = LinearNoBias(channels, architecture.embedding, rng: &rng, initialize: initialize)
        head =
            architecture.head == .sigmoid
            ? SigmoidHead(rng: &rng, initialize: initialize, monotone: true) : nil
        if !initialize {
            for (_, p) in namedParameters { p.value.fill(0) }
        }
    }

    /// Learnable parameters under the model file's names, in forward order.
    package var namedParameters: [(name: String, parameter: Parameter)] {
        var out = [("conv1.weight", conv1.weight), ("conv1.bias", conv1.bias)]
        out += [("affine1.weight", affine1.weight), ("affine1.bias", affine1.bias)]
        for (i, b) in blocks.enumerated() { out += b.parameters.map { ("blocks.\(i).\($0.name)", $0.parameter) } }
        out.append(("fc.weight", fc.weight))
        return out
    }

    /// The score head's parameters under their model-file names (`head.0.weight`, …).
    package var headParameters: [(name: String, parameter: Parameter)] {
        head?.parameters.map { ("head.\($0.name)", $0.parameter) } ?? []
    }

    /// Images [N, 3, S, S] with values in [0, 1] → embeddings [N, dim], a tensor the network
    /// owns and overwrites on the next call. `.evaluation` applies each affine map and ReLU as
    /// its convolution stores its outputs; `.training` keeps what `backward` needs.
    package func forward(_ images: Tensor, mode: Mode) -> Tensor {
        let size = architecture.input.size
        precondition(
            images.shape == [images.shape[0], 3, size, size], "DlibResNet expects [N, 3, \(size), \(size)], got \(images.shape)")
        let x = Tensor.reuse(scaledInput, shape: images.shape)
        scaledInput = x
        let n = images.shape[0], plane = size * size
        let mean = architecture.input.meanRGB, scale = architecture.input.scale
        for i in 0..<(n * 3) {
            let (m, src, dst) = (mean[i % 3], images.pointer + i * plane, x.pointer + i * plane)
            for j in 0..<plane { dst[j] = (src[j] * 255 - m) * scale }
        }
        var h: Tensor
        if mode == .evaluation {
            h = conv1.forward(x, epilogue: ZeroPaddedConv2d.Epilogue(affine1, relu: true))
        } else {
            h = relu1.forward(affine1.forward(conv1.forward(x, mode: mode), mode: mode), mode: mode)
        }
        h = pool.forward(h, mode: mode)
        for block in blocks { h = block.forward(h, mode: mode) }
        return fc.forward(globalPool.forward(h, mode: mode), mode: mode)
    }

    /// The backward of the last `.training` forward, from the gradient with respect to its
    /// embeddings: adds into every parameter's gradient, and returns the gradient with respect to
    /// the images (in [0, 1]) with `needsInputGradient`.
    @discardableResult
    public func backward(_ gradEmbeddings: Tensor, needsInputGradient: Bool = false) -> Tensor? {
        var g = globalPool.backward(fc.backward(gradEmbeddings, needsInputGradient: true)!, needsInputGradient: true)!
        for block in blocks.reversed() { g = block.backward(g, needsInputGradient: true)! }
        g = pool.backward(g, needsInputGradient: true)!
        g = affine1.backward(relu1.backward(g, needsInputGradient: true)!, needsInputGradient: true)!
        guard let gx = conv1.backward(g, needsInputGradient: needsInputGradient) else { return nil }
        // x = (255·v − mean) · scale
        let factor = 255 * architecture.input.scale, d = gx.pointer
        for i in 0..<gx.count { d[i] *= factor }
        return gx
    }

    /// Embeddings of `count` prepared images (flat [count × 3 × S × S] values in [0, 1]), in
    /// batches. Returns [count × dim] row-major.
    public func embed(pixels: UnsafeBufferPointer<Float>, count: Int, batchSize: Int = DlibResNet.inferenceBatch) -> [Float] {
        let size = architecture.input.size, imageSize = 3 * size * size, dim = architecture.embedding
        precondition(pixels.count >= count * imageSize)
        var result = [Float](repeating: 0, count: count * dim)
        var start = 0
        var batch: Tensor? = nil
        while start < count {
            let n = min(max(1, batchSize), count - start)
            let input = Tensor.reuse(batch, shape: [n, 3, size, size])
            batch = input
            input.pointer.update(from: pixels.baseAddress! + start * imageSize, count: n * imageSize)
            let emb = forward(input, mode: .evaluation)
            result.withUnsafeMutableBufferPointer {
                $0.baseAddress!.advanced(by: start * dim).update(from: emb.pointer, count: n * dim)
            }
            start += n
        }
        return result
    }
}
