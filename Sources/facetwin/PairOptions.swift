import ArgumentParser
import FaceTwin
import Foundation

extension PairLabelMeaning: ExpressibleByArgument {}

/// `--pair-folders DIR` and `--label-means` of the commands that take a pair list with
/// `--pairs` (evaluate, verify, predict): either gives the pairs to score.
struct PairFoldersOption: ParsableArguments {
    @Option(
        help:
            "Root of pair folders instead of --pairs: DIR/<pair>/a.jpg and b.jpg (any supported format), and DIR/annos.csv whose label column gives, row by row in sorted folder order, 1 = similar, 0 = different."
    )
    var pairFolders: String?

    @Option(
        help:
            "What a label of 1 means in --pairs when the header says only \"label\" (or there is no header), or in annos.csv: same or different."
    )
    var labelMeans: PairLabelMeaning?

    /// The pair list of `--pairs FILE` (paths relative to `root`, else the CSV's folder) or of
    /// `--pair-folders`; nil when neither was given.
    func list(pairs: String?, root: String? = nil) throws -> PairList? {
        if let pairFolders {
            guard pairs == nil else { throw ValidationError("give --pairs or --pair-folders, not both") }
            return try PairList(pairFolders: pairFolders, labelMeans: labelMeans ?? .same)
        }
        guard let pairs else {
            if labelMeans != nil { throw ValidationError("--label-means goes with --pairs or --pair-folders") }
            return nil
        }
        return try PairList(contentsOf: pairs, root: root, labelMeans: labelMeans)
    }
}

/// The pair data of `train` and `crossval`: labelled pairs to train on instead of identity
/// folders, and validation pairs scored after every epoch.
struct TrainingPairsOptions: ParsableArguments {
    @Option(
        help:
            "CSV of labelled training pairs instead of --data: image1,image2,same (or label with --label-means); paths relative to the CSV."
    )
    var pairs: String?

    @OptionGroup var folders: PairFoldersOption

    @Option(help: "Validation pairs (CSV), scored after every epoch; the best epoch is kept.")
    var validationPairs: String?

    @Option(help: "Validation pair folders (as --pair-folders), scored after every epoch; the best epoch is kept.")
    var validationPairFolders: String?

    var isGiven: Bool { pairs != nil || folders.pairFolders != nil }

    func validate() throws {
        if pairs != nil, folders.pairFolders != nil { throw ValidationError("give --pairs or --pair-folders, not both") }
        if validationPairs != nil, validationPairFolders != nil {
            throw ValidationError("give --validation-pairs or --validation-pair-folders, not both")
        }
        if !isGiven, validationPairs != nil || validationPairFolders != nil || folders.labelMeans != nil {
            throw ValidationError(
                "--validation-pairs, --validation-pair-folders and --label-means go with --pairs or --pair-folders")
        }
    }

    /// The training pairs (labelled), or nil without pair data.
    func trainingList() throws -> PairList? {
        guard let list = try folders.list(pairs: pairs) else { return nil }
        return try Self.labelled(list)
    }

    /// The validation pairs, or nil when none were given.
    func validationList() throws -> PairList? {
        let list: PairList?
        if let validationPairFolders {
            list = try PairList(pairFolders: validationPairFolders, labelMeans: folders.labelMeans ?? .same)
        } else if let validationPairs {
            list = try PairList(contentsOf: validationPairs, labelMeans: folders.labelMeans)
        } else {
            list = nil
        }
        return try list.map(Self.labelled)
    }

    /// `list` if every pair has a label; training needs them.
    static func labelled(_ list: PairList) throws -> PairList {
        guard list.hasLabels else { throw CLIError("\(list.file): the pairs have no labels (image1,image2,same)") }
        return list
    }
}

extension PairImages {
    /// The images of a labelled pair list, prepared for `config`'s network.
    init(_ list: PairList, for config: NetworkConfig, preparer: FacePreparer? = nil) throws {
        try self.init(
            source: list.file, pairs: list.pairs.map { ($0.path1, $0.path2, $0.same ?? false) }, for: config, preparer: preparer)
    }
}
