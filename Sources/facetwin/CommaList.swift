/// The one parser of comma-separated option values (`--holdout s5,s6`, `--seeds 0,1,2`,
/// `--channels 16,32`, `--reduce-lr-on-plateau 0.1,10`): the items in order, each trimmed of
/// spaces, empty items kept so that each option can refuse them.
enum CommaList {
    static func items(_ text: String) -> [String] {
        text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
    }
}
