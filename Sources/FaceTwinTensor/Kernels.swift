import CKernels

/// Small vectorized kernels shared by the layers.

/// Sum of `n` floats with eight SIMD lanes; the lanes are combined in Double.
@inlinable @inline(__always)
package func sum(_ p: UnsafePointer<Float>, _ n: Int) -> Float {
    Float(sumDouble(p, n))
}

/// Sum of `n` floats, accumulated in eight Float lanes per block of 1024 and in Double across
/// blocks, so long reductions (BatchNorm over 320 000 values) keep their precision
/// (`facetwin_sum_double`, Sources/CKernels/vector.c: AVX2 or baseline, the same bits).
@usableFromInline @inline(__always)
package func sumDouble(_ p: UnsafePointer<Float>, _ n: Int) -> Double {
    facetwin_sum_double(p, n)
}

/// Σ (p[i] - mean)² with the same blocking as `sumDouble`.
@inline(__always)
package func sumSquaredDeviation(_ p: UnsafePointer<Float>, _ n: Int, mean: Float) -> Double {
    facetwin_squared_deviation(p, n, mean)
}

/// Σ a[i]·b[i] with the same blocking as `sumDouble`.
@inline(__always)
package func dotDouble(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Double {
    facetwin_dot_double(a, b, n)
}
