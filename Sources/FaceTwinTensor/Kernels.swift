/// Small vectorized kernels shared by the layers.

/// Sum of `n` floats with eight SIMD lanes; the lanes are combined in Double.
@inlinable @inline(__always)
public func sum(_ p: UnsafePointer<Float>, _ n: Int) -> Float {
    Float(sumDouble(p, n))
}

/// Sum of `n` floats, accumulated in eight Float lanes per block of 1024 and in Double across
/// blocks, so long reductions (BatchNorm over 320 000 values) keep their precision.
@inlinable @inline(__always)
public func sumDouble(_ p: UnsafePointer<Float>, _ n: Int) -> Double {
    var total = 0.0
    var i = 0
    while i < n {
        let end = min(n, i + 1024)
        var acc = SIMD8<Float>()
        while i + 8 <= end {
            acc += UnsafeRawPointer(p + i).loadUnaligned(as: SIMD8<Float>.self)
            i += 8
        }
        var tail: Float = acc.sum()
        while i < end { tail += p[i]; i += 1 }
        total += Double(tail)
    }
    return total
}

/// Σ (p[i] - mean)² with the same blocking as `sumDouble`.
@inlinable @inline(__always)
package func sumSquaredDeviation(_ p: UnsafePointer<Float>, _ n: Int, mean: Float) -> Double {
    var total = 0.0
    var i = 0
    let m = SIMD8<Float>(repeating: mean)
    while i < n {
        let end = min(n, i + 1024)
        var acc = SIMD8<Float>()
        while i + 8 <= end {
            let d = UnsafeRawPointer(p + i).loadUnaligned(as: SIMD8<Float>.self) - m
            acc += d * d
            i += 8
        }
        var tail: Float = acc.sum()
        while i < end { let d = p[i] - mean; tail += d * d; i += 1 }
        total += Double(tail)
    }
    return total
}

/// Σ a[i]·b[i] with the same blocking as `sumDouble`.
@inlinable @inline(__always)
package func dotDouble(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Double {
    var total = 0.0
    var i = 0
    while i < n {
        let end = min(n, i + 1024)
        var acc = SIMD8<Float>()
        while i + 8 <= end {
            acc +=
                UnsafeRawPointer(a + i).loadUnaligned(as: SIMD8<Float>.self)
                * UnsafeRawPointer(b + i).loadUnaligned(as: SIMD8<Float>.self)
            i += 8
        }
        var tail: Float = acc.sum()
        while i < end { tail += a[i] * b[i]; i += 1 }
        total += Double(tail)
    }
    return total
}
