import Foundation
import XCTest

@testable import FaceTwin

/// ImageFolder: root/<identity>/<image> in, contiguous network-ready floats out;
/// anything odd about the folders is either skipped and counted, or an error
/// that names the folder or file.
final class DataFolderTests: XCTestCase {
    private var root = ""
    private var removeRoot: () -> Void = {}

    override func setUpWithError() throws {
        let (dir, remove) = try DataTestSupport.makeTemporaryDirectory()
        root = dir + "/faces"
        removeRoot = remove
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    }

    override func tearDown() {
        removeRoot()
    }

    /// A 4x4 uniform P5 image at root/<relative>.
    @discardableResult
    private func addImage(_ relative: String, value: UInt8 = 128) throws -> String {
        try DataTestSupport.write(
            DataTestSupport.p5(width: 4, height: 4, pixels: .init(repeating: value, count: 16)),
            to: root, relative)
    }

    /// `identities` folders with `count` images each (1.pgm …), pixel value = 10*identity index + image index.
    private func addIdentities(_ identities: [String], count: Int = 2) throws {
        for (i, identity) in identities.enumerated() {
            for n in 1...count { try addImage("\(identity)/\(n).pgm", value: UInt8(10 * i + n)) }
        }
    }

    private func load(
        width: Int = 100, height: Int = 100, invert: Bool = false, only: Set<String>? = nil,
        excluding: Set<String> = []
    ) throws(DatasetError) -> ImageFolder {
        try ImageFolder(root: root, width: width, height: height, invert: invert, only: only, excluding: excluding)
    }

    private func expectError(
        _ body: () throws(DatasetError) -> ImageFolder,
        file: StaticString = #filePath, line: UInt = #line
    ) -> DatasetError? {
        DataTestSupport.expectDatasetError(body, file: file, line: line)
    }

    // MARK: Layout and order

    func testIdentitiesAndImagesAreInNaturalOrder() throws {
        try addIdentities(["s10", "s2", "s1"], count: 3)
        try addImage("s2/10.pgm")
        let data = try load()
        XCTAssertEqual(data.identities, ["s1", "s2", "s10"])
        XCTAssertEqual(
            data.paths.filter { $0.contains("/s2/") }.map { URL(fileURLWithPath: $0).lastPathComponent },
            ["1.pgm", "2.pgm", "3.pgm", "10.pgm"])
    }

    func testLabelsPathsAndImagesByLabelAgree() throws {
        try addIdentities(["a", "b", "c"], count: 2)
        try addImage("b/3.pgm")
        let data = try load()
        XCTAssertEqual(data.count, 7)
        XCTAssertEqual(data.labels, [0, 0, 1, 1, 1, 2, 2])
        XCTAssertEqual(data.imagesByLabel, [[0, 1], [2, 3, 4], [5, 6]])
        XCTAssertEqual(data.paths[4], root + "/b/3.pgm")
        for (label, indices) in data.imagesByLabel.enumerated() {
            for i in indices { XCTAssertTrue(data.paths[i].contains("/\(data.identities[label])/")) }
        }
    }

    func testPixelsAreOneContiguousArrayOfResizedScaledImages() throws {
        try addIdentities(["p", "q"], count: 2)
        let data = try load(width: 3, height: 5)
        XCTAssertEqual(data.imageSize, 15)
        XCTAssertEqual(data.pixels.count, data.count * 15)
        // Uniform sources stay uniform through the resize: image i is value/255 everywhere.
        let values: [Float] = [1, 2, 11, 12]
        for i in 0..<data.count {
            XCTAssertEqual(Array(data.image(at: i)), .init(repeating: values[i] / 255, count: 15), data.paths[i])
        }
        XCTAssertTrue(data.pixels.allSatisfy { (0...1).contains($0) })
    }

    func testInvertStoresOneMinusX() throws {
        try addIdentities(["p", "q"], count: 2)
        let plain = try load(width: 2, height: 2)
        let inverted = try load(width: 2, height: 2, invert: true)
        XCTAssertTrue(inverted.invert)
        XCTAssertEqual(inverted.pixels, plain.pixels.map { 1 - $0 })
    }

