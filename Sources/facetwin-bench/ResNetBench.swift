import FaceTwin
import Foundation

/// `--resnet [--model FILE]`: dlib's ResNet in FaceTwin's engine, chips embedded at batch 1 and
/// at --batch, median wall ms a chip over --steps runs after --warmup; the weights of the model
/// file (a `facetwin.dlib-resnet` file) or, without one, random weights of the same architecture
/// (the time does not depend on the values). Prints one JSON object.
func runResNetBench(modelPath: String?, batch: Int, steps: Int, warmup: Int) {
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
        network = DlibResNet(architecture: .v1, seed: 1)
    }
    let side = network.architecture.input.size
    var rng = RandomSource(seed: 2)
    var result: [String: Double] = [:]
    for n in [1, batch] {
        let images = Tensor(shape: [n, 3, side, side])
        for i in 0..<images.count { images.pointer[i] = Float(Int.random(in: 0...255, using: &rng)) / 255 }
        var times: [Double] = []
        let runs = n == 1 ? 4 * steps : steps
        var cpu = 0.0
        for r in 0..<(warmup + runs) {
            let (t0, c0) = (now(), cpuTime())
            _ = network.forward(images, mode: .evaluation)
            if r >= warmup {
                times.append(now() - t0)
                cpu += cpuTime() - c0
            }
        }
        let ms = 1000 * median(times) / Double(n)
        result["resnet_batch\(n)_ms_per_chip"] = ms
        result["resnet_batch\(n)_chips_per_s"] = 1000 / ms
        // CPU time of all threads a chip: what a shared machine inflates least.
        result["resnet_batch\(n)_cpu_ms_per_chip"] = 1000 * cpu / Double(runs * n)
    }
    result["workers"] = Double(Parallel.workers)
    let keys = result.keys.sorted()
    print("{" + keys.map { "\"\($0)\": \(String(format: "%.3f", result[$0]!))" }.joined(separator: ", ") + "}")
}
