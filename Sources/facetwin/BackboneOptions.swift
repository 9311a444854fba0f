import ArgumentParser
import FaceTwin
import Foundation

/// `--backbone MODEL [--freeze-backbone]` of `train`: start the twin from a trained model.
struct BackboneOptions: ParsableArguments {
    @Option(
        help:
            "A FaceTwin model file (or a PyTorch state dict of the same architecture) whose twin this run starts from: its architecture and weights; the score head (--head) starts fresh. --size and --color must describe its input."
    )
    var backbone: String?

    @Flag(
        help:
            "Keep the backbone as it is and train only the score head (needs --head sigmoid); without it the backbone is fine-tuned."
    )
    var freezeBackbone = false

    func validate() throws {
        if freezeBackbone, backbone == nil { throw ValidationError("--freeze-backbone goes with --backbone MODEL") }
    }

    /// The run's configuration and the backbone's network: `config` (from the recipe options)
    /// when there is no backbone, else the backbone's with `config`'s head.
    func resolve(_ config: NetworkConfig) throws -> (NetworkConfig, SiameseNetwork?) {
        guard let backbone else { return (config, nil) }
        let model = try FaceModel.load(path: backbone)
        guard let network = model.siamese else {
            throw CLIError("\(backbone): holds dlib's ResNet; --backbone takes a FaceTwin twin model")
        }
        network.thaw()
        let b = model.config
        func input(_ c: NetworkConfig) -> String { "\(c.inputWidth)x\(c.inputHeight) \(c.isColor ? "colour" : "grey")" }
        guard b.inputWidth == config.inputWidth, b.inputHeight == config.inputHeight, b.inputChannels == config.inputChannels
        else {
            throw CLIError(
                "\(backbone): the backbone takes \(input(b)) input, the options ask for \(input(config)) input (give --size and --color to match)"
            )
        }
        if freezeBackbone, config.head == .distance {
            throw CLIError("--freeze-backbone with --head distance leaves nothing to train; give --head sigmoid")
        }
        var c = b
        c.head = config.head
        c.monotoneHead = config.monotoneHead
        return (c, network)
    }
}
