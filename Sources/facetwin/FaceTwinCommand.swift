import ArgumentParser
import FaceTwin
import Foundation

struct FaceTwinCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "facetwin",
        abstract: "Train a siamese face verifier on identity folders, and use it.",
        discussion: """
            Identity folders: DIR/<identity>/<image>.pgm, one folder a person (PGM, PPM or PAM).
            Exit status: 0 on success (verify, compare: a match; identify: a known face), \
            1 for no match or an unknown face, 2 on bad input or any other error.
            """,
        version: "0.1.0",
        subcommands: [TrainCommand.self, EmbedCommand.self, InfoCommand.self,
                      EnrollCommand.self, GalleryCommand.self, VerifyCommand.self, IdentifyCommand.self,
                      EvaluateCommand.self, CalibrateCommand.self, CompareCommand.self, CrossvalCommand.self]
    )
}

/// Prints one line to standard error.
func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}

@main
enum Main {
    static func main() {
        do {
            var command = try FaceTwinCommand.parseAsRoot()
            try command.run()
        } catch let code as ExitCode {
            exit(code.rawValue)
        } catch {
            // Help and version requests exit 0 through ArgumentParser; everything else is an
            // error: one line on stderr, exit status 2.
            if FaceTwinCommand.exitCode(for: error) == .success {
                FaceTwinCommand.exit(withError: error)
            }
            let isUsage = FaceTwinCommand.exitCode(for: error) == .validationFailure
            let message = isUsage ? FaceTwinCommand.fullMessage(for: error) : "\(error)"
            printError("facetwin: error: \(message.split(separator: "\n").first.map(String.init) ?? message)")
            if isUsage, message.contains("\n") { printError(FaceTwinCommand.fullMessage(for: error).split(separator: "\n").dropFirst().joined(separator: "\n")) }
            exit(2)
        }
    }
}
