import XCTest

@testable import FaceTwin
@testable import FaceTwinTensor

final class TensorStorageTests: XCTestCase {
    /// Large tensors live in their own 2 MB-aligned mapping (for huge pages): zeroed, fully
    /// writable to the last element, and unmapped again when the last reference goes.
    func testLargeTensorStorageIsZeroedAlignedAndWritable() {
        for count in [TensorStorage.hugePageThreshold / 4, 2_000_001, 20_000_000] {
            let t = Tensor(shape: [count])
            XCTAssertEqual(Int(bitPattern: t.pointer) % (2 << 20), 0, "\(count) floats: aligned to 2 MB")
            var nonZero = 0
            for i in stride(from: 0, to: count, by: 4093) where t.pointer[i] != 0 { nonZero += 1 }
            XCTAssertEqual(t.pointer[count - 1], 0)
            XCTAssertEqual(nonZero, 0, "\(count) floats: fresh storage reads as zeros")
            t.fill(3)
            XCTAssertEqual(t.pointer[count - 1], 3)
            XCTAssertEqual(sumDouble(t.pointer, count), 3 * Double(count))
        }
        let small = Tensor(shape: [1000])
        XCTAssertEqual(small.pointer[999], 0)
    }
}