    func testPixelsMatchDecodeResizeNormalizeOfEachFile() throws {
        // Non-uniform images, so the check covers the resize, not just the scaling.
        for (i, name) in ["x/1.pgm", "x/2.pgm", "y/1.pgm", "y/2.pgm"].enumerated() {
            let pixels = (0..<(9 * 7)).map { UInt8(truncatingIfNeeded: $0 * 37 + i * 11) }
            try DataTestSupport.write(DataTestSupport.p5(width: 9, height: 7, pixels: pixels), to: root, name)
        }
        let data = try load(width: 5, height: 6)
        for i in 0..<data.count {
            let expected = Resize.networkInput(try ImageDecoder.decode(path: data.paths[i]), width: 5, height: 6)
            XCTAssertEqual(Array(data.image(at: i)), expected)
        }
    }

    func testLoadingIsDeterministic() throws {
        try addIdentities((1...6).map { "id\($0)" }, count: 5)
        let first = try load(width: 7, height: 9)
        let second = try load(width: 7, height: 9)
        XCTAssertEqual(first.pixels, second.pixels)
        XCTAssertEqual(first.paths, second.paths)
    }

    // MARK: What is skipped

    func testStrayFilesAndHiddenFilesAreSkippedAndCounted() throws {
        try addIdentities(["s1", "s2"], count: 2)
        try DataTestSupport.write("ORL faces", to: root, "README.txt")  // root: not a folder
        try DataTestSupport.write([0], to: root, ".DS_Store")  // root: hidden file
        try DataTestSupport.write([0], to: root, "s1/.DS_Store")  // identity: hidden file
        try DataTestSupport.write("notes", to: root, "s1/notes.txt")  // identity: not an image
        try addImage("s2/.hidden.pgm")  // identity: hidden image
        try FileManager.default.createDirectory(atPath: root + "/s2/crops", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: root + "/.git", withIntermediateDirectories: true)
        let data = try load()
        XCTAssertEqual(data.skippedFiles, 6)  // README.txt, .DS_Store ×2, notes.txt, .hidden.pgm, crops/
        XCTAssertEqual(data.identities, ["s1", "s2"])  // .git is not an identity
        XCTAssertEqual(data.count, 4)
    }

    func testImageExtensionsAreCaseInsensitive() throws {
        try addImage("a/1.PGM")
        try addImage("a/2.Pnm")
        try DataTestSupport.write(Array("P6\n1 1\n255\n".utf8) + [255, 0, 0], to: root, "b/1.ppm")
        let header = "P7\nWIDTH 1\nHEIGHT 1\nDEPTH 1\nMAXVAL 255\nTUPLTYPE GRAYSCALE\nENDHDR\n"
        try DataTestSupport.write(Array(header.utf8) + [9], to: root, "b/2.PAM")
        let data = try load(width: 1, height: 1)
        XCTAssertEqual(data.count, 4)
        XCTAssertEqual(data.skippedFiles, 0)
        XCTAssertEqual(data.pixels[2], Float(76) / 255)  // pure red through PIL's luma weights
    }

    // MARK: Errors

    func testImageThatFailsToDecodeIsAnErrorNotSkipped() throws {
        try addIdentities(["s1", "s2"], count: 3)
        let broken = try DataTestSupport.write(Array("P5\n4 4\n255\n".utf8) + [1, 2], to: root, "s2/2.pgm")
        let error = expectError { () throws(DatasetError) in try self.load() }
        guard case .image(.truncated(let path, _))? = error else {
            return XCTFail("expected a truncated image error, got \(String(describing: error))")
        }
        XCTAssertEqual(path, broken)
        XCTAssertTrue(error!.description.hasPrefix(broken + ": truncated: "), error!.description)
    }

    func testFirstBrokenImageInLoadOrderIsReported() throws {
        try addIdentities(["s1", "s2", "s3"], count: 4)
        for name in ["s3/4.pgm", "s1/3.pgm", "s2/1.pgm"] { try DataTestSupport.write([], to: root, name) }
        for _ in 0..<5 {
            let error = expectError { () throws(DatasetError) in try self.load() }
            XCTAssertEqual(error, .image(.empty(path: root + "/s1/3.pgm")))
        }
    }

