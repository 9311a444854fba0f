import ArgumentParser
import FaceTwin
import Foundation

struct EmbedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed",
        abstract: "Print the embedding of each image under a model.",
        discussion: """
            One line per image: the path, then the embedding's values; --json for an array of objects. \
            For dlib's ResNet, photos are cut into its chips as --detect says (auto: the face found \
            in the photo, or in the image taken as a crop); a twin model embeds the images as they are.
            """
    )

    @OptionGroup var detectOptions: DetectOptionsGroup

    @Option(help: "Model file (FaceTwin's, or a PyTorch reference-architecture state dict as safetensors).")
    var model: String

    @Flag(help: "Print JSON.")
    var json = false

    @Argument(help: "Image files (PGM, PPM, PAM, PNG, JPEG or WebP).")
    var images: [String]

    func validate() throws {
        guard !images.isEmpty else { throw ValidationError("give at least one image") }
    }

    func run() throws {
        let m = try FaceModel.load(path: model)
        if m.resnet != nil { try detectOptions.apply(to: m) }
        let embeddings = try m.embed(imagesAt: images)
        if json {
            struct Row: Encodable { let image: String; let embedding: [Float] }
            try printJSON(zip(images, embeddings).map { Row(image: $0, embedding: $1) })
        } else {
            for (path, e) in zip(images, embeddings) {
                print(([path] + e.map { String(format: "%.6f", $0) }).joined(separator: " "))
            }
        }
    }
}
