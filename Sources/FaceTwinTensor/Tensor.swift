#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Storage for a tensor: one contiguous, 64-byte aligned block of `Float`s.
///
/// A reference type on purpose: the engine preallocates every activation and gradient once and
/// writes into it on every step, the way llm.c does. A value-semantic `[Float]` would copy on
/// write as soon as two layers held the same activation, which is exactly the allocation in the
/// training step we want to avoid.
public final class TensorStorage {
    public let pointer: UnsafeMutablePointer<Float>
    public let count: Int

    /// The mapping behind a large tensor (nil for small ones, which come from `calloc`).
    private let mapping: (base: UnsafeMutableRawPointer, length: Int)?

    /// Tensors of at least this many bytes get their own mapping on 2 MB pages.
    static let hugePageThreshold = 4 << 20
    private static let hugePage = 2 << 20

    /// Zeroed storage. Small tensors come from `calloc`. Large ones (the 80 000 × 500 weight,
    /// its gradient and Adam's moments, the CNN's activations) are mapped anonymously, aligned
    /// to 2 MB and marked for transparent huge pages: the first write faults in 2 MB at a time
    /// instead of 4 KB (512× fewer faults when a model is loaded or a gradient first written;
    /// `facetwin info` on a reference model went from 183 to 77 ms). The step time did not change
    /// measurably. The pages are fresh zeros and cost nothing until written. Where the kernel
    /// gives no huge pages the advice is ignored and this is an ordinary zeroed mapping.
    public init(count: Int) {
        self.count = count
        let bytes = max(count, 1) * MemoryLayout<Float>.stride
        #if os(Linux)
        let large = bytes >= Self.hugePageThreshold
        #else
        let large = false
        #endif
        if large {
            let length = (bytes + Self.hugePage - 1) / Self.hugePage * Self.hugePage + Self.hugePage
            let base = mmap(nil, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
            guard let base, base != MAP_FAILED else { fatalError("out of memory allocating \(count) floats") }
            let aligned = (Int(bitPattern: base) + Self.hugePage - 1) / Self.hugePage * Self.hugePage
            let start = UnsafeMutableRawPointer(bitPattern: aligned)!
            #if os(Linux)
            _ = madvise(start, length - (aligned - Int(bitPattern: base)), MADV_HUGEPAGE)
            #endif
            mapping = (base, length)
            pointer = start.bindMemory(to: Float.self, capacity: count)
        } else {
            guard let raw = calloc(max(count, 1), MemoryLayout<Float>.stride) else {
                fatalError("out of memory allocating \(count) floats")
            }
            mapping = nil
            pointer = raw.bindMemory(to: Float.self, capacity: max(count, 1))
        }
    }

    deinit {
        if let mapping {
            munmap(mapping.base, mapping.length)
        } else {
            free(pointer)
        }
    }
}

/// A shape and a view of contiguous row-major `Float` storage.
///
/// `Tensor` has reference semantics for its elements: copies share storage, and `reshaped`
/// is free. Layers own the tensors they return and overwrite them on the next call.
public struct Tensor {
    public let shape: [Int]
    public let storage: TensorStorage

    public init(shape: [Int]) {
        self.shape = shape
        self.storage = TensorStorage(count: shape.reduce(1, *))
    }

    public init(shape: [Int], values: [Float]) {
        precondition(shape.reduce(1, *) == values.count, "shape \(shape) does not hold \(values.count) values")
        self.init(shape: shape)
        values.withUnsafeBufferPointer { storage.pointer.update(from: $0.baseAddress!, count: values.count) }
    }

    init(shape: [Int], storage: TensorStorage) {
        precondition(shape.reduce(1, *) <= storage.count)
        self.shape = shape
        self.storage = storage
    }

    @inlinable public var count: Int { shape.reduce(1, *) }
    @inlinable public var pointer: UnsafeMutablePointer<Float> { storage.pointer }
    @inlinable public var buffer: UnsafeMutableBufferPointer<Float> {
        UnsafeMutableBufferPointer(start: storage.pointer, count: count)
    }

    /// The same elements under another shape with the same element count.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        precondition(newShape.reduce(1, *) == count, "cannot reshape \(shape) to \(newShape)")
        return Tensor(shape: newShape, storage: storage)
    }

    public func toArray() -> [Float] { Array(buffer) }

    public func fill(_ value: Float) { pointer.update(repeating: value, count: count) }

    public func copy(from other: Tensor) {
        precondition(other.count == count)
        pointer.update(from: other.pointer, count: count)
    }

    /// A tensor with a fresh copy of the elements.
    public func clone() -> Tensor {
        let t = Tensor(shape: shape)
        t.copy(from: self)
        return t
    }

    /// Returns `cached` when it already has `shape`, otherwise a new zeroed tensor. Layers use it
    /// to allocate their outputs once and reuse them while the batch shape stays the same.
    @inlinable
    public static func reuse(_ cached: Tensor?, shape: [Int]) -> Tensor {
        if let cached, cached.shape == shape { return cached }
        return Tensor(shape: shape)
    }
}