    func testEmptyIdentityFolderIsAnErrorNamingIt() throws {
        try addIdentities(["s1", "s2"], count: 2)
        try FileManager.default.createDirectory(atPath: root + "/s3", withIntermediateDirectories: true)
        try DataTestSupport.write("x", to: root, "s3/README.txt")
        let error = expectError { () throws(DatasetError) in try self.load() }
        XCTAssertEqual(error, .tooFewImages(folder: root + "/s3", count: 0))
        XCTAssertEqual(error?.description, "\(root)/s3: identity folder has 0 images; at least 2 are needed")
    }

    func testIdentityWithOneImageIsAnError() throws {
        try addIdentities(["s1", "s2"], count: 2)
        try addImage("s3/1.pgm")
        let error = expectError { () throws(DatasetError) in try self.load() }
        XCTAssertEqual(error, .tooFewImages(folder: root + "/s3", count: 1))
    }

    func testMissingRootIsAnErrorNamingIt() {
        let missing = root + "/nope"
        let error = expectError { () throws(DatasetError) in try ImageFolder(root: missing) }
        XCTAssertEqual(error, .rootNotFound(path: missing))
        XCTAssertEqual(error?.description, "\(missing): dataset folder not found")
    }

    func testRootThatIsAFileIsAnError() throws {
        let file = try DataTestSupport.write("x", to: root, "file.txt")
        let error = expectError { () throws(DatasetError) in try ImageFolder(root: file) }
        XCTAssertEqual(error, .notADirectory(path: file))
    }

    func testUnreadableRootIsAnError() throws {
        guard getuid() != 0 else { throw XCTSkip("running as root: permissions are not enforced") }
        try addIdentities(["s1", "s2"])
        chmod(root, 0)
        defer { chmod(root, 0o755) }
        let error = expectError { () throws(DatasetError) in try self.load() }
        guard case .unreadableDirectory(let path, _)? = error else { return XCTFail("got \(String(describing: error))") }
        XCTAssertEqual(path, root)
    }

    func testRootThatCannotBeResolvedIsAnError() throws {
        // A symlink pointing at itself: exists, but stat fails with ELOOP.
        let loop = root + "/loop"
        try FileManager.default.createSymbolicLink(atPath: loop, withDestinationPath: loop)
        let error = expectError { () throws(DatasetError) in try ImageFolder(root: loop) }
        guard case .unreadableDirectory(let path, let reason)? = error else {
            return XCTFail("got \(String(describing: error))")
        }
        XCTAssertEqual(path, loop)
        XCTAssertFalse(reason.isEmpty)
    }

    func testFewerThanTwoIdentitiesIsAnErrorNamingTheRoot() throws {
        try addIdentities(["only"], count: 5)
        let error = expectError { () throws(DatasetError) in try self.load() }
        XCTAssertEqual(error, .tooFewIdentities(root: root, count: 1))
        XCTAssertEqual(error?.description, "\(root): found 1 identity folder; at least 2 are needed")
    }

    func testEveryDatasetErrorIsOneLineNamingAPath() throws {
        let errors: [DatasetError] = [
            .rootNotFound(path: "r"), .notADirectory(path: "r"), .unreadableDirectory(path: "r", reason: "Permission denied"),
            .unknownIdentities(root: "r", names: ["s99"]), .tooFewImages(folder: "r/s1", count: 0),
            .tooFewIdentities(root: "r", count: 0), .invalidImageSize(root: "r", width: 0, height: 5),
            .image(.empty(path: "r/s1/1.pgm"))
        ]
        for error in errors {
            XCTAssertTrue(error.description.hasPrefix(error.path + ": "), error.description)
            XCTAssertFalse(error.description.contains("\n"))
        }
    }

    func testNonPositiveSizeIsAnError() throws {
        try addIdentities(["s1", "s2"])
        let error = expectError { () throws(DatasetError) in try self.load(width: 0, height: 10) }
        XCTAssertEqual(error, .invalidImageSize(root: root, width: 0, height: 10))
    }

    // MARK: Selecting identities

    func testHoldoutIdentitiesAreExcluded() throws {
        try addIdentities(["s1", "s2", "s3", "s4"])
        let data = try load(excluding: ["s2", "s4"])
        XCTAssertEqual(data.identities, ["s1", "s3"])
        XCTAssertEqual(data.labels, [0, 0, 1, 1])
        XCTAssertFalse(data.paths.contains { $0.contains("/s2/") || $0.contains("/s4/") })
    }

