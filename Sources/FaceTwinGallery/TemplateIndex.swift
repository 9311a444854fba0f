import CKernels
import Foundation

/// A gallery's usable templates in contiguous row-major matrices, for identification: one
/// matrix–vector product over the whole gallery, a selection of the identities that can be among
/// the top k, and exact scores for those only (in Double, as ``GalleryStore/distances(probe:)``
/// scores them), so the answer is the exhaustive one.
///
/// The product is taken in int8: each template row is stored a second time quantized (its own
/// scale, max |value| → 127), the probe likewise, and `facetwin_int8_dots` (AVX2) gives every
/// row's dot product exactly in int32 while reading a quarter of the bytes of the Float32
/// matrix (a Float32 GEMV over 10⁶ 128-D templates streams 512 MB a probe). Each row's
/// quantization error (‖t − t̂‖, stored) and the probe's bound how far the int8 product can be
/// from the true one: |t·p − t̂·p̂| ≤ ‖t − t̂‖·‖p‖ + ‖t̂‖·‖p − p̂‖. So every identity's score has an
/// interval [lo, hi]; the k-th smallest hi is a bound no identity outside the top k can beat,
/// and every identity whose lo is within it is scored exactly from the Float32 rows.
///
/// The rows of one identity are contiguous. Templates holding NaN or infinity are left out of
/// the matrix and counted per identity. ``generation`` is the store's when the index was read
/// (``Verifier`` reloads the index when the store's changes).
public final class TemplateIndex: Sendable {
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
    /// Each row's squared norm (summed in Double).
    let squaredNorms: [Float]
    /// rows × dimension: each row quantized to int8 with its own scale.
    let quantized: [Int8]
    /// Each row's scale (value = scale · int8), its quantization error ‖t − t̂‖ and ‖t̂‖, both rounded up.
    let scales: [Float]
    let quantizationErrors: [Float]
    let quantizedNorms: [Float]

    /// Usable templates in the index.
    public var templateCount: Int { squaredNorms.count }
    /// Identities read (with or without usable templates).
    public var identityCount: Int { names.count }
    /// Bytes the index holds (both matrices and the per-row values).
    public var byteCount: Int { (matrix.count + 4 * squaredNorms.count) * 4 + quantized.count }

