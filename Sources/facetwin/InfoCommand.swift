import ArgumentParser
import FaceTwin
import Foundation

struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Show a model file's configuration, training facts and threshold."
    )

    @Option(help: "Model file.")
    var model: String

    func run() throws {
        if let file = try? SafeTensorsFile(path: model), let lines = DlibResNetInfo.lines(file) {
            for line in lines { print(line) }
            return
        }
        let m = try FaceModel.load(path: model)
        let c = m.config, info = m.info
        print("model: \(model)")
        print(
            "input: \(c.inputWidth)x\(c.inputHeight) \(c.isColor ? "colour (RGB)" : "grayscale")\(c.invert ? ", inverted" : "")\(c.standardize ? ", standardised per image" : "")\(c.inputInset.map { String(format: ", %.0f %% of each side cut off first", 100 * $0) } ?? "")"
        )
        let pooling = c.pool > 1 ? " each max-pooled \(c.pool)x\(c.pool)" : ""
        let embedding = c.embeddingScale.map { ", L2-normalised to length \($0)" } ?? ""
        print(
            "network: cnn channels \(c.channels.map(String.init).joined(separator: ","))\(pooling), fc \(([c.flatFeatures] + c.hidden + [c.embeddingSize]).map(String.init).joined(separator: "→"))\(embedding)\(c.mirrorAverage ? ", mirror-averaged" : "")"
        )
        print(
            "training images: \(info.preparation?.description ?? "not recorded (taken as crops; --detect auto uses them as they are)")"
        )
        if m.network.head != nil {
            print(
                "head: sigmoid (distance → BatchNorm1d → Dense(1) → sigmoid; score small for similar, match probability 1 − score)"
            )
        }
        print("margin: \(info.margin)")
        if let t = info.threshold {
            print("threshold: \(t) (\(info.thresholdMethod ?? "method not recorded"))")
        } else {
            print("threshold: none (calibrate on held-out identities)")
        }
        if let t = info.training {
            print(
                "trained on: \(t.data) (\(t.trainIdentities) identities, \(t.trainImages) images), held out: \(t.holdout.isEmpty ? "none" : t.holdout.joined(separator: ","))"
            )
            print(
                "recipe: \(t.recipe ?? "reference"), \(t.epochs) epochs, batch \(t.batchSize), lr \(t.learningRate), seed \(t.seed); kept epoch \(t.bestEpoch)\((t.collapseRestarts ?? 0) > 0 ? "; restarted \(t.collapseRestarts!)x after a collapse" : "")"
            )
            if let v = t.validation, v != t.holdout {
                print("validation (kept epoch chosen on): \(v.joined(separator: ","))")
            }
            if let run = t.epochsRun, run < t.epochs {
                print("stopped early at epoch \(run) (patience \(t.patience ?? 0))")
            }
            if let backbone = t.backbone {
                print("backbone: \(backbone) (\(t.backboneFrozen == true ? "frozen: only the head trained" : "fine-tuned"))")
            }
            if let pairs = t.trainPairs {
                print("pairs: \(pairs) trained on\(t.validationPairs.map { ", validated on \($0)" } ?? "")")
            }
            var line = String(format: "loss: %.4f (last epoch), %.4f (kept epoch)", t.finalLoss, t.bestEpochLoss)
            if let e = t.validationEER, let a = t.validationAUC {
                line += String(format: "; held-out EER %.2f%%, AUC %.4f", 100 * e, a)
            }
            print(line)
        }
    }
}
