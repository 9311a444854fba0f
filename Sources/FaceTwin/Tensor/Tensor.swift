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

    /// Zeroed storage. `calloc` hands large blocks over as fresh zero pages, so a 160 MB weight
    /// costs nothing until it is written (loading a model writes it once, not twice).
    public init(count: Int) {
        self.count = count
        guard let raw = calloc(max(count, 1), MemoryLayout<Float>.stride) else {
            fatalError("out of memory allocating \(count) floats")
        }
        pointer = raw.bindMemory(to: Float.self, capacity: max(count, 1))
    }

    deinit { free(pointer) }
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

    public var count: Int { shape.reduce(1, *) }
    public var pointer: UnsafeMutablePointer<Float> { storage.pointer }
    public var buffer: UnsafeMutableBufferPointer<Float> { UnsafeMutableBufferPointer(start: storage.pointer, count: count) }

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
