import ArgumentParser
import FaceTwin
import Foundation

struct ImportDlibCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import-dlib",
        abstract: "Convert dlib's face recognition ResNet (.dat) into a FaceTwin model file.",
        discussion: """
            Reads dlib_face_recognition_resnet_model_v1.dat with dlib itself, checks every layer against \
            the architecture, and writes every parameter as F32 safetensors with the architecture in the \
            metadata; --landmarks carries dlib's 5-point landmark model in the file for the chips' alignment. \
            scripts/fetch-models.sh fetches both files and runs this.
            """
    )

    @Argument(help: "dlib's ResNet model (dlib_face_recognition_resnet_model_v1.dat).")
    var file: String

    @Option(help: "Model file to write (safetensors).")
    var out: String

    @Option(help: "dlib's 5-point landmark model to carry in the model file (shape_predictor_5_face_landmarks.dat).")
    var landmarks: String?

    func run() throws {
        let s = try DlibModelImport.run(resnet: file, landmarks: landmarks, out: out)
        print("wrote \(out): dlib_resnet_v1, \(s.tensors) tensors, \(s.parameters) parameters")
        print("source: \(s.source)")
        if landmarks == nil { print("landmarks: not carried (give --landmarks for the 5-point chip alignment)") }
    }
}
