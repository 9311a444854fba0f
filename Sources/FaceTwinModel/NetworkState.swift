extension SiameseNetwork {
    /// Copies the network's state (every parameter, running statistic and
    /// `num_batches_tracked`) from a safetensors file, each under `prefix` + its PyTorch name.
    /// Every tensor must be present with the network's shape; a file with more tensors is fine
    /// (a fixture may hold several states).
    package func loadState(from file: SafeTensorsFile, prefix: String = "") throws(ModelFileError) {
        func fail(_ message: String) -> ModelFileError { ModelFileError(path: file.path, message) }
        // New weights: whatever was built from the old ones goes.
        thaw()
        for (name, value) in stateDict {
            let key = prefix + name
            guard case .tensor(let tensor) = value else { continue }
            guard file.contains(key) else { throw fail("not a FaceTwin model: tensor \(key) is missing") }
            let shape: [Int]
            do { shape = try file.shape(of: key) } catch { throw fail("\(error)") }
            guard shape == tensor.shape else {
                throw fail("tensor \(key) has shape \(shape), the network expects \(tensor.shape)")
            }
            do {
                if try file.dtype(of: key) == .float32 {
                    // Straight from the mapped file: little-endian F32 is this machine's Float.
                    try file.withUnsafeBytes(of: key) { raw in
                        UnsafeMutableRawPointer(tensor.pointer).copyMemory(from: raw.baseAddress!, byteCount: raw.count)
                    }
                } else {
                    let values = try file.floats(key)
                    values.withUnsafeBufferPointer { tensor.pointer.update(from: $0.baseAddress!, count: values.count) }
                }
            } catch {
                throw fail("tensor \(key): \(error)")
            }
        }
        try loadBatchesTracked(from: file, prefix: prefix)
    }

    /// Copies every BatchNorm's `num_batches_tracked` from the file (0 where the file has none).
    func loadBatchesTracked(from file: SafeTensorsFile, prefix: String = "") throws(ModelFileError) {
        func fail(_ message: String) -> ModelFileError { ModelFileError(path: file.path, message) }
        for (name, value) in stateDict {
            guard case .batchesTracked(let bn) = value else { continue }
            let key = prefix + name
            // PyTorch writes it; a file without it (older PyTorch) starts the count at 0.
            guard file.contains(key) else { bn.numBatchesTracked = 0; continue }
            do {
                let v = try file.int64s(key)
                guard v.count == 1 else { throw fail("tensor \(key) should be a scalar") }
                bn.numBatchesTracked = v[0]
            } catch let e as ModelFileError {
                throw e
            } catch {
                throw fail("tensor \(key): \(error)")
            }
        }
    }
}