    func testExcludedIdentitiesAreNotValidated() throws {
        // A held-out folder's own problems do not block training on the rest.
        try addIdentities(["s1", "s2"])
        try addImage("s3/1.pgm")
        XCTAssertEqual(try load(excluding: ["s3"]).identities, ["s1", "s2"])
    }

    func testOnlyLoadsTheNamedIdentities() throws {
        try addIdentities(["s1", "s2", "s3"])
        let data = try load(only: ["s3", "s1"])
        XCTAssertEqual(data.identities, ["s1", "s3"])
        XCTAssertEqual(data.count, 4)
    }

    func testUnknownIdentityNamesAreAnError() throws {
        try addIdentities(["s1", "s2", "s3"])
        let onlyError = expectError { () throws(DatasetError) in try self.load(only: ["s1", "s40", "s9"]) }
        XCTAssertEqual(onlyError, .unknownIdentities(root: root, names: ["s9", "s40"]))
        XCTAssertEqual(onlyError?.description, "\(root): no identity folder named s9, s40")
        // A typo in a holdout list must not silently leak that person into training.
        let holdoutError = expectError { () throws(DatasetError) in try self.load(excluding: ["S2"]) }
        XCTAssertEqual(holdoutError, .unknownIdentities(root: root, names: ["S2"]))
    }

    func testExcludingAllButOneIdentityIsAnError() throws {
        try addIdentities(["s1", "s2", "s3"])
        let error = expectError { () throws(DatasetError) in try self.load(excluding: ["s1", "s2"]) }
        XCTAssertEqual(error, .tooFewIdentities(root: root, count: 1))
    }

    // MARK: ORL

    func testLoadsORL() throws {
        let orl = try DataTestSupport.orlDirectory()
        let data = try ImageFolder(root: orl)
        XCTAssertEqual(data.identities, (1...40).map { "s\($0)" })
        XCTAssertEqual(data.count, 400)
        XCTAssertEqual(data.pixels.count, 400 * 100 * 100)
        XCTAssertEqual(data.imagesByLabel.map(\.count), .init(repeating: 10, count: 40))
        XCTAssertEqual(URL(fileURLWithPath: data.paths[9]).lastPathComponent, "10.pgm")
        // s1/1.pgm's stored floats are Pillow's 100x100 resize divided by 255.
        let pillow = try DataTestSupport.fixtureBytes("orl_s1_1.gray")
        XCTAssertEqual(Array(data.image(at: 0)), pillow.map { Float($0) / 255 })
        let holdout = try ImageFolder(root: orl, excluding: ["s5", "s6", "s7"])
        XCTAssertEqual(holdout.identities.count, 37)
        XCTAssertFalse(holdout.identities.contains("s6"))
    }
}

/// NaturalOrder: digits compare by value, so s2 < s10.
final class DataNaturalOrderTests: XCTestCase {
    func testDigitRunsCompareByValue() {
        XCTAssertEqual(NaturalOrder.sorted(["s10", "s2", "s1", "s40", "s3"]), ["s1", "s2", "s3", "s10", "s40"])
        XCTAssertEqual(NaturalOrder.sorted(["10.pgm", "9.pgm", "1.pgm", "2.pgm"]), ["1.pgm", "2.pgm", "9.pgm", "10.pgm"])
        XCTAssertEqual(NaturalOrder.sorted(["img12b", "img12a", "img2z"]), ["img2z", "img12a", "img12b"])
    }

    func testTextAndPrefixesCompareLikePlainStrings() {
        XCTAssertEqual(NaturalOrder.sorted(["b", "a", "ab", "B"]), ["B", "a", "ab", "b"])
        XCTAssertEqual(NaturalOrder.sorted(["s", "s1", "s"]), ["s", "s", "s1"])
    }

    func testLeadingZerosTieBreakDeterministically() {
        XCTAssertEqual(NaturalOrder.sorted(["s1", "s01", "s001"]), ["s001", "s01", "s1"])
        XCTAssertTrue(NaturalOrder.areInIncreasingOrder("s01", "s2"))
        XCTAssertFalse(NaturalOrder.areInIncreasingOrder("s1", "s1"))
    }

    func testLongDigitRunsDoNotOverflow() {
        XCTAssertTrue(NaturalOrder.areInIncreasingOrder("id99999999999999999999", "id100000000000000000000"))
    }
}
