import FaceTwin
import FaceTwinPostgres
import Foundation

/// Opens a gallery bound to its model: the one given with --model, or else the one whose
/// path the gallery recorded when it was created.
func openGallery(_ gallery: String, model: String?, create: Bool) throws -> any GalleryStore {
    if let model {
        let m = try FaceModel.load(path: model)
        return try GalleryStores.open(gallery, model: m, modelPath: model, mode: create ? .openOrCreate : .openExisting)
    }
    let recorded: String
    do throws(GalleryError) {
        recorded = try GalleryStores.open(gallery, forWriting: create).info.modelPath
    } catch {
        if create, case .notFound(let path) = error { throw CLIError("\(path): no gallery here; give --model to create one") }
        throw error
    }
    let m: FaceModel
    do {
        m = try FaceModel.load(path: recorded)
    } catch {
        throw CLIError("\(error) (the model gallery \(gallery) was made with; pass --model)")
    }
    return try GalleryStores.open(gallery, model: m, modelPath: recorded, mode: .openExisting)
}

/// Text formatting of enroll, verify, identify and the gallery commands.
enum GalleryText {
    /// Local time to the minute.
    static func date(_ date: Date) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.dateFormat = "yyyy-MM-dd HH:mm"
        return f.string(from: date)
    }

    static func pad(_ s: String, _ width: Int, right: Bool = false) -> String {
        let fill = String(repeating: " ", count: max(0, width - s.count))
        return right ? fill + s : s + fill
    }

    /// "1 template", "5 templates".
    static func count(_ n: Int, _ noun: String) -> String {
        n == 1 ? "1 \(noun)" : "\(n) \(noun)s"
    }

    /// "min over 5 templates".
    static func templates(_ n: Int, score: MatchScore) -> String {
        "\(score.rawValue) over \(count(n, "template"))"
    }

    /// "  score S  match probability P" for a sigmoid head's score, else "".
    static func headScore(_ s: Float?) -> String {
        s.map { String(format: "  score %.4f  match probability %.4f", Double($0), 1 - Double($0)) } ?? ""
    }

    /// A distance with 4 decimals.
    static func distance(_ x: Float) -> String { String(format: "%.4f", Double(x)) }
}
