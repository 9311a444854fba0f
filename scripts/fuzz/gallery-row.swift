// libFuzzer target: a gallery template row's embedding blob. The first two bytes are the
// gallery's declared embedding size (big-endian), the rest the stored blob. A blob that decodes
// must encode back to the same bytes.
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 2 else { return 0 }
    let declared = Int(data[0]) << 8 | Int(data[1])
    let blob = Data(bytes: data + 2, count: size - 2)
    for s in [declared, declared - 65536, declared << 48] {
        if let values = try? TemplateCodec.decode(blob, size: s, path: "fuzz.sqlite") {
            precondition(values.count == s)
            precondition(TemplateCodec.encode(values) == blob, "round trip")
        }
    }
    return 0
}
