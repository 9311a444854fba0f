import Foundation

extension Evaluation {
    /// The most images ``writeScoreMatrix(to:)`` writes (a square of 4096² distances is about
    /// 150 MB of text).
    public static let scoreMatrixLimit = 4096

    /// Writes the all-against-all distance matrix of the evaluated images as CSV, for other
    /// tools: a header `image,<path 1>,…,<path n>`, then one row per image, its path and its
    /// Euclidean embedding distance to every image (0 on the diagonal), in the order of
    /// ``imagePaths``. Rows are written as they are made, through `OutputFile` (nothing at
    /// `path` until the whole matrix is written).
    /// - Throws: `FileError` when the file cannot be written, or when there are more than
    ///   ``scoreMatrixLimit`` images.
    public func writeScoreMatrix(to path: String) throws(FileError) {
        let n = imagePaths.count
        guard n <= Self.scoreMatrixLimit else {
            throw FileError(
                path: path, "a score matrix of \(n) images is more than \(Self.scoreMatrixLimit) (evaluate fewer identities)")
        }
        let file = try OutputFile.stage(path)
        do {
            try file.write(Data((["image"] + imagePaths.map(CSV.field)).joined(separator: ",").utf8 + [0x0A]))
            try embeddings.withUnsafeBufferPointer { (e) throws(FileError) in
                for i in 0..<n {
                    var row = CSV.field(imagePaths[i])
                    row.reserveCapacity(n * 10)
                    let a = e.baseAddress! + i * dimension
                    for j in 0..<n {
                        let d = i == j ? 0 : Self.distance(a, e.baseAddress! + j * dimension, dimension: dimension)
                        row += "," + String(format: "%.6g", d)
                    }
                    row += "\n"
                    try file.write(Data(row.utf8))
                }
            }
            try file.commit()
        } catch {
            file.discard()
            throw error
        }
    }
}
