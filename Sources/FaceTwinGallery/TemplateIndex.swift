import Foundation

/// A gallery's usable templates in one contiguous row-major Float32 matrix, for identification:
/// one matrix–vector product (BLAS GEMV) gives every template's squared distance to a probe,
/// a selection keeps the identities that can be among the top k, and only those are scored
/// exactly (in Double, as ``GalleryStore/distances(probe:)`` scores them), so the answer is the
/// exhaustive one.
///
/// The rows of one identity are contiguous. Templates holding NaN or infinity are left out of
/// the matrix and counted per identity. ``generation`` is the store's when the index was read
/// (``Verifier`` reloads the index when the store's changes).
public final class TemplateIndex: @unchecked Sendable {
    /// Values per template.
    public let dimension: Int
    /// The store's generation when this index was read (read before the rows: a change during
    /// the read shows as a newer generation later, never the reverse).
    public let generation: GalleryGeneration
    /// The gallery's location, for messages.
    public let path: String

    /// Identities in the order they were read; `names[k]` owns rows `rowStart[k]..<rowStart[k+1]`.
    let names: [String]
    let rowStart: [Int]
    /// Templates of each identity skipped for NaN or infinity.
    let skipped: [Int]
    /// rows × dimension, row-major.
    let matrix: [Float]
    /// Each row's squared norm.
    let squaredNorms: [Float]

    /// Usable templates in the index.
    public var templateCount: Int { squaredNorms.count }
    /// Identities read (with or without usable templates).
    public var identityCount: Int { names.count }
    /// Bytes the index holds (matrix and norms).
    public var byteCount: Int { (matrix.count + squaredNorms.count) * MemoryLayout<Float>.size }

    init(
        dimension: Int, generation: GalleryGeneration, path: String, names: [String], rowStart: [Int], skipped: [Int],
        matrix: [Float], squaredNorms: [Float]
    ) {
        self.dimension = dimension
        self.generation = generation
        self.path = path
        self.names = names
        self.rowStart = rowStart
        self.skipped = skipped
        self.matrix = matrix
        self.squaredNorms = squaredNorms
    }

    /// Calls `body` with the matrix (``templateCount`` rows of ``dimension`` values, row-major).
    public func withMatrix<R>(_ body: (UnsafePointer<Float>) throws -> R) rethrows -> R {
        var empty: Float = 0
        if matrix.isEmpty { return try body(&empty) }
        return try matrix.withUnsafeBufferPointer { try body($0.baseAddress!) }
    }

    /// Builds an index from rows read identity by identity (the rows of one identity together).
    public final class Builder: @unchecked Sendable {
        let dimension: Int
        let path: String
        var names: [String] = []
        var rowStart: [Int] = [0]
        var skipped: [Int] = []
        var matrix: [Float] = []
        var squaredNorms: [Float] = []
        var currentKey: Int64? = nil
        var failure: GalleryError? = nil

        public init(dimension: Int, path: String, expectedRows: Int = 0) {
            self.dimension = dimension
            self.path = path
            if expectedRows > 0 {
                matrix.reserveCapacity(expectedRows * dimension)
                squaredNorms.reserveCapacity(expectedRows)
            }
        }

        /// Adds one stored template (little-endian Float32 bytes) of identity `key` named `name`.
        /// A template of the wrong size makes ``finish(generation:)`` throw
        /// ``GalleryError/notAGallery(path:reason:)``, as reading it anywhere else does.
        /// Room for `rows` templates.
        public func reserve(rows: Int) {
            matrix.reserveCapacity(rows * dimension)
            squaredNorms.reserveCapacity(rows)
        }

