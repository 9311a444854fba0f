/// Builds the evaluation pairs of a set of embeddings.
public enum VerificationPairs {
    /// Every pair (i, j), i < j, of `labels.count` embeddings, in the order of NumPy's
    /// `triu_indices(n, 1)` (i outer, j inner): n(n−1)/2 pairs.
    ///
    /// - Parameters:
    ///   - embeddings: row-major `labels.count × dimension` values.
    ///   - dimension: values per embedding.
    ///   - labels: identity of each embedding; a pair is genuine iff the labels are equal.
    /// - Returns: the plain Euclidean distance ‖eᵢ − eⱼ‖ of each pair, accumulated in
    ///   `Double` and rounded once to `Float` (as `np.linalg.norm` in the reference's
    ///   evaluation; PyTorch's `F.pairwise_distance` would add 1e-6 to the difference,
    ///   which this does not), and whether the pair is genuine.
    /// - Throws: `MetricsError.invalidDimension` or `.embeddingCountMismatch`.
    public static func allPairs(
        embeddings: [Float], dimension: Int, labels: [Int]
    ) throws -> (distances: [Float], genuine: [Bool]) {
        guard dimension > 0 else { throw MetricsError.invalidDimension(dimension) }
        let n = labels.count
        guard embeddings.count == n * dimension else {
            throw MetricsError.embeddingCountMismatch(values: embeddings.count, dimension: dimension, labels: n)
        }
        let pairCount = n * (n - 1) / 2
        guard pairCount > 0 else { return ([], []) }
        var genuine = [Bool](repeating: false, count: pairCount)
        let distances = [Float](unsafeUninitializedCapacity: pairCount) { out, initialized in
            embeddings.withUnsafeBufferPointer { e in
                var k = 0
                for i in 0..<n {
                    let a = e.baseAddress! + i * dimension
                    for j in (i + 1)..<n {
                        let b = e.baseAddress! + j * dimension
                        var sum = 0.0
                        for c in 0..<dimension {
                            let diff = Double(a[c]) - Double(b[c])
                            sum += diff * diff
                        }
                        out[k] = Float(sum.squareRoot())
                        genuine[k] = labels[i] == labels[j]
                        k += 1
                    }
                }
            }
            initialized = pairCount
        }
        return (distances, genuine)
    }
}
