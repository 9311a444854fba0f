import Foundation

/// Why a trained model cannot start a run as its backbone. Values are named as they are (input
/// sizes, the scale), never as command-line options: the caller words them for its users.
public enum BackboneError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The twin backbone takes `backbone` input (e.g. "16x16 colour"), the run's configuration
    /// asks for `run`.
    case inputMismatch(backbone: String, run: String)
    /// The twin backbone's layers (channels, widths, pooling, …) are not the run's.
    case layersMismatch
    /// A frozen backbone with the distance as the score: no parameter is left to train.
    case nothingToTrain
    /// The backbone's learning rate as a share of the run's is outside (0, 1].
    case learningRateScale(Float)
    /// The model is not of the kind the trainer fine-tunes (`expected`: "dlib's ResNet" or
    /// "a FaceTwin twin").
    case wrongKind(expected: String)

    public var description: String {
        switch self {
        case .inputMismatch(let b, let r): return "the backbone takes \(b) input, the run asks for \(r) input"
        case .layersMismatch: return "the backbone's layers are not the ones the run's configuration describes"
        case .nothingToTrain: return "a frozen backbone scored by the distance leaves nothing to train (a sigmoid head would)"
        case .learningRateScale(let s): return "the backbone's learning-rate scale \(s) is outside (0, 1]"
        case .wrongKind(let expected): return "the backbone is not \(expected)"
        }
    }
}

/// The rules a backbone and a run must agree on.
public enum Backbone {
    /// "WxH colour" or "WxH grey".
    static func inputText(_ c: NetworkConfig) -> String {
        "\(c.inputWidth)x\(c.inputHeight) \(c.isColor ? "colour" : "grey")"
    }

    /// The configuration of a run that starts from the twin `backbone`: the backbone's, with
    /// `run`'s score head. The input sizes and colour must agree; a frozen backbone needs a head.
    public static func twinConfiguration(backbone b: NetworkConfig, run: NetworkConfig, freeze: Bool) throws(BackboneError)
        -> NetworkConfig
    {
        guard b.inputWidth == run.inputWidth, b.inputHeight == run.inputHeight, b.inputChannels == run.inputChannels else {
            throw .inputMismatch(backbone: inputText(b), run: inputText(run))
        }
        if freeze, run.head == .distance { throw .nothingToTrain }
        var c = b
        c.head = run.head
        c.monotoneHead = run.monotoneHead
        return c
    }

    /// Checks the options of a run on dlib's ResNet with score `head`.
    public static func checkResNet(head: HeadKind, options: TrainingOptions) throws(BackboneError) {
        if options.freezeBackbone, head == .distance { throw .nothingToTrain }
        let s = options.backboneLearningRateScale
        guard s > 0, s <= 1 else { throw .learningRateScale(s) }
    }
}
