import FaceTwin
import Foundation

/// Prints `value` as the commands' JSON: pretty-printed, keys sorted, slashes unescaped, dates
/// in ISO 8601. Throws when a value cannot be encoded (a non-finite number).
func printJSON<T: Encodable>(_ value: T) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    encoder.dateEncodingStrategy = .iso8601
    let data: Data
    do {
        data = try encoder.encode(value)
    } catch {
        // JSON has no NaN or infinity: a result holding one is refused in one line.
        throw CLIError("cannot print the result as JSON: it holds a number that is not finite (NaN or infinite)")
    }
    // JSON writes every control character as an escape: printed as it is, over several lines.
    Swift.print(String(decoding: data, as: UTF8.self))
}

/// Writes text through OutputFile: a regular file or a new path only, a temporary beside the
/// target renamed over it, the target's mode kept, 0600 for a new file.
func writeAtomically(_ text: String, to path: String) throws {
    try OutputFile.write(text, to: path)
}

/// Seconds as "42s", "3m05s" or "1h02m".
func formatDuration(_ s: Double) -> String {
    let t = Int(s.rounded())
    return t >= 3600
        ? "\(t / 3600)h\(String(format: "%02d", t % 3600 / 60))m"
        : t >= 60 ? "\(t / 60)m\(String(format: "%02d", t % 60))s" : "\(t)s"
}

/// An epoch's genuine and impostor mean distances, for progress lines.
func bandsText(_ r: EpochReport) -> String {
    String(format: "  dist gen %.3f imp %.3f", r.bands.genuineMean, r.bands.impostorMean)
}

/// The line that says an epoch collapsed and where the run goes on from, or nil.
func collapseText(_ r: EpochReport) -> String? {
    guard r.collapsed, let from = r.restartsFrom else { return nil }
    let start = from == 0 ? "the initial weights" : "epoch \(from)'s weights"
    return "collapse at epoch \(r.epoch): every embedding pulled together (impostor distances near zero); "
        + "going on from \(start) at a tenth of the learning rate"
}

/// Checks, before long work, that files can be written in the folder `dir` (made later when
/// missing): in it when it exists, else in its nearest existing ancestor.
func checkWritableFolder(_ dir: String, option: String) throws {
    var probe = dir
    while true {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: probe, isDirectory: &isDir) {
            guard isDir.boolValue else { throw CLIError("\(probe): not a folder (\(option) needs a folder there)") }
            try OutputFile.checkWritable((probe as NSString).appendingPathComponent(".facetwin-write-check"))
            return
        }
        let parent = (probe as NSString).deletingLastPathComponent
        if parent == probe || parent.isEmpty {
            try OutputFile.checkWritable(".facetwin-write-check")
            return
        }
        probe = parent
    }
}
