// libFuzzer target: the safetensors reader (header validation, then every tensor read as
// Float or Int64) on arbitrary bytes, written to a scratch file because the reader maps a file.
import Foundation

nonisolated(unsafe) var scratch: String = {
    let path = NSTemporaryDirectory() + "facetwin-fuzz-safetensors-\(getpid()).safetensors"
    return path
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Data(bytes: data, count: size)
    guard (try? bytes.write(to: URL(fileURLWithPath: scratch))) != nil else { return 0 }
    guard let file = try? SafeTensorsFile(path: scratch) else { return 0 }
    for name in file.tensorNames {
        guard let info = try? file.info(name) else { continue }
        if info.dtype.isFloatingPoint {
            _ = try? file.floats(name)
        } else {
            _ = try? file.int64s(name)
        }
    }
    return 0
}
