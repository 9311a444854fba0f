import ArgumentParser
import FaceTwin
import Foundation

/// How evaluate, calibrate, compare, crossval and verify --pairs print figures, read
/// --identities and choose what to evaluate.
enum EvalFormat {
    static func percent(_ v: Double) -> String { String(format: "%.2f %%", 100 * v) }
    static func threshold(_ v: Float) -> String { String(format: "%.4f", v) }

    /// "s5,s6,s7" → ["s5", "s6", "s7"]; empty names are an error.
    static func identityList(_ text: String) throws -> [String] {
        let names = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        guard !names.isEmpty, names.allSatisfy({ !$0.isEmpty }) else {
            throw ValidationError("--identities must be names separated by commas, e.g. s5,s6,s7 (got \"\(text)\")")
        }
        return names
    }

    /// The evaluation of `model` on identities of `data` or on a pair list.
    static func evaluation(model: FaceModel, data: String?, identities: String?, pairs: String?, root: String?) throws -> Evaluation {
        if let pairs {
            let list = try PairList(contentsOf: pairs, root: root ?? data)
            return try Evaluation(model: model, pairList: list)
        }
        let names = try identities.map { Set(try identityList($0)) }
        return try Evaluation(model: model, root: data!, identities: names)
    }

    static func heldOutHint(_ check: TrainingIdentities) -> String {
        if case .known(_, let heldOut, _) = check, !heldOut.isEmpty {
            return " (it held out \(Evaluation.compactList(heldOut)))"
        }
        return ""
    }

    static func cannotCheck(_ check: TrainingIdentities) -> String {
        switch check {
        case .noRecord:
            return "the model file has no training record, so whether it trained on these identities cannot be checked"
        case .unknown(let reason):
            return "cannot check whether the model trained on these identities: \(reason)"
        case .known:
            return ""
        }
    }

    /// The headline figures, one a line.
    static func printFigures(_ s: EvaluationSummary) {
        print("pairs: \(s.genuinePairs) genuine (same person), \(s.impostorPairs) impostor (different people)")
        print("EER: \(percent(s.eer)) at threshold \(threshold(s.eerThreshold))")
        print(String(format: "ROC AUC: %.4f", s.auc))
        print("TAR at FAR = 1 %: \(percent(s.tarAtFAR1)) (threshold \(threshold(s.tarAtFAR1Threshold)))"
              + (s.impostorPairs < 100 ? "  [only \(s.impostorPairs) impostor pairs: FAR 1 % means no false accept]" : ""))
        print("TAR at FAR = 0.1 %: \(percent(s.tarAtFAR01)) (threshold \(threshold(s.tarAtFAR01Threshold)))"
              + (s.impostorPairs < 1000 ? "  [only \(s.impostorPairs) impostor pairs: FAR 0.1 % means no false accept]" : ""))
        if let t = s.storedThreshold, let acc = s.accuracyAtStoredThreshold {
            print("accuracy at the model's threshold \(threshold(t)) (\(s.storedThresholdMethod ?? "method not recorded")): \(percent(acc))"
                  + " (FAR \(percent(s.farAtStoredThreshold ?? 0)), FRR \(percent(s.frrAtStoredThreshold ?? 0)))")
        } else {
            print("accuracy at the model's threshold: none stored (run facetwin calibrate)")
        }
        print("best accuracy: \(percent(s.bestAccuracy)) at threshold \(threshold(s.bestAccuracyThreshold)) (chosen on these pairs, so optimistic)")
    }
}
