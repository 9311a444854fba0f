import FaceTwin
import Foundation

/// `facetwin info` for a model file written by `facetwin import-dlib` (format
/// `facetwin.dlib-resnet`): the architecture and source from its metadata.
enum DlibResNetInfo {
    /// The lines to print for `file`, or nil when it is not of that format.
    static func lines(_ file: SafeTensorsFile) -> [String]? {
        let m = file.metadata
        guard m["format"] == DlibModelImport.format else { return nil }
        var lines = ["model: \(file.path)", "format: \(DlibModelImport.format) \(m["format_version"] ?? "?")"]
        let a = (m["architecture"].flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) }) as? [String: Any]
        if let a, let input = a["input"] as? [String: Any], let stem = a["stem"] as? [String: Any],
            let pool = stem["pool"] as? [String: Any], let blocks = a["blocks"] as? [[String: Any]]
        {
            func n(_ v: Any?) -> String { (v as? NSNumber).map { "\($0)" } ?? "?" }
            let mean = (input["mean_rgb"] as? [Any])?.map { n($0) }.joined(separator: ",") ?? "?"
            lines.append(
                "input: \(n(input["size"]))x\(n(input["size"])) colour (RGB) chip, mean R,G,B \(mean) subtracted, scaled by \(n(input["scale"]))"
            )
            let blockText = blocks.map { "\(n($0["out"]))\(n($0["stride"])  == "2" ? "/2" : "")" }.joined(separator: ",")
            lines.append(
                "network: \(a["name"] as? String ?? "?"): conv \(n(stem["kernel"]))x\(n(stem["kernel"]))/\(n(stem["stride"])) to \(n(stem["out"])), affine, relu, max pool \(n(pool["kernel"]))x\(n(pool["kernel"]))/\(n(pool["stride"])); \(blocks.count) residual blocks \(blockText); global average pool; fc to \(n(a["embedding"])) (raw descriptor, Euclidean distance)"
            )
            if let chip = a["chip"] as? [String: Any] {
                let carried = file.contains(DlibModelImport.landmarkTensor)
                lines.append(
                    "chip: \(n(chip["landmarks"]))-point landmarks, \(n(chip["size"]))x\(n(chip["size"])), padding \(n(chip["padding"])) (landmark model \(carried ? "carried in the file" : "not carried"))"
                )
            }
            lines.append(
                file.contains(DlibModelImport.detectorTensor)
                    ? "detector: dlib's frontal face detector, carried in the file"
                    : "detector: libdlib's frontal face detector (not carried: convert again with import-dlib for a faster start)"
            )
        } else {
            lines.append("network: architecture metadata missing or unreadable")
        }
        if a?["head"] as? String == HeadKind.sigmoid.rawValue {
            lines.append(
                "head: sigmoid (distance → BatchNorm1d → Dense(1) → sigmoid; score small for similar, match probability 1 − score)"
            )
        }
        lines.append("source: \(m["source"] ?? "not recorded")")
        let info = m["info"].flatMap { try? JSONDecoder().decode(ModelInfo.self, from: Data($0.utf8)) }
        if let t = info?.training {
            lines += trainingLines(t, margin: info?.margin)
        }
        // The threshold `calibrate` or training stored (FaceModel writes it in `info`), else dlib's.
        if let info, let threshold = info.threshold, info.thresholdMethod != ModelInfo.dlibThresholdMethod {
            lines.append("threshold: \(threshold) (\(info.thresholdMethod ?? "method not recorded"))")
        } else if info?.training != nil {
            lines.append("threshold: none (facetwin calibrate chooses one on identities not trained on)")
        } else {
            lines.append("threshold: 0.6 (dlib's default; facetwin calibrate chooses one on your data)")
        }
        return lines
    }

    /// What a fine-tuned ResNet records of its training: the backbone (path and fingerprint)
    /// and the run.
    static func trainingLines(_ t: TrainingSummary, margin: Float?) -> [String] {
        let how =
            t.backboneFrozen == true
            ? "frozen: only the head trained"
            : "fine-tuned\(t.backboneLearningRateScale.map { ", backbone learning rate \($0) × the run's" } ?? "")"
        var lines = [
            "fine-tuned from: \(t.backbone ?? "not recorded") (fingerprint \(t.backboneFingerprint ?? "not recorded"); \(how))",
            "trained on: \(t.data) (\(t.trainIdentities) identities, \(t.trainImages) images), held out: \(t.holdout.isEmpty ? "none" : t.holdout.joined(separator: ","))",
            "recipe: \(t.recipe ?? "?"), \(t.epochs) epochs, batch \(t.batchSize), lr \(t.learningRate), margin \(margin.map { "\($0)" } ?? "?"), seed \(t.seed); kept epoch \(t.bestEpoch)"
        ]
        if let pairs = t.trainPairs {
            lines.append("pairs: \(pairs) trained on\(t.validationPairs.map { ", validated on \($0)" } ?? "")")
        }
        var loss = String(format: "loss: %.4f (last epoch), %.4f (kept epoch)", t.finalLoss, t.bestEpochLoss)
        if let e = t.validationEER, let a = t.validationAUC {
            loss += String(format: "; validation EER %.2f%%, AUC %.4f", 100 * e, a)
        }
        lines.append(loss)
        return lines
    }
}
