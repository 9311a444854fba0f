import Foundation
import XCTest

@testable import FaceTwin

/// A full-size reference model written by PyTorch (`scripts/make-golden.py --full DIR`: PyTorch's
/// default init with seed 0, non-trivial BatchNorm state, `safetensors.torch.save_file`) loads
/// in FaceTwin and reproduces PyTorch's embeddings of ORL images, decoding and resizing
/// included. The model is 160 MB, so it is not committed: the test runs where the script has
/// been run ($FACETWIN_TORCH_GOLDEN, default .build-golden/ in the package) and skips elsewhere.
final class TorchModelTests: XCTestCase {
    func testFullSizePyTorchModelGivesPyTorchEmbeddings() throws {
        let package = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let dir =
            ProcessInfo.processInfo.environment["FACETWIN_TORCH_GOLDEN"] ?? package.appendingPathComponent(".build-golden").path
        let modelPath = dir + "/torch_full_model.safetensors"
        guard FileManager.default.fileExists(atPath: modelPath) else {
            throw XCTSkip("no PyTorch full-size model at \(modelPath): run scripts/make-golden.py --full \(dir)")
        }
        let orl = try orlDirectory()
        struct Expected: Decodable { let images: [String]; let embeddings: [[Float]] }
        let expected = try JSONDecoder().decode(
            Expected.self, from: Data(contentsOf: URL(fileURLWithPath: dir + "/torch_full_embeddings.json")))

        let model = try FaceModel.load(path: modelPath)
        XCTAssertEqual(model.config, NetworkConfig.reference, "configuration read off a PyTorch state dict")
        XCTAssertNil(model.info.threshold)
        let embeddings = try model.embed(imagesAt: expected.images.map { orl + "/" + $0 })
        for (i, name) in expected.images.enumerated() {
            assertClose(embeddings[i], expected.embeddings[i], "embedding of \(name)")
        }
        // Through the sparse first linear layer (a loaded model is frozen): built at once, for
        // the images repeated to a batch of its minimum size.
        guard WeightGEMM.isSupported else { return }
        model.siamese!.options.sparseBuildThreshold = 0
        let n = expected.images.count, copies = (SiameseNetwork.sparseMinimumBatch + n - 1) / n
        let paths = (0..<copies).flatMap { _ in expected.images.map { orl + "/" + $0 } }
        let sparse = try model.embed(imagesAt: paths)
        XCTAssertTrue(model.siamese!.hasSparseProduct)
        for (i, e) in sparse.enumerated() {
            assertClose(e, expected.embeddings[i % n], "embedding of \(expected.images[i % n]) through the sparse product")
        }
    }
}