    init(
        dimension: Int, generation: GalleryGeneration, path: String, names: [String], rowStart: [Int], skipped: [Int],
        matrix: [Float], squaredNorms: [Float], quantized: [Int8], scales: [Float], quantizationErrors: [Float],
        quantizedNorms: [Float]
    ) {
        self.quantized = quantized
        self.scales = scales
        self.quantizationErrors = quantizationErrors
        self.quantizedNorms = quantizedNorms
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
        // @unchecked Sendable: a builder is filled by one thread at a time (the store's reader,
        // inside one synchronous read while its caller waits), then read once by `finish`.
        let dimension: Int
        let path: String
        var names: [String] = []
        var rowStart: [Int] = [0]
        var skipped: [Int] = []
        var matrix: [Float] = []
        var squaredNorms: [Float] = []
        var quantized: [Int8] = []
        var scales: [Float] = []
        var quantizationErrors: [Float] = []
        var quantizedNorms: [Float] = []
        var currentKey: Int64? = nil
        var failure: GalleryError? = nil

        public init(dimension: Int, path: String, expectedRows: Int = 0) {
            self.dimension = dimension
            self.path = path
            if expectedRows > 0 { reserve(rows: expectedRows) }
        }

        /// Adds one stored template (little-endian Float32 bytes) of identity `key` named `name`.
        /// A template of the wrong size makes ``finish(generation:)`` throw
        /// ``GalleryError/notAGallery(path:reason:)``, as reading it anywhere else does.
        /// Room for `rows` templates.
        public func reserve(rows: Int) {
            matrix.reserveCapacity(rows * dimension)
            quantized.reserveCapacity(rows * dimension)
            for a in [\Builder.squaredNorms, \.scales, \.quantizationErrors, \.quantizedNorms]
                as [ReferenceWritableKeyPath<Builder, [Float]>]
            {
                self[keyPath: a].reserveCapacity(rows)
            }
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
            var norm = 0.0
            var largest: Float = 0
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
                    norm += Double(v) * Double(v)
                    largest = Swift.max(largest, abs(v))
                    finite = finite && v.isFinite
                }
            }
            // As the exhaustive path: a template whose distances could overflow is not compared.
            if !finite || !Float(norm).isFinite {
                matrix.removeSubrange(start...)
                skipped[skipped.count - 1] += 1
                return
            }
            squaredNorms.append(Float(norm))
            let q = matrix.withUnsafeBufferPointer { m in
                TemplateIndex.quantize(UnsafeBufferPointer(rebasing: m[start..<(start + dimension)]), largest: largest)
            }
            quantized.append(contentsOf: q.values)
            scales.append(q.scale)
            quantizationErrors.append(q.error)
            quantizedNorms.append(q.norm)
        }

        public func append(key: Int64, name: @autoclosure () -> String, data: Data) {
            data.withUnsafeBytes { append(key: key, name: name(), bytes: $0) }
        }

        public func finish(generation: GalleryGeneration) throws(GalleryError) -> TemplateIndex {
            if let failure { throw failure }
            if currentKey != nil { rowStart.append(squaredNorms.count) }
            return TemplateIndex(
                dimension: dimension, generation: generation, path: path, names: names, rowStart: rowStart, skipped: skipped,
                matrix: matrix, squaredNorms: squaredNorms, quantized: quantized, scales: scales,
                quantizationErrors: quantizationErrors, quantizedNorms: quantizedNorms)
        }
    }

    /// A vector quantized to int8 with one scale (largest |value| → 127): the values, the scale,
    /// ‖v − v̂‖ and ‖v̂‖ (each computed in Double and rounded up, so they bound the truth).
    static func quantize(_ v: UnsafeBufferPointer<Float>, largest: Float) -> (
        values: [Int8], scale: Float, error: Float, norm: Float
    ) {
        guard largest > 0 else { return ([Int8](repeating: 0, count: v.count), 0, 0, 0) }
        let scale = largest / 127
        var values = [Int8](repeating: 0, count: v.count)
        var error = 0.0, norm = 0.0
        for c in 0..<v.count {
            let q = Swift.max(-127, Swift.min(127, (v[c] / scale).rounded()))
            values[c] = Int8(q)
            let back = Double(scale) * Double(q)
            error += (Double(v[c]) - back) * (Double(v[c]) - back)
            norm += back * back
        }
        return (values, scale, Float(error.squareRoot()).nextUp, Float(norm.squareRoot()).nextUp)
    }

    /// The int8 product of ``search(probe:top:score:)`` alone (benchmarks: where the time goes).
    public func coarseProduct(_ probe: [Float]) -> [Int32] {
        var largest: Float = 0
        for v in probe { largest = Swift.max(largest, abs(v)) }
        let qp = probe.withUnsafeBufferPointer { Self.quantize($0, largest: largest) }
        var out = [Int32](repeating: 0, count: templateCount)
        if templateCount > 0 {
            facetwin_int8_dots(quantized, templateCount, Int32(dimension), qp.values, &out)
        }
        return out
    }

    /// The int8 kernel (`portable`: its plain loop), for tests: n rows of d values against a probe.
    static func int8Dots(_ rows: [Int8], n: Int, d: Int, probe: [Int8], portable: Bool = false) -> [Int32] {
        var out = [Int32](repeating: 0, count: n)
        if portable {
            facetwin_int8_dots_portable(rows, n, Int32(d), probe, &out)
        } else {
            facetwin_int8_dots(rows, n, Int32(d), probe, &out)
        }
        return out
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

        // The probe quantized like the rows; its norm and quantization error.
        var largest: Float = 0
        var probeSquared = 0.0
        for v in probe {
            largest = Swift.max(largest, abs(v))
            probeSquared += Double(v) * Double(v)
        }
        let qp = probe.withUnsafeBufferPointer { Self.quantize($0, largest: largest) }
        let pn = probeSquared.squareRoot()
        let probeScale = Double(qp.scale), probeError = Double(qp.error)

        // The one matrix–vector product: every row's int8 dot product with the probe, exact in int32.
        var dots = [Int32](repeating: 0, count: rows)
        quantized.withUnsafeBufferPointer { q in
            qp.values.withUnsafeBufferPointer { p in
                dots.withUnsafeMutableBufferPointer { out in
                    facetwin_int8_dots(q.baseAddress!, rows, Int32(dimension), p.baseAddress!, out.baseAddress!)
                }
            }
        }

        // Each row's squared distance lies within w of |t|² + |p|² − 2 t̂·p̂, w = 2(‖t − t̂‖·‖p‖ +
        // ‖t̂‖·‖p − p̂‖) and a margin for the Float32 storage of |t|², the scales and the bounds.
        let identities = names.count
        var lo = [Double](repeating: .infinity, count: identities)
        var hi = [Double](repeating: .infinity, count: identities)
        var compared = 0
        squaredNorms.withUnsafeBufferPointer { norms in
            dots.withUnsafeBufferPointer { y in
                scales.withUnsafeBufferPointer { sc in
                    quantizationErrors.withUnsafeBufferPointer { qe in
                        quantizedNorms.withUnsafeBufferPointer { qn in
                            for id in 0..<identities {
                                let a = rowStart[id], b = rowStart[id + 1]
                                guard b > a else { continue }
                                compared += 1
                                var l = score == .min ? Double.infinity : 0, h = l
                                for r in a..<b {
                                    let t2 = Double(norms[r])
                                    let d2 = t2 + probeSquared - 2 * Double(sc[r]) * probeScale * Double(y[r])
                                    let w =
                                        2 * (Double(qe[r]) * pn + Double(qn[r]) * probeError) + 1e-6 * (t2 + probeSquared)
                                    if score == .min {
                                        l = Swift.min(l, d2 - w)
                                        h = Swift.min(h, d2 + w)
                                    } else {
                                        l += Swift.max(0, d2 - w).squareRoot()
                                        h += Swift.max(0, d2 + w).squareRoot()
                                    }
                                }
                                if score == .min {
                                    lo[id] = Swift.max(0, l).squareRoot()
                                    hi[id] = Swift.max(0, h).squareRoot()
                                } else {
                                    lo[id] = l / Double(b - a) * (1 - 1e-9)
                                    hi[id] = h / Double(b - a) * (1 + 1e-9)
                                }
                            }
                        }
                    }
                }
            }
        }

        // τ: the k-th smallest upper bound; every identity whose lower bound is within it may be in
        // the top k (widened by a few Float32 ulps: exact scores are reported as Float32, and ties
        // there are broken by name).
        let tau = Self.kthSmallest(hi, k: Swift.min(k, compared)) * (1 + 1e-6) + 1e-12
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
    static func kthSmallest(_ values: [Double], k: Int) -> Double {
        guard k >= 1 else { return .infinity }
        // A max-heap of the k smallest seen.
        var heap: [Double] = []
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
