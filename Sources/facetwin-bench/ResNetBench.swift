import FaceTwin
import Foundation

/// `--resnet [--model FILE] [--dlib FILE.dat]`: dlib's ResNet in FaceTwin's engine, chips
/// embedded at batch 1 and at --batch, median wall ms a chip over --steps runs (4× as many at
/// batch 1) after --warmup; the weights of the model file (a `facetwin.dlib-resnet` file) or,
/// without one, random weights of the same architecture (the time does not depend on the
/// values). With --dlib, dlib's own forward of that .dat (Debian's libdlib through CDlibNet) on
/// the same chips, its runs alternated with FaceTwin's so both see the same machine, OpenBLAS
/// at 2 threads for dlib (FaceTwin splits its work between the cores itself). Prints one JSON
/// object, with CPU ms a chip (all threads) beside each wall time.
func runResNetBench(modelPath: String?, dlibPath: String?, batch: Int, steps: Int, warmup: Int, layerTimes: Bool) {
    var dlib: DlibNetwork? = nil
    if let dlibPath {
        do { dlib = try DlibNetwork(path: dlibPath) } catch {
            FileHandle.standardError.write(Data("facetwin-bench: \(error)\n".utf8))
            exit(2)
        }
    }
    let network: DlibResNet
    if let modelPath {
        do {
            guard let resnet = try FaceModel.load(path: modelPath).resnet else {
                FileHandle.standardError.write(Data("facetwin-bench: \(modelPath) is not a dlib ResNet model\n".utf8))
                exit(2)
            }
            network = resnet
        } catch {
            FileHandle.standardError.write(Data("facetwin-bench: \(error)\n".utf8))
            exit(2)
        }
    } else {
        do {
            network = try DlibResNet(architecture: .v1, seed: 1)
        } catch {
            FileHandle.standardError.write(Data("facetwin-bench: \(error)\n".utf8))
            exit(2)
        }
    }
    let side = network.architecture.input.size
    var rng = RandomSource(seed: 2)
    var result: [String: Double] = [:]
    for n in [1, batch] {
        let images = Tensor(shape: [n, 3, side, side])
        for i in 0..<images.count { images.pointer[i] = Float(Int.random(in: 0...255, using: &rng)) / 255 }
        let chips = (0..<n).map { i in
            RGBImage(
                planes: (0..<3).map { c in
                    GrayImage(
                        width: side, height: side,
                        pixels: (0..<(side * side)).map {
                            UInt8((images.pointer[(i * 3 + c) * side * side + $0] * 255).rounded())
                        })
                })
        }
        var times: [Double] = [], dlibTimes: [Double] = []
        let runs = n == 1 ? 4 * steps : steps
        var cpu = 0.0, dlibCPU = 0.0
        for r in 0..<(warmup + runs) {
            BLAS.setThreads(1)
            let (t0, c0) = (now(), cpuTime())
            _ = network.forward(images, mode: .evaluation)
            if r >= warmup {
                times.append(now() - t0)
                cpu += cpuTime() - c0
            }
            guard let dlib else { continue }
            BLAS.setThreads(2)
            let (t1, c1) = (now(), cpuTime())
            do { _ = try dlib.embed(chips) } catch {
                FileHandle.standardError.write(Data("facetwin-bench: \(error)\n".utf8))
                exit(2)
            }
            if r >= warmup {
                dlibTimes.append(now() - t1)
                dlibCPU += cpuTime() - c1
            }
        }
        BLAS.setThreads(1)
        if dlib != nil {
            let ms = 1000 * median(dlibTimes) / Double(n)
            result["dlib_batch\(n)_ms_per_chip"] = ms
            result["dlib_batch\(n)_cpu_ms_per_chip"] = 1000 * dlibCPU / Double(runs * n)
            result["speedup_batch\(n)"] = ms / (1000 * median(times) / Double(n))
        }
        let ms = 1000 * median(times) / Double(n)
        result["resnet_batch\(n)_ms_per_chip"] = ms
        result["resnet_batch\(n)_chips_per_s"] = 1000 / ms
        // CPU time of all threads a chip: what a shared machine inflates least.
        result["resnet_batch\(n)_cpu_ms_per_chip"] = 1000 * cpu / Double(runs * n)
    }
    if layerTimes {
        // Each stage at --batch, evaluation, median wall ms a chip, on stderr.
        let images = Tensor(shape: [batch, 3, side, side])
        for i in 0..<images.count { images.pointer[i] = Float(Int.random(in: 0...255, using: &rng)) / 255 }
        func timed(_ name: String, _ body: () -> Tensor) -> Tensor {
            var out = body()
            var times: [Double] = []
            for _ in 0..<steps {
                let t0 = now()
                out = body()
                times.append(now() - t0)
            }
            FileHandle.standardError.write(
                Data(String(format: "%-28@ %7.3f ms a chip\n", name as NSString, 1000 * median(times) / Double(batch)).utf8))
            return out
        }
        BLAS.setThreads(1)
        var h = timed("stem conv+affine+relu") {
            network.conv1.forward(images, epilogue: ZeroPaddedConv2d.Epilogue(network.affine1, relu: true))
        }
        let stem = h
        h = timed("stem max pool") { network.pool.forward(stem, mode: .evaluation) }
        for (i, block) in network.blocks.enumerated() {
            let x = h
            h = timed("block \(i) (\(block.conv1.inChannels)→\(block.conv1.outChannels)/\(block.conv1.stride))") {
                block.forward(x, mode: .evaluation)
            }
        }
    }
    result["workers"] = Double(Parallel.workers)
    let keys = result.keys.sorted()
    print("{" + keys.map { "\"\($0)\": \(String(format: "%.3f", result[$0]!))" }.joined(separator: ", ") + "}")
}
