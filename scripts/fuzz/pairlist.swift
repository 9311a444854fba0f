// libFuzzer target: the pair-list CSV parser on arbitrary text.
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    if let list = try? PairList(text: text, file: "fuzz.csv", root: "/r") {
        precondition(!list.pairs.isEmpty, "a parsed list has pairs")
        for p in list.pairs { precondition(!p.image1.isEmpty && !p.image2.isEmpty, "no empty image path") }
    }
    return 0
}
