import ArgumentParser
import FaceTwin
import Foundation

/// `--backbone MODEL [--freeze-backbone] [--backbone-lr-scale S]` of `train` and `crossval`:
/// start from a trained model: a FaceTwin twin, or dlib's pretrained ResNet (fine-tuned, or
/// frozen under a trained sigmoid head).
struct BackboneOptions: ParsableArguments {
    @Option(
        help:
            "A model file the run starts from: a FaceTwin twin (its architecture and weights; --size and --color must describe its input) or dlib's ResNet (fine-tuned on its chips). The score head (--head) starts fresh."
    )
    var backbone: String?

    @Flag(
        help:
            "Keep the backbone as it is and train only the score head (needs --head sigmoid; dlib's ResNet embeds every image once); without it the backbone is fine-tuned."
    )
    var freezeBackbone = false

    @Option(help: "dlib's ResNet: its learning rate as a share of --lr, the head's (default 0.01).")
    var backboneLrScale: Float?

    func validate() throws {
        if freezeBackbone, backbone == nil { throw ValidationError("--freeze-backbone goes with --backbone MODEL") }
        if backboneLrScale != nil, backbone == nil { throw ValidationError("--backbone-lr-scale goes with --backbone MODEL") }
    }

    /// What the run starts from.
    enum Resolved {
        /// No backbone: the recipe's configuration.
        case none(NetworkConfig)
        /// A twin: the run's configuration (the backbone's, with the options' head) and its network.
        case twin(NetworkConfig, SiameseNetwork)
        /// dlib's ResNet, fine-tuned (or frozen) with the options' head.
        case resnet(FaceModel, HeadKind)
    }

    /// The backbone, loaded and checked against `group`'s options.
    func resolve(_ group: TrainingOptionsGroup) throws -> Resolved {
        let config = try group.networkConfig()
        guard let backbone else { return .none(config) }
        let model = try FaceModel.load(path: backbone)
        if model.resnet != nil {
            let given = group.twinLayerOptions
            if !given.isEmpty {
                throw CLIError(
                    "\(backbone): holds dlib's ResNet, which has its own layers and input; \(given.joined(separator: ", ")) describe a twin's (leave them out)"
                )
            }
            do {
                try Backbone.checkResNet(head: group.head, options: resNetOptions(group, seed: 0))
            } catch {
                throw Self.cliError(error, path: backbone)
            }
            return .resnet(model, group.head)
        }
        guard let network = model.siamese else { throw CLIError("\(backbone): not a model a run can start from") }
        network.thaw()
        do {
            return .twin(
                try Backbone.twinConfiguration(backbone: model.config, run: config, freeze: freezeBackbone), network)
        } catch {
            throw Self.cliError(error, path: backbone)
        }
    }

    /// The training options of a run on dlib's ResNet: its fine-tuning defaults
    /// (``TrainingOptions/resNetFineTuning``) with the options given.
    func resNetOptions(_ group: TrainingOptionsGroup, seed: UInt64) -> TrainingOptions {
        var o = group.trainingOptions(seed: seed, base: TrainingOptions.resNetFineTuning)
        o.freezeBackbone = freezeBackbone
        o.backboneLearningRateScale = backboneLrScale ?? o.backboneLearningRateScale
        return o
    }

    /// The library's backbone error in the options' words.
    static func cliError(_ e: BackboneError, path: String) -> CLIError {
        switch e {
        case .inputMismatch(let b, let r):
            return CLIError(
                "\(path): the backbone takes \(b) input, the options ask for \(r) input (give --size and --color to match)")
        case .nothingToTrain:
            return CLIError("--freeze-backbone with --head distance leaves nothing to train; give --head sigmoid")
        case .learningRateScale(let s):
            return CLIError("--backbone-lr-scale must be above 0 and at most 1 (got \(s))")
        case .layersMismatch, .wrongKind:
            return CLIError("\(path): \(e.description)")
        }
    }
}
