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
        let names = CommaList.items(text)
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

    /// What a pretrained model (dlib's ResNet, no FaceTwin training record) says instead.
    static let trainedOutside =
        "the model was trained outside FaceTwin (dlib's own data set, whose identities are not published): whether these people were among them cannot be checked"

    static func cannotCheck(_ check: TrainingIdentities, model: FaceModel? = nil) -> String {
        if let model, model.resnet != nil, model.info.training == nil { return trainedOutside }
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

    /// The zoo: goats and lambs/wolves with their figures (the report's zoo.csv has every identity).
    static func printZoo(_ z: IdentityZoo) {
        func list(_ names: [String], _ value: (IdentityZoo.Row) -> String) -> String {
            if names.isEmpty { return "none" }
            let byName = Dictionary(uniqueKeysWithValues: z.rows.map { ($0.identity, $0) })
            return names.map { "\($0) (\(value(byName[$0]!)))" }.joined(separator: ", ")
        }
        guard let g = z.goatAbove, let l = z.lambBelow else {
            print("zoo: fewer than 4 identities, no quartiles")
            return
        }
        print(
            "zoo (quartiles of the identities' mean distances): goats, hard to match (mean genuine distance above \(threshold(Float(g)))): "
                + list(z.goats) { String(format: "%.4f, FNMR %.1f %%", $0.meanGenuineDistance ?? 0, 100 * ($0.fnmr ?? 0)) })
        print(
            "  lambs, easy to imitate, and wolves, good at imitating (the same: the distance is symmetric; mean impostor distance below \(threshold(Float(l)))): "
                + list(z.lambs) { String(format: "%.4f, FMR %.2f %%", $0.meanImpostorDistance ?? 0, 100 * ($0.fmr ?? 0)) })
    }

    /// Identification: what was enrolled and searched, CMC ranks 1, 5, 10, FNIR at FPIR.
    static func printIdentification(_ r: IdentificationEvaluation) {
        print(
            "identification: \(r.galleryIdentities.count) identities enrolled with their first \(r.templatesPerIdentity) image\(r.templatesPerIdentity == 1 ? "" : "s"); \(r.matedSearches) mated searches; \(r.nonMatedSearches) non-mated searches (\(r.nonMatedSource))"
        )
        let shown = [1, 2, 3, 5, 10].filter { $0 <= r.cmc.count }
        let ranks = shown.map { k in "rank \(k) \(percent(r.cmc[k - 1]))" + interval(r.cmcIntervals?[k - 1]) }
        print("CMC: " + ranks.joined(separator: ", "))
        for p in r.fnirAtFPIR {
            let target = Calibration.percent(p.targetFPIR)
            if let fnir = p.fnir, let t = p.threshold {
                print(
                    "FNIR at FPIR \(target): \(percent(fnir)) at threshold \(threshold(t)) (FPIR \(percent(p.fpir ?? 0)))"
                        + interval(p.interval))
            } else {
                print("FNIR at FPIR \(target): \(p.unsupportedReason ?? "")")
            }
        }
    }

    /// LFW's fold protocol: a line a fold, then the mean ± standard error.
    static func printLFW(_ r: LFWProtocolResult) {
        if r.thresholdsFromOtherFolds {
            print(
                "LFW protocol: \(r.folds.count) folds, each at the threshold of highest accuracy on the other \(r.folds.count - 1)"
            )
        } else {
            print("LFW protocol: one set (View 1): the threshold is fitted on the same pairs, so the accuracy is optimistic")
        }
        for f in r.folds {
            let lost = f.unscoredPairs > 0 ? ", \(f.unscoredPairs) pairs not scored" : ""
            print(
                "  fold \(f.number): accuracy \(percent(f.accuracy)) (\(f.correctPairs) of \(f.scoredPairs)\(lost)) at threshold \(threshold(f.threshold))"
            )
        }
        let se = r.thresholdsFromOtherFolds ? String(format: " ± %.2f %%", 100 * r.standardError) : ""
        print("LFW mean accuracy: \(percent(r.meanAccuracy))\(se)" + (r.thresholdsFromOtherFolds ? " (standard error)" : ""))
        if r.totalUnscoredPairs > 0 {
            let se2 =
                r.thresholdsFromOtherFolds ? String(format: " ± %.2f %%", 100 * r.standardErrorCountingUnscoredAsErrors) : ""
            print(
                "LFW mean accuracy counting the \(r.totalUnscoredPairs) pairs not scored as errors: \(percent(r.meanAccuracyCountingUnscoredAsErrors))\(se2)"
            )
        }
    }

    /// The line that says how often an answer at `distance` was wrong on the model's
    /// calibration set, per comparison of two photos; with `templates` > 1 compared (the
    /// nearest taken), also about how often one of that many impostor templates comes this close.
    static func errorRateLine(_ info: ModelInfo, distance: Float, templates: Int = 1) -> String {
        guard let e = info.errorEstimate(atDistance: distance) else {
            return "  error rates: unknown (the model has no calibration table; facetwin calibrate measures one)"
        }
        func rate(_ v: Double, _ i: ConfidenceInterval) -> String {
            String(format: "%.2f %% (95 %% interval %.2f–%.2f %%)", 100 * v, 100 * i.lower, 100 * i.upper)
        }
        var line =
            "  on the calibration set \(e.calibration), per pair of photos: FMR \(rate(e.fmr, e.fmrInterval)) of impostor pairs came this close, FNMR \(rate(e.fnmr, e.fnmrInterval)) of genuine pairs were farther"
        if templates > 1 {
            let any = 1 - pow(1 - e.fmr, Double(templates))
            line += String(
                format: "; over the %d templates compared, some impostor's this close: about %.2f %%", templates, 100 * any)
        }
        return line
    }
}

/// A command's JSON result with the calibration's error estimate added (`errorEstimate`: null
/// when the model has none).
struct WithErrorEstimate<T: Encodable>: Encodable {
    let result: T
    let errorEstimate: ErrorRateEstimate?

    enum Key: String, CodingKey { case errorEstimate }

    func encode(to encoder: Encoder) throws {
        try result.encode(to: encoder)
        var c = encoder.container(keyedBy: Key.self)
        try c.encode(errorEstimate, forKey: .errorEstimate)
    }
}
