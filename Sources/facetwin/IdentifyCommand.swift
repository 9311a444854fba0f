import ArgumentParser
import FaceTwin
import FaceTwinPostgres
import Foundation

struct IdentifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "identify",
        abstract: "Find who a probe photo is among a gallery's identities (exit 0 found, 1 unknown, 2 error).",
        discussion: """
            Ranks the gallery's identities by distance to the probe (nearest template, or the mean \
            with --score mean). Open set: when even the nearest identity is above the threshold the \
            answer is "unknown" — someone who was never enrolled.
            """
    )

    @Option(help: "Gallery: an SQLite file or a postgres:// URL.")
    var gallery: String

    @Argument(help: "Probe photo (PGM, PPM, PAM, PNG, JPEG or WebP).")
    var probe: String

    @Option(help: "How many ranked identities to show.")
    var top: Int = 5

    @Option(help: "How a probe's distances to the templates become one score: min (nearest template) or mean.")
    var score: MatchScore = .min

    @OptionGroup var thresholdOption: ThresholdOption
    var threshold: Float? { thresholdOption.threshold }

    @Option(help: "Model file (default: the model the gallery was made with).")
    var model: String?

    @OptionGroup var detectOptions: DetectOptionsGroup

    @Flag(help: "Print JSON.")
    var json = false

    func validate() throws {
        let range = NetworkConfig.limits.top
        guard range.contains(top) else {
            throw ValidationError("--top must be between \(range.lowerBound) and \(range.upperBound) (got \(top))")
        }
    }

    func run() throws {
        let g = try openGallery(gallery, model: model, create: false)
        if let m = g.model { try detectOptions.apply(to: m) }
        let verifier = try Verifier(gallery: g, threshold: threshold)
        let r = try verifier.identify(probe: probe, top: top, score: score)
        if r.skippedTemplates > 0 {
            let names = r.identitiesWithSkippedTemplates.map { "\"\($0)\"" }.joined(separator: ", ")
            printError(
                "facetwin: warning: \(gallery): skipped \(r.skippedTemplates) stored template\(r.skippedTemplates == 1 ? "" : "s") holding NaN or infinity (of \(names)); remove and enroll again"
            )
        }
        let info = g.model?.info
        let best = r.candidates[0]
        let scored = best.headScore ?? best.distance
        if json {
            try printJSON(WithErrorEstimate(result: r, errorEstimate: info?.errorEstimate(atDistance: scored)))
        } else {
            let distance: String = GalleryText.distance(best.distance)
            let threshold: String = GalleryText.distance(r.threshold)
            if let identity = r.identity {
                print(
                    "IDENTIFIED \(identity)  distance \(distance)\(GalleryText.headScore(best.headScore))  threshold \(threshold)"
                )
            } else {
                print(
                    "UNKNOWN  nearest \(best.name)  distance \(distance)\(GalleryText.headScore(best.headScore))  threshold \(threshold)"
                )
            }
            if let info {
                // The gallery's templates: those the index compared and those it skipped.
                let templates = ((try? verifier.index().templateCount) ?? r.identitiesCompared) + r.skippedTemplates
                print(EvalFormat.errorRateLine(info, distance: scored, templates: templates))
            }
            var width = 0
            for c in r.candidates { width = max(width, c.name.count) }
            for (rank, c) in r.candidates.enumerated() {
                let name: String = GalleryText.pad(c.name, width)
                let d: String = GalleryText.distance(c.distance)
                let over: String = GalleryText.templates(c.templateCount, score: r.score)
                let mark: String = c.isMatch ? "  within threshold" : ""
                print("  \(rank + 1). \(name)  \(d)\(GalleryText.headScore(c.headScore))  (\(over))\(mark)")
            }
            let hidden = r.identitiesCompared - r.candidates.count
            if hidden > 0 {
                print("  (\(hidden) more of \(r.identitiesCompared) identities not shown)")
            }
        }
        if r.identity == nil { throw ExitCode(1) }
    }
}
