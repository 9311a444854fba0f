import Foundation

/// Which identities a model was trained on, as far as its model file tells, so that an
/// evaluation or a calibration can say when it includes people the model has already seen
/// (error rates on training identities are optimistic, often wildly so).
///
/// A model file records the identities it trained on by name (`training.trainedIdentities`), so
/// the check holds wherever it runs. Files that do not record the names record the training
/// folder (`training.data`), how many identities it trained on and which it held out (and
/// which it validated on); for them the check reads the folder. `train` uses every identity
/// folder of `data` except the held-out and validation ones, so the trained identities are the
/// folder's identity folders minus those, provided the folder is still there and still has that
/// many identities.
public enum TrainingIdentities: Sendable, Equatable {
    /// These identities were trained on (`trained`, natural order); the `heldOut` ones not.
    case known(trained: [String], heldOut: [String], root: String)
    /// The model has no training record (e.g. a PyTorch state dict).
    case noRecord
    /// The record cannot be checked; the reason says why.
    case unknown(reason: String)

    /// Reads the training record of a model.
    public init(info: ModelInfo) {
        guard let t = info.training else {
            self = .noRecord
            return
        }
        let root = t.data
        // The validation identities (carved from the training ones) were kept out of training too.
        if let names = t.trainedIdentities {
            self = .known(
                trained: NaturalOrder.sorted(names), heldOut: NaturalOrder.sorted(Set(t.holdout).union(t.validation ?? [])),
                root: root)
            return
        }
        guard let listing = try? FolderListing(root) else {
            self = .unknown(reason: "the model's training folder \(root) is not readable from here")
            return
        }
        let folders = listing.folders.map(\.name)
        // The validation identities (carved from the training ones) were kept out of training too.
        let held = Set(t.holdout).union(t.validation ?? [])
        let trained = NaturalOrder.sorted(folders.filter { !held.contains($0) })
        guard trained.count == t.trainIdentities else {
            self = .unknown(
                reason:
                    "the model trained on \(t.trainIdentities) identities of \(root), which now has \(trained.count) besides the held-out ones"
            )
            return
        }
        self = .known(trained: trained, heldOut: NaturalOrder.sorted(held), root: root)
    }

    /// The evaluated identities the model trained on (by identity folder name), natural order;
    /// nil when that cannot be told.
    public func overlap(with identities: [String]) -> [String]? {
        guard case .known(let trained, _, _) = self else { return nil }
        let set = Set(trained)
        return NaturalOrder.sorted(identities.filter { set.contains($0) })
    }
}