        public func append(key: Int64, name: @autoclosure () -> String, bytes: UnsafeRawBufferPointer) {
            guard failure == nil else { return }
            if key != currentKey {
                if currentKey != nil { rowStart.append(squaredNorms.count) }
                currentKey = key
                names.append(name())
                skipped.append(0)
            }
            guard bytes.count == dimension * 4 else {
                failure = .notAGallery(path: path, reason: "a template has \(bytes.count) bytes, not \(dimension) Float32 values")
                return
            }
            let start = matrix.count
            matrix.append(contentsOf: repeatElement(0, count: dimension))
            var norm: Float = 0
            var finite = true
            matrix.withUnsafeMutableBufferPointer { m in
                let row = m.baseAddress! + start
                #if _endian(little)
                memcpy(row, bytes.baseAddress!, dimension * 4)
                #else
                for c in 0..<dimension {
                    row[c] = Float(
                        bitPattern: UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: c * 4, as: UInt32.self)))
                }
                #endif
                for c in 0..<dimension {
                    let v = row[c]
                    norm += v * v
                    finite = finite && v.isFinite
                }
            }
            // As the exhaustive path: a template whose distances could overflow is not compared.
            if !finite || !norm.isFinite {
                matrix.removeSubrange(start...)
                skipped[skipped.count - 1] += 1
                return
            }
            squaredNorms.append(norm)
        }

        public func append(key: Int64, name: @autoclosure () -> String, data: Data) {
            data.withUnsafeBytes { append(key: key, name: name(), bytes: $0) }
        }

        public func finish(generation: GalleryGeneration) throws(GalleryError) -> TemplateIndex {
            if let failure { throw failure }
            if currentKey != nil { rowStart.append(squaredNorms.count) }
            return TemplateIndex(
                dimension: dimension, generation: generation, path: path, names: names, rowStart: rowStart, skipped: skipped,
                matrix: matrix, squaredNorms: squaredNorms)
        }
    }

    /// The result of ``search(probe:top:score:)``.
    public struct Search: Sendable {
        /// The best identities, nearest first (ties in natural name order), exactly scored.
        public var ranked: [IdentityDistance]
        /// Identities with at least one usable template.
        public var identitiesCompared: Int
        /// Templates skipped for NaN or infinity, and whose they are (natural order).
        public var skippedTemplates: Int
        public var identitiesWithSkippedTemplates: [String]
    }

    /// The `top` identities nearest to `probe` by `score` (min or mean Euclidean distance over
    /// an identity's templates), exactly as the exhaustive scan ranks them.
    /// - Throws: ``GalleryError/empty(path:)``, ``GalleryError/noUsableTemplates(path:name:)``,
    ///   ``GalleryError/embeddingSize(path:expected:got:)``.
    public func search(probe: [Float], top: Int, score: MatchScore) throws(GalleryError) -> Search {
        guard probe.count == dimension else { throw .embeddingSize(path: path, expected: dimension, got: probe.count) }
        guard !names.isEmpty else { throw .empty(path: path) }
        let rows = squaredNorms.count
        guard rows > 0 else { throw .noUsableTemplates(path: path, name: nil) }
        let k = Swift.max(1, top)

        // Squared distances from one GEMV: |t|² + |p|² − 2 t·p.
        var dots = [Float](repeating: 0, count: rows)
        matrix.withUnsafeBufferPointer { m in
            probe.withUnsafeBufferPointer { p in
                dots.withUnsafeMutableBufferPointer { y in
                    BLAS.gemv(m: rows, n: dimension, a: m.baseAddress!, x: p.baseAddress!, y: y.baseAddress!)
                }
            }
        }
        var probeNorm: Float = 0
        for v in probe { probeNorm += v * v }
        let pn = probeNorm.squareRoot()
        // Float32 rounding of the norms and the dot product: |error| ≤ (d + 2)·u·(|t| + |p|)², u = 2⁻²⁴;
        // the bound is doubled. Each identity's score lies in [lo, hi].
        let slack = 2 * Float(dimension + 2) * Float.ulpOfOne / 2

        let identities = names.count
        var lo = [Float](repeating: .infinity, count: identities)
        var hi = [Float](repeating: .infinity, count: identities)
        var compared = 0
        squaredNorms.withUnsafeBufferPointer { norms in
            dots.withUnsafeBufferPointer { y in
                for id in 0..<identities {
                    let a = rowStart[id], b = rowStart[id + 1]
                    guard b > a else { continue }
                    compared += 1
                    switch score {
                    case .min:
                        var l: Float = .infinity, h: Float = .infinity
                        for r in a..<b {
                            let d2 = norms[r] + probeNorm - 2 * y[r]
                            let s = norms[r].squareRoot() + pn
                            let e = slack * s * s
                            l = Swift.min(l, d2 - e)
                            h = Swift.min(h, d2 + e)
                        }
                        lo[id] = Swift.max(0, l).squareRoot()
                        hi[id] = Swift.max(0, h).squareRoot()
                    case .mean:
                        var l: Float = 0, h: Float = 0
                        for r in a..<b {
                            let d2 = norms[r] + probeNorm - 2 * y[r]
                            let s = norms[r].squareRoot() + pn
                            let e = slack * s * s
                            l += Swift.max(0, d2 - e).squareRoot()
                            h += Swift.max(0, d2 + e).squareRoot()
                        }
                        let n = Float(b - a)
                        lo[id] = l / n * (1 - 1e-6)
                        hi[id] = h / n * (1 + 1e-6)
                    }
                }
            }
        }

        // τ: the k-th smallest upper bound; every identity whose lower bound is within it may be in the top k.
        let tau = Self.kthSmallest(hi, k: Swift.min(k, compared))
        var candidates: [IdentityDistance] = []
        for id in 0..<identities where rowStart[id + 1] > rowStart[id] && lo[id] <= tau {
            candidates.append(exact(identity: id, probe: probe))
        }
        let key: (IdentityDistance) -> Float = { score == .min ? $0.minDistance : $0.meanDistance }
        candidates.sort {
            let x = key($0), y = key($1)
            return x != y ? x < y : NaturalOrder.areInIncreasingOrder($0.name, $1.name)
        }
        var damaged: [String] = []
        var skippedTotal = 0
        for id in 0..<identities where skipped[id] > 0 {
            damaged.append(names[id])
            skippedTotal += skipped[id]
        }
        return Search(
            ranked: Array(candidates.prefix(k)), identitiesCompared: compared, skippedTemplates: skippedTotal,
            identitiesWithSkippedTemplates: NaturalOrder.sorted(damaged))
    }

    /// One identity's min and mean distance over its rows, summed in Double in index order.
    func exact(identity id: Int, probe: [Float]) -> IdentityDistance {
        let a = rowStart[id], b = rowStart[id + 1]
        var best = Double.infinity, sum = 0.0, count = 0, overflowed = 0
        matrix.withUnsafeBufferPointer { m in
            for r in a..<b {
                var s = 0.0
                let row = m.baseAddress! + r * dimension
                for c in 0..<dimension {
                    let diff = Double(probe[c]) - Double(row[c])
                    s += diff * diff
                }
                let d = s.squareRoot()
                if d.isFinite, Float(d).isFinite {
                    best = Swift.min(best, d)
                    sum += d
                    count += 1
                } else {
                    overflowed += 1
                }
            }
        }
        return IdentityDistance(
            name: names[id], minDistance: count > 0 ? Float(best) : .infinity,
            meanDistance: count > 0 ? Float(sum / Double(count)) : .infinity, templateCount: count,
            skippedTemplates: skipped[id] + overflowed)
    }

    /// The k-th smallest of `values` (k ≥ 1), ignoring infinities when there are enough finite values.
    static func kthSmallest(_ values: [Float], k: Int) -> Float {
        guard k >= 1 else { return .infinity }
        // A max-heap of the k smallest seen.
        var heap: [Float] = []
        heap.reserveCapacity(k)
        for v in values where v.isFinite {
            if heap.count < k {
                heap.append(v)
                var i = heap.count - 1
                while i > 0 {
                    let p = (i - 1) / 2
                    if heap[p] >= heap[i] { break }
                    heap.swapAt(p, i)
                    i = p
                }
            } else if v < heap[0] {
                heap[0] = v
                var i = 0
                while true {
                    let l = 2 * i + 1, r = l + 1
                    var m = i
                    if l < heap.count, heap[l] > heap[m] { m = l }
                    if r < heap.count, heap[r] > heap[m] { m = r }
                    if m == i { break }
                    heap.swapAt(m, i)
                    i = m
                }
            }
        }
        return heap.count < k ? .infinity : heap[0]
    }
}
