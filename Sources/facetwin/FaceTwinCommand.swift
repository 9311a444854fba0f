import ArgumentParser
import FaceTwin

@main
struct FaceTwinCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "facetwin",
        abstract: "Train a siamese face verifier on identity folders and use it.",
        subcommands: []
    )
}
