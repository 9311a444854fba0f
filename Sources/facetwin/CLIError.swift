import ArgumentParser
import Foundation

/// A failure the CLI words itself (the library's errors carry their own descriptions).
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// Prints one line to standard error.
func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}

/// Ends the process for an error thrown by parsing or running a command. `ExitCode` exits with
/// its own status; help and version requests exit 0 through ArgumentParser; everything else is
/// an error: "facetwin: error: " and one line on stderr (a usage error adds its usage lines),
/// exit status 2.
func exit(for error: any Error) -> Never {
    if let code = error as? ExitCode { exit(code.rawValue) }
    if FaceTwinCommand.exitCode(for: error) == .success {
        FaceTwinCommand.exit(withError: error)
    }
    let isUsage = FaceTwinCommand.exitCode(for: error) == .validationFailure
    let message = isUsage ? FaceTwinCommand.fullMessage(for: error) : "\(error)"
    let lines = message.split(separator: "\n")
    // ArgumentParser starts its own line with "Error: ", which the prefix already says.
    var first = lines.first.map(String.init) ?? message
    if isUsage, first.hasPrefix("Error: ") { first.removeFirst("Error: ".count) }
    printError("facetwin: error: \(first)")
    if isUsage, lines.count > 1 { printError(lines.dropFirst().joined(separator: "\n")) }
    exit(2)
}
