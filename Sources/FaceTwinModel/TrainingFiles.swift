import Foundation

/// A trained model and its loss history (`model.history.csv`), written as a consistent pair.
///
/// The rule: every history row ends with a `model_fingerprint` column holding the
/// ``FaceModel/fingerprint`` of the weights it describes, and the two files are renamed into
/// place history first, model second (both written and synced before either rename). So:
/// - a kill before the history's rename leaves the old pair;
/// - a kill between the renames leaves the old model beside the new history, whose
///   fingerprint does not match it (``check(modelPath:historyPath:)`` says so);
/// - a new model is never in place before its history is.
/// The fingerprint covers the weights only, so a later `calibrate` (new threshold, same
/// weights) keeps the pair consistent.
public enum TrainingFiles {
    /// The history's column that carries the model's fingerprint.
    public static let fingerprintColumn = "model_fingerprint"

    /// `model.history.csv` beside `model.safetensors`.
    public static func historyPath(for model: String) -> String {
        let url = URL(fileURLWithPath: model)
        let base = url.pathExtension.isEmpty ? url : url.deletingPathExtension()
        return base.path + ".history.csv"
    }

    /// `csv` (a header and rows) with the fingerprint column added to every line.
    public static func history(_ csv: String, fingerprint: String) -> String {
        var out = ""
        for (index, line) in csv.split(separator: "\n", omittingEmptySubsequences: true).enumerated() {
            out += line + (index == 0 ? ",\(fingerprintColumn)\n" : ",\(fingerprint)\n")
        }
        return out
    }

    /// Writes the model and its history under the rule above.
    public static func save(_ model: FaceModel, historyCSV: String, modelPath: String, historyPath: String) throws(FileError) {
        let staged: StagedFile
        staged = try model.stage(to: modelPath)
        defer { staged.discard() }
        try OutputFile.write(history(historyCSV, fingerprint: model.fingerprint), to: historyPath)
        try staged.commit()
    }

    /// Whether a model file and a history file belong together.
    public enum Consistency: Equatable, Sendable {
        case consistent
        /// The history describes other weights (e.g. a save killed between the two renames).
        case mismatch(historyFingerprint: String, modelFingerprint: String)
        /// The history has no fingerprint column (written before this rule, or by hand).
        case unrecorded
    }

    /// Compares the fingerprint recorded in the history's last row with the model's.
    public static func check(modelPath: String, historyPath: String) throws -> Consistency {
        let model = try FaceModel.load(path: modelPath)
        return check(model, historyCSV: String(decoding: try InputFile.read(historyPath), as: UTF8.self))
    }

    /// Whether `historyCSV` describes `model`: its last row's fingerprint is the model's (or,
    /// in a history written before the probe preparation was hashed in, its weights').
    public static func check(_ model: FaceModel, historyCSV text: String) -> Consistency {
        let lines = text.split(separator: "\n")
        guard let header = lines.first?.split(separator: ",", omittingEmptySubsequences: false),
            let column = header.firstIndex(where: { $0 == fingerprintColumn }),
            lines.count > 1
        else { return .unrecorded }
        let last = lines[lines.count - 1].split(separator: ",", omittingEmptySubsequences: false)
        guard column < last.count else { return .unrecorded }
        let recorded = String(last[column])
        return recorded == model.fingerprint || recorded == model.weightsFingerprint
            ? .consistent : .mismatch(historyFingerprint: recorded, modelFingerprint: model.fingerprint)
    }
}
