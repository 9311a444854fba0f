import ArgumentParser
import FaceTwin
import Foundation

/// A failure the CLI words itself (the library's errors carry their own descriptions).
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// Prints one line to standard error.
func printError(_ message: String) {
    FileHandle.standardError.write(Data((terminalSafe(message, newlines: false) + "\n").utf8))
}

/// Every line the CLI prints, with the control characters it holds escaped: names, paths and
/// model metadata come from files, and an escape sequence or a bidi control in them must not
/// reach the terminal (recolour or rewrite what was printed). Shadows `Swift.print` in this
/// module, so no output path can forget it. A line feed inside an item is escaped too: one
/// print is one line (the JSON and CSV printers, whose formats escape or quote, print as they are).
func print(_ items: Any..., separator: String = " ", terminator: String = "\n") {
    Swift.print(terminalSafe(items.map { "\($0)" }.joined(separator: separator), newlines: false), terminator: terminator)
}

/// `text` with C0 and C1 control characters, DEL, and the bidi and zero-width formatting
/// characters written as `\u{…}`; line feeds (and tabs) are kept unless `newlines` is false.
func terminalSafe(_ text: String, newlines: Bool = true) -> String {
    func unsafe(_ u: Unicode.Scalar) -> Bool {
        if u == "\n" { return !newlines }
        if u == "\t" { return false }
        switch u.value {
        case 0..<0x20, 0x7F...0x9F, 0x061C, 0x200B...0x200F, 0x202A...0x202E, 0x2066...0x2069, 0xFEFF: return true
        default: return false
        }
    }
    guard text.unicodeScalars.contains(where: unsafe) else { return text }
    var out = String.UnicodeScalarView()
    for u in text.unicodeScalars {
        if unsafe(u) {
            out.append(contentsOf: "\\u{\(String(u.value, radix: 16))}".unicodeScalars)
        } else {
            out.append(u)
        }
    }
    return String(out)
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
    // An error's message is one line: a line feed in it (from a file name or a file's
    // contents) is escaped by printError like any other control character.
    let message = isUsage ? FaceTwinCommand.fullMessage(for: error) : commandLineMessage(for: error)
    let lines = isUsage ? message.split(separator: "\n") : [Substring(message)]
    // ArgumentParser starts its own line with "Error: ", which the prefix already says.
    var first = lines.first.map(String.init) ?? message
    if isUsage, first.hasPrefix("Error: ") { first.removeFirst("Error: ".count) }
    printError("facetwin: error: \(first)")
    if isUsage { for line in lines.dropFirst() { printError(String(line)) } }
    exit(2)
}

/// The message of a library error as the CLI prints it: the library names values, and where a
/// value is an option's, the CLI names the option or the command that gives it.
func commandLineMessage(for error: any Error) -> String {
    if case .multipleFaces(let path, let count)? = error as? ImageError {
        return "\(path): \(count) faces found; refused (--faces largest keeps the largest)"
    }
    if let e = error as? PairListError, let problem = e.labelMeaning {
        let message =
            switch problem {
            case .contradicted(let column, let given):
                "the header names the third column \"\(column)\" but --label-means says \(given.rawValue)"
            case .unstated:
                "third column is named \"label\": say what 1 means with --label-means same|different, or name it \"same\" (1 = same person, 0 = different people)"
            }
        return e.line.map { "\(e.file):\($0): \(message)" } ?? "\(e.file): \(message)"
    }
    if let e = error as? TrainingError { return trainingMessage(e) }
    if case .training(let f, let k, let e)? = error as? CrossValidationError {
        return "fold \(f + 1)/\(k): \(trainingMessage(e))"
    }
    switch error as? GalleryError {
    case .notFound(let path)?:
        return "\(path): no gallery here (facetwin enroll --gallery \(path) --model M … creates one)"
    case .noThreshold(let modelPath)?:
        return "\(modelPath): the model has no verification threshold; give --threshold, "
            + "train with --holdout, or run facetwin calibrate"
    case .invalidThreshold(let t, let modelPath)?:
        let problem = VerificationThreshold.problem(t) ?? "threshold \(t) is invalid"
        if let modelPath { return "\(modelPath): stored \(problem); pass --threshold T or run facetwin calibrate" }
        return "--threshold: \(problem)"
    default:
        return "\(error)"
    }
}
