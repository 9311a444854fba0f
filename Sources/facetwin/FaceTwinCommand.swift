import ArgumentParser
import COpenBLAS
import FaceTwin
import Foundation

struct FaceTwinCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "facetwin",
        abstract: "Train a siamese face verifier on identity folders, and use it.",
        discussion: """
            Identity folders: DIR/<identity>/<image>.pgm, one folder a person (PGM, PPM, PAM, PNG, JPEG or WebP).
            Exit status: 0 on success (verify, compare: a match; identify: a known face), \
            1 for no match or an unknown face, 2 on bad input or any other error.
            """,
        version: "0.1.0",
        subcommands: [
            TrainCommand.self, EmbedCommand.self, InfoCommand.self,
            EnrollCommand.self, GalleryCommand.self, VerifyCommand.self, IdentifyCommand.self,
            EvaluateCommand.self, CalibrateCommand.self, CompareCommand.self, CrossvalCommand.self,
            DetectCommand.self, PredictCommand.self, ImportDlibCommand.self, KeysCommand.self, ServeCommand.self
        ]
    )
}

@main
enum Main {
    static func main() {
        // Under ulimit -v: restarted without OpenBLAS's pool thread (Sources/COpenBLAS/openblas.c).
        facetwin_openblas_prepare_process(CommandLine.unsafeArgv)
        do {
            var command = try FaceTwinCommand.parseAsRoot()
            try command.run()
        } catch {
            exit(for: error)
        }
    }
}
