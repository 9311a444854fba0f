import CDlibNet

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// dlib's face-recognition ResNet (`dlib_face_recognition_resnet_model_v1.dat`, the `anet_type`
/// of dlib's dnn_face_recognition_ex.cpp) as dlib itself deserialises and runs it: its parameter
/// tensors under FaceTwin's names, the architecture read from the file, and dlib's own forward
/// (the reference for parity tests and benchmarks). See Sources/CDlibNet.
///
/// Safe to share between threads (dlib's forward is serialized inside).
package final class DlibNetwork: @unchecked Sendable {
    // @unchecked Sendable: `handle` is a C pointer the compiler cannot check; the C side
    // serializes dlib's forward under one mutex and only reads the parameters (Sources/CDlibNet).
    /// One parameter tensor: its name in FaceTwin's model file, shape and values (row-major;
    /// convolution filters OIHW, `fc.weight` out × in).
    package struct Parameter: Sendable {
        package let name: String
        package let shape: [Int]
        package let values: [Float]
    }

    /// Side of dlib's square RGB face chip.
    package static let chipSize = Int(FACETWIN_DLIBNET_CHIP_SIZE)
    /// Length of the descriptor.
    package static let embeddingSize = Int(FACETWIN_DLIBNET_EMBEDDING)

    private let handle: OpaquePointer
    /// The file loaded.
    package let path: String

    /// Deserialises `path` with dlib and checks every layer against the architecture.
    /// - Throws: ``DlibModelError/unreadable(path:reason:)`` or ``DlibModelError/notResNet(path:reason:)``.
    package init(path: String) throws(DlibModelError) {
        // Opened through InputFile first: a FIFO or device is refused, not waited on.
        do { close(try InputFile.open(path)) } catch { throw .unreadable(path: path, reason: error.message) }
        var status: Int32 = 0
        var message = [CChar](repeating: 0, count: 512)
        let made: OpaquePointer? = message.withUnsafeMutableBufferPointer { buf in
            facetwin_dlibnet_load(path, &status, buf.baseAddress, buf.count)
        }
        let reason = message.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        guard let made else {
            switch Int(status) {
            case Int(FACETWIN_DLIBNET_UNREADABLE): throw .unreadable(path: path, reason: reason)
            case Int(FACETWIN_DLIBNET_NOT_MODEL), Int(FACETWIN_DLIBNET_NO_MEMORY):
                throw .notResNet(path: path, reason: reason)
            default: throw .dlibFailed(reason: reason)
            }
        }
        handle = made
        self.path = path
    }

    deinit { facetwin_dlibnet_destroy(handle) }

    /// The architecture as read from the file: the compact JSON of the model file's
    /// `architecture` metadata.
    package var architectureJSON: String { String(cString: facetwin_dlibnet_architecture(handle)) }

    /// Number of parameter tensors (117).
    package var parameterCount: Int { Int(facetwin_dlibnet_tensor_count(handle)) }

    /// Parameter `index` (forward order), copied out of dlib's tensors.
    package func parameter(_ index: Int) -> Parameter {
        precondition(index >= 0 && index < parameterCount, "parameter \(index) of \(parameterCount)")
        var name: UnsafePointer<CChar>? = nil
        var rank: Int32 = 0
        var shape: (Int64, Int64, Int64, Int64) = (0, 0, 0, 0)
        var data: UnsafePointer<Float>? = nil
        let status = withUnsafeMutablePointer(to: &shape) { s in
            s.withMemoryRebound(to: Int64.self, capacity: 4) {
                facetwin_dlibnet_tensor(handle, Int32(index), &name, &rank, $0, &data)
            }
        }
        precondition(status == Int32(FACETWIN_DLIBNET_OK) && name != nil && data != nil, "dlib tensor \(index)")
        let dims = [shape.0, shape.1, shape.2, shape.3].prefix(Int(rank)).map { Int($0) }
        let count = dims.reduce(1, *)
        return Parameter(
            name: String(cString: name!), shape: dims, values: Array(UnsafeBufferPointer(start: data!, count: count)))
    }

    /// All parameters, in forward order.
    package var parameters: [Parameter] { (0..<parameterCount).map(parameter) }

    /// dlib's own descriptors of `chips` (each ``chipSize`` × ``chipSize``), run as one batch.
    /// - Throws: ``DlibModelError/dlibFailed(reason:)``.
    package func embed(_ chips: [RGBImage]) throws(DlibModelError) -> [[Float]] {
        if chips.isEmpty { return [] }
        let side = Self.chipSize
        precondition(chips.allSatisfy { $0.width == side && $0.height == side }, "dlib chips are \(side)x\(side)")
        var input = [UInt8]()
        input.reserveCapacity(chips.count * side * side * 3)
        for chip in chips { input.append(contentsOf: chip.pixels) }
        var out = [Float](repeating: 0, count: chips.count * Self.embeddingSize)
        var message = [CChar](repeating: 0, count: 512)
        let status = input.withUnsafeBufferPointer { inp in
            out.withUnsafeMutableBufferPointer { o in
                message.withUnsafeMutableBufferPointer { m in
                    facetwin_dlibnet_forward(handle, inp.baseAddress, Int32(chips.count), o.baseAddress, m.baseAddress, m.count)
                }
            }
        }
        guard status == Int32(FACETWIN_DLIBNET_OK) else {
            throw .dlibFailed(reason: message.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })
        }
        let n = Self.embeddingSize
        return (0..<chips.count).map { Array(out[($0 * n)..<(($0 + 1) * n)]) }
    }
}
