import ArgumentParser
import FaceTwin
import Foundation

struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Compare two face photos: distance, threshold, verdict (exit 0 same person, 1 different, 2 error).",
        discussion: """
            Embeds both images and compares the Euclidean distance of the embeddings with the \
            threshold (the model's stored one unless --threshold): at or below it, the two photos \
            are taken to show the same person.
            """
    )

    @Argument(help: "First image (PGM, PPM, PAM, PNG, JPEG or WebP).")
    var image1: String

    @Argument(help: "Second image.")
    var image2: String

    @Option(help: "Model file.")
    var model: String

    @OptionGroup var detectOptions: DetectOptionsGroup

    @OptionGroup var thresholdOption: ThresholdOption

    @Flag(help: "Print JSON.")
    var json = false

    func run() throws {
        let m = try FaceModel.load(path: model)
        try detectOptions.apply(to: m)
        let (limit, method) = try thresholdOption.resolve(for: m, path: model)
        let embeddings = try m.embed(imagesAt: [image1, image2])
        let distance = Evaluation.distance(embeddings[0], embeddings[1])
        // A sigmoid head's score (small for the same person) is what the threshold applies to.
        let score = m.network.head?.scores([distance])[0]
        let same = (score ?? distance) <= limit
        if json {
            struct Output: Encodable {
                let image1: String, image2: String, distance: Float
                let score: Float?, matchProbability: Float?
                let threshold: Float, thresholdMethod: String, match: Bool
                let errorEstimate: ErrorRateEstimate?
            }
            try printJSON(
                Output(
                    image1: image1, image2: image2, distance: distance, score: score, matchProbability: score.map { 1 - $0 },
                    threshold: limit, thresholdMethod: method, match: same,
                    errorEstimate: m.info.errorEstimate(atDistance: score ?? distance)))
        } else {
            print(
                "\(same ? "MATCH" : "NO MATCH")  distance \(EvalFormat.threshold(distance))\(GalleryText.headScore(score))  threshold \(EvalFormat.threshold(limit)) (\(method))"
            )
            print(EvalFormat.errorRateLine(m.info, distance: score ?? distance))
        }
        if !same { throw ExitCode(1) }
    }
}
