import Dispatch
import Foundation

extension FaceModel {
    /// Stretches of a tensor copied and hashed as one: long enough that handing one over costs
    /// nothing, short enough that the hasher starts at once and finishes right after the copy.
    static let fingerprintStretch = 1 << 18  // floats: 1 MiB

    /// Copies every state tensor from `file` into `network` (a NaN or infinite value is
    /// refused), and computes the model's fingerprint from the network's memory as it fills:
    /// a second thread hashes each stretch of a tensor once the copy has written it, while
    /// the copy goes on with the next. So the hash covers exactly the weights the network
    /// will use, and costs little beyond the copy on a machine with a second core. Returns
    /// the fingerprint (``FaceModel/fingerprint``'s value); the caller has checked every
    /// tensor's presence, shape and dtype against the configuration.
    static func loadWeights(into network: any EmbeddingNetwork, from file: SafeTensorsFile) throws(ModelFileError) -> String {
        func fail(_ message: String) -> ModelFileError { ModelFileError(path: file.path, message) }
        network.thaw()
        let tensors = network.stateTensors
        var dtypes: [SafeTensorsDType] = []
        for (name, tensor) in tensors {
            guard file.contains(name), let shape = try? file.shape(of: name), let dtype = try? file.dtype(of: name) else {
                throw fail("not a FaceTwin model: tensor \(name) is missing")
            }
            guard shape == tensor.shape else {
                throw fail("tensor \(name) has shape \(shape), the network expects \(tensor.shape)")
            }
            dtypes.append(dtype)
        }
        var stretches: [(tensor: Int, range: Range<Int>)] = []
        for (t, (_, tensor)) in tensors.enumerated() {
            for start in stride(from: 0, to: tensor.count, by: fingerprintStretch) {
                stretches.append((t, start..<min(start + fingerprintStretch, tensor.count)))
            }
        }

        let progress = CopyProgress()
        let job = HashJob(
            description: network.fingerprintDescription, stretches: stretches,
            tensors: tensors.map { ($0.name, $0.tensor.shape, UnsafePointer($0.tensor.pointer)) })
        let done = DispatchGroup()
        DispatchQueue.global(qos: .userInitiated).async(group: done) { job.run(progress) }

        do throws(ModelFileError) {
            var s = 0
            for (t, (name, tensor)) in tensors.enumerated() {
                let f32: UnsafeRawPointer?
                #if _endian(little)
                f32 = dtypes[t] == .float32 ? (try? file.withUnsafeBytes(of: name) { $0.baseAddress }) ?? nil : nil
                #else
                f32 = nil
                #endif
                if f32 == nil {
                    // Converted whole (F16, BF16, F64): small tensors in practice.
                    let values: [Float]
                    do { values = try file.floats(name) } catch { throw fail("tensor \(name): \(error)") }
                    values.withUnsafeBufferPointer { tensor.pointer.update(from: $0.baseAddress!, count: values.count) }
                }
                while s < stretches.count, stretches[s].tensor == t {
                    let r = stretches[s].range
                    let target = tensor.pointer + r.lowerBound
                    if let f32 {
                        UnsafeMutableRawPointer(target).copyMemory(from: f32 + 4 * r.lowerBound, byteCount: 4 * r.count)
                    }
                    let values = UnsafeBufferPointer(start: target, count: r.count)
                    if let i = values.firstIndex(where: { !$0.isFinite }) {
                        throw fail(
                            "tensor \(name) holds a value that is not finite (\(values[i]) at element \(r.lowerBound + i))")
                    }
                    s += 1
                    progress.copied(s)
                }
            }
            try (network as? SiameseNetwork)?.loadBatchesTracked(from: file)
        } catch {
            progress.stop()
            done.wait()
            throw error
        }
        done.wait()
        // The hasher only stops early when told to, which happens only on the error path.
        return job.value ?? ""
    }
}

/// How many stretches the copy has written, for the hashing thread to wait on.
private final class CopyProgress: @unchecked Sendable {
    // @unchecked Sendable: every field is read and written under `condition`.
    private let condition = NSCondition()
    private var count = 0
    private var stopped = false

    func copied(_ n: Int) {
        condition.lock()
        count = n
        condition.signal()
        condition.unlock()
    }

    func stop() {
        condition.lock()
        stopped = true
        condition.signal()
        condition.unlock()
    }

    /// Waits until `n` stretches are written (true) or the copy has stopped (false).
    func wait(untilCopied n: Int) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while count < n, !stopped { condition.wait() }
        return count >= n
    }
}

/// The hashing thread's work: the fingerprint's stream, each stretch of a tensor read from
/// the network's memory once the copy has written it. `value` is read after it has finished
/// (`DispatchGroup.wait`).
private final class HashJob: @unchecked Sendable {
    // @unchecked Sendable: the tensors' memory is only read here, each stretch after the copy
    // has published it under CopyProgress's lock; `value` is written before the group leaves.
    let description: [UInt8]
    let stretches: [(tensor: Int, range: Range<Int>)]
    let tensors: [(name: String, shape: [Int], pointer: UnsafePointer<Float>)]
    var value: String?

    init(
        description: [UInt8], stretches: [(tensor: Int, range: Range<Int>)],
        tensors: [(name: String, shape: [Int], pointer: UnsafePointer<Float>)]
    ) {
        self.description = description
        self.stretches = stretches
        self.tensors = tensors
    }

    func run(_ progress: CopyProgress) {
        var hash = FingerprintHasher(description: description)
        var s = 0
        for (t, tensor) in tensors.enumerated() {
            hash.beginTensor(name: tensor.name, shape: tensor.shape, count: tensor.shape.reduce(1, *))
            while s < stretches.count, stretches[s].tensor == t {
                guard progress.wait(untilCopied: s + 1) else { return }
                let r = stretches[s].range
                hash.update(UnsafeRawBufferPointer(start: tensor.pointer + r.lowerBound, count: r.count * 4))
                s += 1
            }
        }
        value = hash.hexDigest()
    }
}
