import FaceTwin
import Foundation
import XCTest

/// A library caller that loads a model and embeds photos gets them prepared as the model
/// records, with no set-up of its own: a blank frame or a photo that is not a face is refused
/// with a typed ``ImageError``. A model that records nothing takes photos as they are, and
/// `preparation: .none` opts out.
final class LibraryPreparationTests: XCTestCase {
    static let config = NetworkConfig(inputHeight: 16, inputWidth: 16, hidden: [8])

    /// A twin saved with the preparation record `record` (nil: none), and its path.
    func twin(_ record: FacePreparationRecord?) throws -> String {
        var info = ModelInfo(config: Self.config)
        info.preparation = record
        let model = FaceModel(network: SiameseNetwork(config: Self.config, seed: 1), info: info)
        let path = try temporaryDirectory(self).appendingPathComponent("twin.safetensors").path
        try model.save(to: path)
        return path
    }

    /// A one-grey-level frame and the synthetic landscape of `NonFaceTests`, as PGM files.
    func nonFaces(width: Int, height: Int) throws -> (black: String, landscape: String) {
        let dir = try temporaryDirectory(self)
        let black = dir.appendingPathComponent("black.pgm"), landscape = dir.appendingPathComponent("landscape.pgm")
        try writePGM(black, width: width, height: height) { _, _ in 0 }
        let scene = NonFaceTests.landscape(width: width, height: height)
        try writePGM(landscape, width: width, height: height) { x, y in scene.pixels[y * width + x] }
        return (black.path, landscape.path)
    }

    func assertRefused(
        _ model: FaceModel, _ path: String, _ expected: (ImageError) -> Bool, file: StaticString = #filePath, line: UInt = #line
    ) {
        XCTAssertThrowsError(try model.embed(imagesAt: [path]), file: file, line: line) { error in
            guard let e = error as? ImageError, expected(e) else { return XCTFail("\(error)", file: file, line: line) }
        }
    }

    func testTwinRecordingCropsRefusesNonFacesAndTakesItsCropsAsTheyAre() throws {
        let path = try twin(FacePreparationRecord(detect: .never, cropSize: ImageSize(width: 92, height: 112)))
        let model = try FaceModel.load(path: path)
        XCTAssertNotNil(model.facePreparer)
        let (black, landscape) = try nonFaces(width: 92, height: 112)
        assertRefused(model, black) { if case .blankImage(black) = $0 { true } else { false } }
        assertRefused(model, landscape) { if case .noFace(landscape) = $0 { true } else { false } }
        // An ORL crop (the recorded size) is used as it is once a face is found in it.
        let crop = try orlDirectory() + "/s1/1.pgm"
        let plain = try FaceModel.load(path: path, preparation: .none)
        XCTAssertNil(plain.facePreparer)
        XCTAssertEqual(try model.embed(imagesAt: [crop]), try plain.embed(imagesAt: [crop]))
        // The opt-out embeds the non-faces as it is told.
        XCTAssertEqual(try plain.embed(imagesAt: [black, landscape]).count, 2)
    }

    func testModelWithoutRecordTakesPhotosAsTheyAre() throws {
        let model = try FaceModel.load(path: try twin(nil))
        XCTAssertNil(model.facePreparer)
        let (black, landscape) = try nonFaces(width: 92, height: 112)
        XCTAssertEqual(try model.embed(imagesAt: [black, landscape]).count, 2)
        // Detection asked for explicitly still checks them.
        let checked = try FaceModel.load(path: try twin(nil), preparation: .detect(.auto))
        assertRefused(checked, black) { if case .blankImage = $0 { true } else { false } }
    }

    func testPretrainedResNetRefusesABlackFrameAndAPhotoWithoutAFace() throws {
        let model = try FaceModel.load(path: try DlibModels.path("dlib-resnet.safetensors"))
        XCTAssertNotNil(model.facePreparer)
        let (black, landscape) = try nonFaces(width: 640, height: 480)
        assertRefused(model, black) { if case .blankImage(black) = $0 { true } else { false } }
        assertRefused(model, landscape) { if case .noFace(landscape) = $0 { true } else { false } }
        let coffee = packageRoot.appendingPathComponent("Tests/FaceTwinTests/Fixtures/real-photos/coffee.jpg").path
        assertRefused(model, coffee) { if case .noFace(coffee) = $0 { true } else { false } }
        let astronaut = packageRoot.appendingPathComponent("Tests/FaceTwinTests/Fixtures/real-photos/astronaut.jpg").path
        XCTAssertEqual(try model.embed(imagesAt: [astronaut])[0].count, 128)
    }

    func testResNetWithoutLandmarkModel() throws {
        let path = try temporaryDirectory(self).appendingPathComponent("resnet.safetensors").path
        try FaceModel(resnet: DlibResNet(architecture: .reduced(widthDivisor: 32), seed: 1)).save(to: path)
        XCTAssertNil(try FaceModel.load(path: path).facePreparer, "it records no preparation")
        XCTAssertNotNil(try FaceModel.load(path: path, preparation: .detect(.never)).facePreparer)
        XCTAssertThrowsError(try FaceModel.load(path: path, preparation: .detect(.auto))) { error in
            XCTAssertEqual("\(error)", "\(path): \(PhotoPreparationError.noLandmarkModel)")
        }
        let model = try FaceModel.load(path: path, preparation: .none)
        XCTAssertThrowsError(try model.preparer(for: .detect(.always, faces: .largest))) { error in
            XCTAssertEqual(error as? PhotoPreparationError, .noLandmarkModel)
        }
    }
}
