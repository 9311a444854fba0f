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

    /// The evaluation of `model` on identities of `data` or on a pair list (with
    /// `countUnusableImages`, a listed image that cannot be decoded is a failure to acquire).
    static func evaluation(
        model: FaceModel, data: String?, identities: String?, pairList: PairList?, countUnusableImages: Bool = false
    ) throws -> Evaluation {
        if let list = pairList { return try Evaluation(model: model, pairList: list, countUnusableImages: countUnusableImages) }
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

    /// " (95 % interval 3.10 – 7.20 %)", or "" without one.
    static func interval(_ i: ConfidenceInterval?) -> String {
        guard let i else { return "" }
        return String(format: " (95 %% interval %.2f – %.2f %%)", 100 * i.lower, 100 * i.upper)
    }

    /// "TAR at FMR 1 %: 90.00 % at threshold 0.1000 (95 % interval …)", or the reason the
    /// impostor pairs cannot support it.
    static func tarLine(_ t: TARAtFMR, interval i: ConfidenceInterval?) -> String {
        guard let tar = t.tar, let th = t.threshold else { return "TAR at FMR \(t.targetText): \(t.unsupportedReason ?? "")" }
        return "TAR at FMR \(t.targetText): \(percent(tar)) at threshold \(threshold(th))" + interval(i)
    }

    /// "percentile bootstrap over identities (8 identities), 1000 resamples, seed 0" and the note.
    static func intervalsLine(_ b: BootstrapIntervals) -> String {
        var line = "95 % intervals: \(b.method) (\(b.units) \(b.unit.rawValue) to draw from"
        if b.validResamples < b.resamples {
            line += "; \(b.resamples - b.validResamples) resamples without both kinds of pair skipped"
        }
        line += ")"
        if let note = b.note { line += "; \(note)" }
        return line
    }

    /// The headline figures, one a line.
    static func printFigures(_ s: EvaluationSummary) {
        print("pairs: \(s.genuinePairs) genuine (same person), \(s.impostorPairs) impostor (different people)")
        print("EER: \(percent(s.eer)) at threshold \(threshold(s.eerThreshold))" + interval(s.intervals?.eer))
        print(String(format: "ROC AUC: %.4f", s.auc))
        print(tarLine(s.tarAtFMR1Percent, interval: s.intervals?.tarAtFMR1Percent))
        print(tarLine(s.tarAtFMR0_1Percent, interval: s.intervals?.tarAtFMR0_1Percent))
        if let t = s.storedThreshold, let acc = s.accuracyAtStoredThreshold {
            let rates = " (FMR \(percent(s.fmrAtStoredThreshold ?? 0)), FNMR \(percent(s.fnmrAtStoredThreshold ?? 0)))"
            print(
                "accuracy at the model's threshold \(threshold(t)) (\(s.storedThresholdMethod ?? "method not recorded")): \(percent(acc))"
                    + rates)
        } else {
            print("accuracy at the model's threshold: none stored (run facetwin calibrate)")
        }
        print(
            "best accuracy: \(percent(s.bestAccuracy)) at threshold \(threshold(s.bestAccuracyThreshold)) (chosen on these pairs, so optimistic)"
        )
        if let b = s.intervals { print(intervalsLine(b)) }
        if let attempted = s.attemptedImages, let failed = s.failuresToAcquire {
            print(
                "failures to acquire (no usable face, or not decodable): \(failed.count) of \(attempted) images (FTA \(percent(s.failureToAcquireRate ?? 0))); pairs not scored: \(s.genuinePairsNotScored ?? 0) genuine, \(s.impostorPairsNotScored ?? 0) impostor"
            )
            for line in s.failureToAcquireReasons ?? failed { print("  \(line)") }
            if let far = s.farAtEERThreshold, let frr = s.frrAtEERThreshold {
                print(
                    "with failures to acquire counted as rejections, at the EER threshold \(threshold(s.eerThreshold)): FAR \(percent(far)), FRR \(percent(frr))"
                )
            }
            if let t = s.storedThreshold, let far = s.farAtStoredThreshold, let frr = s.frrAtStoredThreshold {
                print("  at the model's threshold \(threshold(t)): FAR \(percent(far)), FRR \(percent(frr))")
            }
        }
    }
}
