import Foundation
import XCTest

@testable import FaceTwin

/// `TrainingOptions.recipe` is a `Recipe`; a model file records its name, the strings
/// "reference", "default" and "resnet-fine-tune", and `--recipe` offers the recipes that train a
/// twin from its seed.
final class RecipeTests: XCTestCase {
    func testEveryRecipeHasTheNameModelFilesRecord() {
        XCTAssertEqual(Recipe.allCases.map(\.rawValue), ["reference", "default", "resnet-fine-tune"])
        XCTAssertEqual(TrainingOptions.reference.recipe, .reference)
        XCTAssertEqual(TrainingOptions.default.recipe, .default)
        XCTAssertEqual(TrainingOptions.resNetFineTuning.recipe, .resNetFineTune)
        for recipe in Recipe.allCases { XCTAssertEqual(recipe.options.recipe, recipe, "\(recipe)") }
        XCTAssertEqual(Recipe.reference.config, NetworkConfig.reference)
        XCTAssertEqual(Recipe.default.config, NetworkConfig.default)
        XCTAssertNil(Recipe.resNetFineTune.config, "the fine-tuned network is the backbone's")
    }

    /// A run records its recipe's name in the model file, and the file loads with it.
    func testTrainingRecordsTheRecipeName() throws {
        let dir = try temporaryDirectory(self)
        let data = try Self.folders(in: dir)
        var config = NetworkConfig.default
        (config.inputWidth, config.inputHeight, config.channels, config.embeddingSize) = (16, 16, [4, 4], 4)
        var options = Recipe.default.options
        options.epochs = 1
        options.batchSize = 4
        let folder = try ImageFolder(root: data.path, for: config)
        let result = try Trainer(config: config, options: options, training: folder, validation: nil).run()
        XCTAssertEqual(result.model.info.training?.recipe, "default")
        let path = dir.appendingPathComponent("m.safetensors").path
        try result.model.save(to: path)
        let json = try XCTUnwrap(try SafeTensorsFile(path: path).metadata["info"])
        XCTAssertTrue(json.contains(#""recipe":"default""#), json)
        let recorded = try XCTUnwrap(try FaceModel.load(path: path).info.training?.recipe)
        XCTAssertEqual(Recipe(rawValue: recorded), .default)
    }

    /// Model files as `facetwin train` writes them (Fixtures/models: `--recipe reference` and
    /// `--recipe default` on four tiny identities) load, and their recorded names are recipes.
    func testModelFilesLoadWithTheirRecipes() throws {
        let models = try XCTUnwrap(Bundle.module.resourceURL).appendingPathComponent("Fixtures/models")
        for recipe in [Recipe.reference, .default] {
            let model = try FaceModel.load(path: models.appendingPathComponent("\(recipe.rawValue).safetensors").path)
            let recorded = try XCTUnwrap(model.info.training?.recipe)
            XCTAssertEqual(Recipe(rawValue: recorded), recipe)
            XCTAssertNotNil(model.siamese, "\(recipe): a twin")
        }
    }

    /// `--recipe` takes reference and default; the fine-tuning recipe comes with --backbone.
    func testRecipeOptionOffersTheTwinRecipes() throws {
        let dir = try temporaryDirectory(self)
        let data = try Self.folders(in: dir)
        let refused = try runFacetwin(["train", "--recipe", "resnet-fine-tune", "--data", data.path, "--quiet"])
        XCTAssertEqual(refused.status, 2)
        XCTAssertTrue(
            refused.stderr.hasPrefix("facetwin: error: The value 'resnet-fine-tune' is invalid for '--recipe"), refused.stderr)
        let help = try runFacetwin(["train", "--help"])
        let words = help.stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        XCTAssertTrue(words.contains("(values: reference, default; default: default)"), help.stdout)
    }

    /// Four identities of three tiny images each.
    static func folders(in dir: URL) throws -> URL {
        let data = dir.appendingPathComponent("data")
        for id in ["alice", "bob", "carol", "dave"] {
            let folder = data.appendingPathComponent(id)
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            let seed = Int(id.unicodeScalars.first!.value)
            for i in 1...3 {
                try writePGM(folder.appendingPathComponent("\(i).pgm"), width: 12, height: 14) { x, y in
                    UInt8((x * 17 + y * 11 + i * 40 + seed * 7) % 256)
                }
            }
        }
        return data
    }
}
