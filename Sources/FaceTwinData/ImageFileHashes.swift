import Foundation

/// The SHA-256 of image files' bytes, to find the same photo filed twice (for instance under
/// two identities, which would put it on both sides of a train/test split).
package enum ImageFileHashes {
    /// The hex SHA-256 of a file's bytes. Throws `FileError` when it cannot be read.
    package static func sha256(ofFile path: String) throws(FileError) -> String {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path), options: .mappedIfSafe)
        } catch {
            throw FileError(path: path, "cannot read: \(error.localizedDescription)")
        }
        var hash = SHA256()
        data.withUnsafeBytes { hash.update($0) }
        return hash.hexDigest()
    }

    /// The first file of `test` (in order) whose bytes equal those of a file of `train`, with
    /// that training file; nil when the two sides share no content. `hashes` maps each path to
    /// its hash (from ``sha256(ofFile:)``).
    package static func firstShared(test: [String], train: [String], hashes: [String: String]) -> SharedFile? {
        var trainByHash: [String: String] = [:]
        for path in train { if let h = hashes[path], trainByHash[h] == nil { trainByHash[h] = path } }
        for path in test {
            if let h = hashes[path], let other = trainByHash[h] { return SharedFile(test: path, train: other) }
        }
        return nil
    }
}

/// A test file whose bytes equal a training file's (``ImageFileHashes/firstShared(test:train:hashes:)``).
package struct SharedFile: Equatable, Sendable {
    package var test: String
    package var train: String

    package init(test: String, train: String) {
        self.test = test
        self.train = train
    }
}
