import Foundation
import XCTest

@testable import FaceTwin

/// SHA-256 against the FIPS 180-4 / NIST example vectors.
final class SHA256Tests: XCTestCase {
    func testFIPSVectors() {
        XCTAssertEqual(
            SHA256.hexDigest(of: Array("abc".utf8)),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(
            SHA256.hexDigest(of: [UInt8]()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(
            SHA256.hexDigest(of: Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1", "448-bit message")
        XCTAssertEqual(
            SHA256.hexDigest(
                of: Array(
                    ("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmn"
                        + "hijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu").utf8)),
            "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1", "896-bit message")
    }

    func testOneMillionA() {
        XCTAssertEqual(
            SHA256.hexDigest(of: [UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    func testPiecewiseUpdatesEqualOneShot() {
        let message = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        let expected = SHA256.hexDigest(of: message)
        for chunk in [1, 3, 55, 56, 63, 64, 65, 128, 999] {
            var h = SHA256()
            var i = 0
            while i < message.count {
                h.update(message[i..<min(i + chunk, message.count)])
                i += chunk
            }
            XCTAssertEqual(h.hexDigest(), expected, "chunks of \(chunk)")
        }
    }

    func testDigestDoesNotEndTheHash() {
        var h = SHA256()
        h.update("ab")
        _ = h.digest()
        h.update("c")
        XCTAssertEqual(h.hexDigest(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    /// Lengths around the padding boundary (55, 56 and 64 bytes), checked against values
    /// computed with Python's hashlib.
    func testPaddingBoundaries() {
        XCTAssertEqual(
            SHA256.hexDigest(of: [UInt8](repeating: 0x61, count: 55)),
            "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318")
        XCTAssertEqual(
            SHA256.hexDigest(of: [UInt8](repeating: 0x61, count: 56)),
            "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a")
        XCTAssertEqual(
            SHA256.hexDigest(of: [UInt8](repeating: 0x61, count: 64)),
            "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb")
    }
}
