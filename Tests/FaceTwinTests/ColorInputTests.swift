import Foundation
import XCTest

@testable import FaceTwin

/// Colour input (`--color`): three RGB planes prepared as Pillow prepares them, a colour
/// network that trains and keeps its channel count in its file, and grey files fed to it as
/// three equal planes.
final class ColorInputTests: XCTestCase {
    static let config = NetworkConfig(inputHeight: 24, inputWidth: 20, hidden: [32], inputChannels: 3)
    /// Square, so that its bare state dict's configuration can be read off the tensor shapes.
    static let trainConfig = NetworkConfig(inputHeight: 20, inputWidth: 20, hidden: [32], inputChannels: 3)

    /// Pillow's `convert("RGB").resize((20, 24), BILINEAR)` of a fixture
    /// (scripts/make-colour-input-fixture.py), as the planar floats a colour network takes.
    static func pillowInput(_ name: String) throws -> [Float] {
        let bytes = [UInt8](try Data(contentsOf: PhotoDecodeTests.directory.appendingPathComponent(name + ".rgb20x24")))
        XCTAssertEqual(bytes.count, 3 * 20 * 24)
        return (0..<3).flatMap { c in (0..<(20 * 24)).map { Float(bytes[3 * $0 + c]) / 255 } }
    }

    func testColourModelPreparesPhotosAsPillow() throws {
        let model = FaceModel(network: SiameseNetwork(config: Self.config), info: ModelInfo(config: Self.config))
        for (file, stem) in [
            ("colour.png", "colour"), ("colour_q90.jpg", "colour_q90"), ("colour_exif6.jpg", "colour_exif6"),
            ("face_s1_1.png", "face_s1_1")
        ] {
            let prepared = try model.prepareImage(at: PhotoDecodeTests.path(file))
            XCTAssertEqual(prepared.count, Self.config.imageSize, file)
            XCTAssertEqual(prepared, try Self.pillowInput(stem), file)
        }
        // A grey file: three equal planes, each the grey network's input.
        let grey = try model.prepareImage(at: try orlDirectory() + "/s1/1.pgm")
        let plane = Resize.networkInput(try ImageDecoder.decode(path: try orlDirectory() + "/s1/1.pgm"), width: 20, height: 24)
        XCTAssertEqual(grey, plane + plane + plane)
    }

    func testColourFolderMatchesPreparedImages() throws {
        let dir = try temporaryDirectory(self)
        for person in ["a", "b"] {
            let folder = dir.appendingPathComponent(person)
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            for file in ["colour.png", "colour_q90.jpg"] {
                try FileManager.default.copyItem(
                    atPath: PhotoDecodeTests.path(file), toPath: folder.appendingPathComponent(file).path)
            }
        }
        let folder = try ImageFolder(root: dir.path, for: Self.config)
        XCTAssertEqual(folder.channels, 3)
        XCTAssertEqual(folder.imageSize, 3 * 20 * 24)
        XCTAssertEqual(Array(folder.image(at: 0)), try Self.pillowInput("colour"))
        XCTAssertEqual(Array(folder.image(at: 1)), try Self.pillowInput("colour_q90"))
    }

    func testColourNetworkTrainsAndRoundTrips() throws {
        let orl = try orlDirectory()
        let train = try ImageFolder(root: orl, for: Self.trainConfig, only: Set((8...13).map { "s\($0)" }))
        XCTAssertEqual(train.channels, 3)
        var options = TrainingOptions.default
        options.epochs = 2
        options.batchSize = 8
        let result = try Trainer(config: Self.trainConfig, options: options, training: train, validation: nil).run()
        XCTAssertTrue(result.history.allSatisfy { $0.meanLoss.isFinite })
        XCTAssertEqual(result.model.config.stateShapes.first { $0.name == "cnn1.1.weight" }?.shape, [4, 3, 3, 3])

        let path = try temporaryDirectory(self).appendingPathComponent("colour.safetensors").path
        try result.model.save(to: path)
        let loaded = try FaceModel.load(path: path, preparation: .none)
        XCTAssertEqual(loaded.config.inputChannels, 3)
        XCTAssertEqual(loaded.info, result.model.info)
        let photos = [orl + "/s5/1.pgm", PhotoDecodeTests.path("colour_q90.jpg")]
        XCTAssertEqual(try loaded.embed(imagesAt: photos), try result.model.embed(imagesAt: photos))

        // The weights alone (a PyTorch state dict): three input channels read off cnn1.1.weight.
        let stateOnly = try temporaryDirectory(self).appendingPathComponent("state.safetensors").path
        var writer = SafeTensorsWriter()
        for (name, tensor) in result.model.network.stateTensors {
            writer.add(name, floats: Array(UnsafeBufferPointer(start: tensor.pointer, count: tensor.count)), shape: tensor.shape)
        }
        try writer.write(to: URL(fileURLWithPath: stateOnly))
        XCTAssertEqual(try FaceModel.load(path: stateOnly).config.inputChannels, 3)
    }

    func testGreyModelFilesStillLoadAsGrey() throws {
        var json = String(decoding: try JSONEncoder().encode(NetworkConfig.default), as: UTF8.self)
        json = json.replacingOccurrences(of: "\"inputChannels\":1,", with: "")
        XCTAssertFalse(json.contains("inputChannels"))
        XCTAssertEqual(try JSONDecoder().decode(NetworkConfig.self, from: Data(json.utf8)), NetworkConfig.default)
        XCTAssertNotNil(NetworkConfig(inputChannels: 2).problem())
    }
}

/// `train --color` and `info` from the outside.
final class ColorCLITests: XCTestCase {
    func testTrainColourAndInfo() throws {
        let orl = try orlDirectory()
        let dir = try temporaryDirectory(self)
        let data = dir.appendingPathComponent("data")
        for person in ["s1", "s2", "s3", "s4"] {
            try FileManager.default.copyItem(atPath: "\(orl)/\(person)", toPath: data.appendingPathComponent(person).path)
        }
        let model = dir.appendingPathComponent("m.safetensors").path
        let train = try runFacetwin([
            "train", "--data", data.path, "--color", "--size", "16", "--channels", "4,8", "--epochs", "1", "--batch", "8",
            "--out", model, "--quiet"
        ])
        XCTAssertEqual(train.status, 0, train.stderr)
        let info = try runFacetwin(["info", "--model", model])
        XCTAssertEqual(info.status, 0, info.stderr)
        XCTAssertTrue(info.stdout.contains("input: 16x16 colour (RGB)"), info.stdout)
        let compare = try runFacetwin([
            "compare", "\(orl)/s5/1.pgm", PhotoDecodeTests.path("colour_q90.jpg"), "--model", model, "--threshold", "1"
        ])
        XCTAssertNotEqual(compare.status, 2, compare.stderr)
    }
}
