import ArgumentParser
import FaceTwin
import FaceTwinPostgres
import Foundation

extension MatchScore: ExpressibleByArgument {}

struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check that a probe photo is the person it claims to be (exit 0 match, 1 no match, 2 error).",
        discussion: """
            Compares the probe with the claimed identity's templates in the gallery: the smallest \
            distance (or the mean, with --score mean) against the threshold (the model's stored one \
            unless --threshold). A distance at or below the threshold is a match.

            Batch mode: --pairs pairs.csv --model M [--out results.csv] compares listed image pairs \
            without a gallery. A listed image that cannot be decoded, or (with detection) holds no \
            usable face, is a failure to acquire: its pairs are not scored (verdict \
            failure_to_acquire), each failed image is listed with its reason, and the rest go on; \
            --strict stops at the first such image instead.
            """
    )

    @Option(help: "Gallery: an SQLite file or a postgres:// URL.")
    var gallery: String?

    @Option(help: "The identity the probe claims to be.")
    var claim: String?

    @Argument(help: "Probe photo (PGM, PPM, PAM, PNG, JPEG or WebP).")
    var probe: String?

    @Option(help: "How a probe's distances to the templates become one score: min (nearest template) or mean.")
    var score: MatchScore = .min

    @OptionGroup var thresholdOption: ThresholdOption
    @OptionGroup var detectOptions: DetectOptionsGroup
    var threshold: Float? { thresholdOption.threshold }

    @Option(help: "Model file (default: the model the gallery was made with; required with --pairs).")
    var model: String?

    @Option(
        help:
            "Batch mode: CSV of image pairs (image1,image2[,same]; same: 1 = same person, 0 = different) to compare, no gallery.")
    var pairs: String?

    @OptionGroup var pairFolders: PairFoldersOption

    @Option(help: "Batch mode: where to write the results CSV.")
    var out: String?

    @Flag(help: "Print JSON.")
    var json = false

    @Flag(help: "Batch mode: stop at the first image that cannot be decoded (default: a failure to acquire).")
    var strict = false

    func validate() throws {
        if pairs != nil || pairFolders.pairFolders != nil {
            guard model != nil else { throw ValidationError("--pairs needs --model (so does --pair-folders)") }
            guard gallery == nil, claim == nil, probe == nil else {
                throw ValidationError("--pairs compares listed pairs: it takes no --gallery, --claim or probe")
            }
            return
        }
        guard out == nil else { throw ValidationError("--out goes with --pairs") }
        guard !strict else { throw ValidationError("--strict goes with --pairs or --pair-folders") }
        guard gallery != nil else { throw ValidationError("give --gallery (or --pairs for batch mode)") }
        guard let claim else { throw ValidationError("give --claim NAME: the identity the probe claims to be") }
        guard !claim.isEmpty else { throw ValidationError("--claim must not be empty") }
        guard probe != nil else { throw ValidationError("give the probe photo") }
    }

    func run() throws {
        if let list = try pairFolders.list(pairs: pairs) {
            try runPairsMode(model: model!, list: list, out: out, json: json)
            return
        }
        let g = try openGallery(gallery!, model: model, create: false)
        if let m = g.model { try detectOptions.apply(to: m) }
        let verifier = try Verifier(gallery: g, threshold: threshold)
        let r = try verifier.verify(probe: probe!, claim: claim!, score: score)
        if r.skippedTemplates > 0 {
            printError(
                "facetwin: warning: \(gallery ?? ""): skipped \(r.skippedTemplates) stored template\(r.skippedTemplates == 1 ? "" : "s") of \"\(r.claim)\" holding NaN or infinity; remove and enroll again"
            )
        }
        let info = g.model?.info
        let scored = r.headScore ?? r.distance
        if json {
            try printJSON(WithErrorEstimate(result: r, errorEstimate: info?.errorEstimate(atDistance: scored)))
        } else {
            let verdict: String = r.isMatch ? "MATCH" : "NO MATCH"
            let distance: String = GalleryText.distance(r.distance)
            let threshold: String = GalleryText.distance(r.threshold)
            let over: String = GalleryText.templates(r.templatesCompared, score: r.score)
            print(
                "\(verdict) \(r.claim)  distance \(distance)\(GalleryText.headScore(r.headScore))  threshold \(threshold)  (\(over))"
            )
            if let info { print(EvalFormat.errorRateLine(info, distance: scored, templates: r.templatesCompared)) }
        }
        if !r.isMatch { throw ExitCode(1) }
    }
}
