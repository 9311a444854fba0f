/// Why a gallery operation, a verification or an identification failed.
///
/// ``description`` is one line that starts with the file at fault: the gallery, or the
/// photo or probe image that could not be used, so a CLI prints it as it is.
public enum GalleryError: Error, CustomStringConvertible, Equatable, Sendable {
    /// No gallery file at `path` (verify, identify and the `gallery` commands do not create one).
    case notFound(path: String)
    /// A `postgres://` gallery location that cannot be used (a bad port, parameter, …).
    case invalidLocation(location: String, reason: String)
    /// The file exists but is not a FaceTwin gallery (not SQLite, or no gallery metadata).
    case notAGallery(path: String, reason: String)
    /// The gallery was written by a newer FaceTwin (a schema this build does not know).
    case newerSchema(path: String)
    /// SQLite or PostgreSQL failed (I/O, locked, read-only, cannot connect, …).
    case database(path: String, message: String)
    /// A write was interrupted (a killed enroll) and left its rollback journal beside the
    /// gallery, which only a connection that may write can roll back: a read-only command
    /// cannot read the gallery until an enroll (which rolls it back) has opened it.
    case interruptedWrite(path: String)
    /// The gallery's templates were made by another model.
    case modelMismatch(
        path: String, galleryFingerprint: String, galleryModelPath: String,
        modelFingerprint: String, modelPath: String)
    /// The operation needs a model (enroll, verify, identify) but the gallery was opened without one.
    case noModel(path: String)
    /// No identity of that name in the gallery.
    case unknownIdentity(path: String, name: String)
    /// `rename` to a name that is already taken.
    case duplicateIdentity(path: String, name: String)
    /// An identity name that cannot be stored (empty, control characters, too long, …).
    case invalidName(name: String, reason: String)
    /// An enroll with no photos, or a folder with no identity folders.
    case nothingToEnroll(path: String, reason: String)
    /// A photo could not be read or decoded; nothing was written.
    case badPhoto(gallery: String, identity: String, error: ImageError)
    /// An identity folder tree could not be listed.
    case folder(path: String, reason: String)
    /// The probe image could not be read or decoded.
    case badProbe(ImageError)
    /// A probe embedding of the wrong length for this gallery.
    case embeddingSize(path: String, expected: Int, got: Int)
    /// The gallery holds no identities, so there is nothing to match against.
    case empty(path: String)
    /// Every stored template of the identity `name` (of every identity, when nil) holds NaN or
    /// infinity: nothing to compare with.
    case noUsableTemplates(path: String, name: String?)
    /// No threshold: neither given nor stored in the model.
    case noThreshold(modelPath: String)
    /// A threshold ``VerificationThreshold`` refuses: given (`modelPath` nil) or stored in the model at `modelPath`.
    case invalidThreshold(Float, modelPath: String?)
    /// A template export (``TemplateExport``) made by another model than the gallery's or the
    /// given model's (`target` names which); nothing was written.
    case exportModelMismatch(file: String, fileFingerprint: String, target: String, targetFingerprint: String)
    /// A template export that cannot be imported: its first bad line and why; nothing was written.
    case badExport(file: String, line: Int, problem: String)
    /// A template export could not be read or written.
    case file(FileError)
    /// An API key name that cannot be stored (the identity names' rules).
    case invalidKeyName(name: String, reason: String)
    /// `keys add` with a name the gallery already has a key for.
    case duplicateKey(path: String, name: String)
    /// `keys revoke` of a name the gallery has no key for.
    case unknownKey(path: String, name: String)

    /// The 12 leading hex digits of a fingerprint: enough to tell models apart in a message.
    public static func short(_ fingerprint: String) -> String { String(fingerprint.prefix(12)) }

    public var description: String {
        switch self {
        case .notFound(let path):
            return "\(path): no gallery here (enrolling into it with a model creates one)"
        case .invalidLocation(let location, let reason):
            return "\(location): not a usable gallery location (\(reason))"
        case .notAGallery(let path, let reason):
            return "\(path): not a FaceTwin gallery (\(reason))"
        case .newerSchema(let path):
            return "\(path): gallery written by a newer FaceTwin (unknown schema); upgrade facetwin to use it"
        case .database(let path, let message):
            return "\(path): database error: \(message)"
        case .interruptedWrite(let path):
            return "\(path): an interrupted write left its rollback journal (\(path)-journal), which a read-only command "
                + "cannot undo; a command that writes the gallery (enroll, gallery remove, gallery rename), run by a user "
                + "who may write its folder, rolls it back"
        case .modelMismatch(let path, let gfp, let gpath, let mfp, let mpath):
            return "gallery \(path) was made with model \(Self.short(gfp)) (\(gpath)), not \(Self.short(mfp)) (\(mpath)): "
                + "re-enroll or pass the model it was made with"
        case .noModel(let path):
            return "\(path): gallery opened without a model; enrolling and matching need one"
        case .unknownIdentity(let path, let name):
            return "\(path): no identity named \"\(name)\" in the gallery"
        case .duplicateIdentity(let path, let name):
            return "\(path): the gallery already has an identity named \"\(name)\""
        case .invalidName(let name, let reason):
            return "invalid identity name \"\(name)\": \(reason)"
        case .nothingToEnroll(let path, let reason):
            return "\(path): nothing to enroll: \(reason)"
        case .badPhoto(let gallery, let identity, let error):
            return "\(error.description) (enrolling \"\(identity)\" into \(gallery); nothing was written)"
        case .folder(let path, let reason):
            return "\(path): \(reason)"
        case .badProbe(let error):
            return "\(error.description) (probe image)"
        case .embeddingSize(let path, let expected, let got):
            return "\(path): gallery embeddings have \(expected) values, the probe has \(got)"
        case .noUsableTemplates(let path, let name):
            return
                "\(path): \(name.map { "identity \"\($0)\"" } ?? "every identity") has no usable template (each stored embedding holds NaN or infinity); remove and enroll again"
        case .empty(let path):
            return "\(path): the gallery has no identities; enroll someone first"
        case .noThreshold(let modelPath):
            return "\(modelPath): the model has no verification threshold; give one, train with held-out "
                + "identities, or calibrate the model"
        case .invalidThreshold(let t, let modelPath):
            let problem = VerificationThreshold.problem(t) ?? "threshold \(t) is invalid"
            if let modelPath { return "\(modelPath): stored \(problem); give a threshold or calibrate the model" }
            return "the threshold given: \(problem)"
        case .exportModelMismatch(let file, let ffp, let target, let tfp):
            return "\(file): the templates were made with model \(Self.short(ffp)), \(target) has model \(Self.short(tfp)): "
                + "import them into a gallery of their own model; nothing was written"
        case .badExport(let file, let line, let problem):
            return "\(file):\(line): \(problem)"
        case .file(let error):
            return error.description
        case .invalidKeyName(let name, let reason):
            return "invalid key name \"\(name)\": \(reason)"
        case .duplicateKey(let path, let name):
            return "\(path): the gallery already has a key named \"\(name)\" (revoke it first to replace it)"
        case .unknownKey(let path, let name):
            return "\(path): no key named \"\(name)\" in the gallery"
        }
    }
}
