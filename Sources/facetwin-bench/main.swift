// Times FaceTwin's engine on the reference recipe's shapes and prints one JSON object:
//   swift run -c release facetwin-bench [--steps 20] [--warmup 3] [--batch 32] [--embed-batch 64]
//       [--breakdown] (wall and CPU ms per phase) [--layers] (each layer, on stderr)
//       [--compare-gemm] (FaceTwin's own kernels against OpenBLAS + a separate Adam pass,
//       alternated in this process, on stderr: embeddings at --embed-batch, and training steps)
//       [--no-fused-adam] (time the steps with Adam as a separate pass)
//       [--compare-cnn] (the CNN's evaluation image by image against block by block, and the
//       embeddings with each, alternated in this process, on stderr)
//       [--compare-sparse] (a frozen network's embeddings with the first linear layer's product
//       over the nonzeros of its input against the dense product, alternated, on stderr)
//       [--dense-embed] (time embeddings with the dense product only: the network is not frozen)
//       [--serve-embed] (after the steps, for each line "N" on stdin embeds N batches of
//       --embed-batch and prints their wall seconds; scripts/bench-embed-pairs.py alternates it
//       with PyTorch)
//       [--resnet [--model FILE] [--dlib FILE.dat]] (only dlib's ResNet: ms a chip at batch 1 and --batch,
//       Sources/facetwin-bench/ResNetBench.swift)
//       [--identify …, --make-gallery …, --load-gallery …] (identification at scale,
//       Sources/facetwin-bench/IdentifyBench.swift)
// scripts/bench.sh runs it beside the PyTorch reference and prints the ratios.
import FaceTwin
import Foundation

if runIdentifyBenchIfAsked() { exit(0) }

var steps = 20, warmup = 3, batch = 32, embedBatch = 64, latencyRuns = 50
var breakdown = false, layerTimes = false, compareGEMM = false, compareCNN = false, fuseAdam = true, serveEmbed = false
var compareSparse = false, denseEmbed = false, resnet = false
var modelPath: String? = nil, dlibPath: String? = nil
var args = CommandLine.arguments.dropFirst()
while let a = args.popFirst() {
    if a == "--help" || a == "-h" {
        print(
            """
            usage: facetwin-bench [--steps 20] [--warmup 3] [--batch 32] [--embed-batch 64] [--latency-runs 50]
                                  [--breakdown] [--layers] [--compare-gemm] [--no-fused-adam] [--compare-cnn]
                                  [--compare-sparse] [--dense-embed] [--serve-embed] [--resnet [--model FILE] [--dlib FILE.dat]]
            Times FaceTwin's engine on the reference recipe's shapes and prints one JSON object
            (Sources/facetwin-bench/main.swift says what each option does; scripts/bench.sh runs it
            beside the PyTorch reference).
            """)
        exit(0)
    }
    if a == "--breakdown" { breakdown = true; continue }
    if a == "--layers" { layerTimes = true; continue }
    if a == "--compare-gemm" { compareGEMM = true; continue }
    if a == "--compare-cnn" { compareCNN = true; continue }
    if a == "--no-fused-adam" { fuseAdam = false; continue }
    if a == "--serve-embed" { serveEmbed = true; continue }
    if a == "--compare-sparse" { compareSparse = true; continue }
    if a == "--dense-embed" { denseEmbed = true; continue }
    if a == "--resnet" { resnet = true; continue }
    if a == "--model" || a == "--dlib" {
        guard let path = args.popFirst() else {
            FileHandle.standardError.write(Data("facetwin-bench: \(a) needs a file\n".utf8))
            exit(2)
        }
        if a == "--model" { modelPath = path } else { dlibPath = path }
        continue
    }
    guard ["--steps", "--warmup", "--batch", "--embed-batch", "--latency-runs"].contains(a) else {
        FileHandle.standardError.write(Data("facetwin-bench: unknown option \(a) (--help lists them)\n".utf8))
        exit(2)
    }
    guard let v = args.popFirst().flatMap(Int.init), v > 0 else {
        FileHandle.standardError.write(Data("facetwin-bench: \(a) needs a positive integer\n".utf8))
        exit(2)
    }
    switch a {
    case "--steps": steps = v
    case "--warmup": warmup = v
    case "--batch": batch = v
    case "--embed-batch": embedBatch = v
    case "--latency-runs": latencyRuns = v
    default: preconditionFailure("option \(a) is in the list above but not here")
    }
}

func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }
/// CPU time of the process (all threads), which a busy machine inflates far less than wall time.
func cpuTime() -> Double {
    var u = rusage()
    getrusage(RUSAGE_SELF.rawValue, &u)
    return Double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + Double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6
}
func median(_ xs: [Double]) -> Double {
    let s = xs.sorted(); return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

if resnet {
    runResNetBench(modelPath: modelPath, dlibPath: dlibPath, batch: batch, steps: steps, warmup: warmup, layerTimes: layerTimes)
    exit(0)
}

let config = NetworkConfig.reference
let hw = config.inputHeight * config.inputWidth
var rng = RandomSource(seed: 1)
let network = SiameseNetwork(config: config, seed: 0)
let adam = Adam(parameters: network.namedParameters.map(\.parameter), learningRate: 5e-4)
let loss = ContrastiveLoss(margin: 2)
let step = try TrainingStep(network: network, loss: loss)
let images = Tensor(shape: [2 * batch, 1, config.inputHeight, config.inputWidth])
for i in 0..<images.count { images.pointer[i] = Float.random(in: 0..<1, using: &rng) }
let labels = (0..<batch).map { Float($0 % 2) }

var stepTimes: [Double] = []
for s in 0..<(warmup + steps) {
    let t0 = now()
    adam.zeroGradients(fuseIntoBackward: fuseAdam)
    step.run(images: images, labels: labels)
    adam.update()
    if s >= warmup { stepTimes.append(now() - t0) }
}

// Embeddings on request, for a driver that alternates this process with PyTorch turn by turn
// (both resident, one idle while the other runs). After the training steps above (the state in
// which this program's own embeddings are timed), prints "ready" after --warmup batches, then
// for each line "N" on stdin runs N batches and prints each one's wall seconds on one line;
// ends at end of input.
/// Embedding is timed as a loaded model is used: frozen (`freezeForInference`), its sparse
/// product built by a warm-up of `network.options.sparseBuildThreshold` images (the one-time
/// build is timed by --compare-sparse), unless --dense-embed.
@MainActor func prepareForEmbedding(_ pixels: [Float]) {
    guard !denseEmbed else { return }
    network.freezeForInference()
    var done = 0
    while done < network.options.sparseBuildThreshold {
        _ = network.embed(pixels: pixels, count: embedBatch, batchSize: embedBatch)
        done += embedBatch
    }
}

if serveEmbed {
    let pixels = (0..<(embedBatch * hw)).map { _ in Float.random(in: 0..<1, using: &rng) }
    prepareForEmbedding(pixels)
    for _ in 0..<warmup { _ = network.embed(pixels: pixels, count: embedBatch, batchSize: embedBatch) }
    print("ready")
    fflush(nil)
    while let line = readLine() {
        // A line "N" asks for N batches back to back (1 if it is not a positive number).
        let times = (0..<max(1, Int(line) ?? 1)).map { _ in
            let t0 = now()
            _ = network.embed(pixels: pixels, count: embedBatch, batchSize: embedBatch)
            return String(format: "%.6f", now() - t0)
        }
        print(times.joined(separator: " "))
        fflush(nil)
    }
    exit(0)
}

// Where a step's time goes, phase by phase (the same work as TrainingStep.run + Adam).
var phases: [String: Double] = [:]
if breakdown {
    var acc: [String: [Double]] = [:], cpu: [String: [Double]] = [:]
    let grad = Tensor(shape: [2 * batch, config.embeddingSize])
    for (_, bn) in network.batchNorms { bn.groups = 2 }
    for s in 0..<(warmup + steps) {
        var t = now(), c = cpuTime()
        func lap(_ name: String) {
            let t1 = now(), c1 = cpuTime()
            if s >= warmup { acc[name, default: []].append(t1 - t); cpu[name, default: []].append(c1 - c) }
            t = t1
            c = c1
        }
        adam.zeroGradients(fuseIntoBackward: fuseAdam); lap("zero_grad")
        let features = network.cnn1.forward(images, mode: .training); lap("cnn_forward")
        let emb = network.fc1.forward(features.reshaped([2 * batch, config.flatFeatures]), mode: .training); lap("fc_forward")
        _ = loss.evaluate(
            first: emb.pointer, second: emb.pointer + batch * config.embeddingSize, dim: config.embeddingSize,
            labels: labels, gradFirst: grad.pointer, gradSecond: grad.pointer + batch * config.embeddingSize)
        let g = network.fc1.backward(grad, needsInputGradient: true)!; lap("fc_backward")
        _ = network.cnn1.backward(g.reshaped(features.shape), needsInputGradient: false); lap("cnn_backward")
        adam.update(); lap("adam")
    }
    for (_, bn) in network.batchNorms { bn.groups = 1 }
    for (k, v) in acc { phases["ms_" + k] = 1000 * median(v) }
    for (k, v) in cpu { phases["cpu_ms_" + k] = 1000 * median(v) }
}

// Each layer of a step on its own (wall ms, median), forward in training mode, backward, and
// forward in evaluation mode at the embedding batch.
if layerTimes {
    var acc: [String: [Double]] = [:]
    let grad = Tensor(shape: [2 * batch, config.embeddingSize])
    for i in 0..<grad.count { grad.pointer[i] = Float.random(in: -1..<1, using: &rng) }
    let evalImages = Tensor(shape: [embedBatch, 1, config.inputHeight, config.inputWidth])
    for i in 0..<evalImages.count { evalImages.pointer[i] = Float.random(in: 0..<1, using: &rng) }
    // The CNN's blocks by their modules' indices (cnn1.0-3 is the first block), then the MLP's layers.
    let blocks = network.cnn1.blocks
    let all: [(String, Layer)] =
        blocks.indices.map { b in ("cnn1.\(4 * b)-\(4 * b + 3)", blocks[b]) }
        + network.fc1.layers.enumerated().map { ("fc1.\($0)", $1) }
    for (_, bn) in network.batchNorms { bn.groups = 2 }
    for s in 0..<(warmup + steps) {
        func timed<T>(_ name: String, _ body: () -> T) -> T {
            let t0 = now(); let r = body()
            if s >= warmup { acc[name, default: []].append(now() - t0) }
            return r
        }
        var x = images
        for (name, layer) in all {
            if name == "fc1.0" { x = x.reshaped([2 * batch, config.flatFeatures]) }
            x = timed("train fwd " + name) { layer.forward(x, mode: .training) }
        }
        var g: Tensor? = grad
        for (i, (name, layer)) in all.enumerated().reversed() {
            guard var gg = g else { break }
            if i == blocks.count - 1 {
                gg = gg.reshaped([2 * batch, config.channels.last!, config.inputHeight, config.inputWidth])
            }
            g = timed("train bwd " + name) { layer.backward(gg, needsInputGradient: i > 0) }
        }
        _ = timed("train fwd cnn1 (whole)") { network.cnn1.forward(images, mode: .training) }
        _ = timed("eval fwd cnn1 (whole)") { network.cnn1.forward(evalImages, mode: .evaluation) }
        adam.zeroGradients()
        var e = evalImages
        for (name, layer) in all {
            if name == "fc1.0" { e = e.reshaped([embedBatch, config.flatFeatures]) }
            e = timed("eval fwd " + name) { layer.forward(e, mode: .evaluation) }
        }
    }
    for (_, bn) in network.batchNorms { bn.groups = 1 }
    for name in acc.keys where name.hasSuffix("(whole)") {
        FileHandle.standardError.write(
            Data(
                "\(name.padding(toLength: 39, withPad: " ", startingAt: 0)) \(String(format: "%8.2f", 1000 * median(acc[name]!))) ms\n"
                    .utf8))
    }
    for name in acc.keys.filter({ !$0.hasSuffix("(whole)") }).sorted(by: { a, b in
        let order = ["train fwd", "train bwd", "eval fwd"]
        let (pa, pb) = (order.firstIndex { a.hasPrefix($0) }!, order.firstIndex { b.hasPrefix($0) }!)
        if pa != pb { return pa < pb }
        let (la, lb) = (all.firstIndex { a.hasSuffix(" " + $0.0) }!, all.firstIndex { b.hasSuffix(" " + $0.0) }!)
        return pa == 1 ? la > lb : la < lb
    }) {
        let layer = all.first { name.hasSuffix(" " + $0.0) }!.1
        FileHandle.standardError.write(
            Data(
                "\(name.padding(toLength: 20, withPad: " ", startingAt: 0)) \(String(describing: type(of: layer)).padding(toLength: 18, withPad: " ", startingAt: 0)) \(String(format: "%8.2f", 1000 * median(acc[name]!))) ms\n"
                    .utf8))
    }
}

let pixels = (0..<(embedBatch * hw)).map { _ in Float.random(in: 0..<1, using: &rng) }
if compareSparse && WeightGEMM.isSupported {
    network.thaw()
    network.freezeForInference()
    let saved = network.options
    network.options.sparseBuildThreshold = embedBatch
    network.options.sparseEvaluation = false
    let dense = network.embed(pixels: pixels, count: embedBatch, batchSize: embedBatch)
    let t0 = now()
    network.options.sparseEvaluation = true
    let sparse = network.embed(pixels: pixels, count: embedBatch, batchSize: embedBatch)
    let buildAndFirst = now() - t0
    network.options = saved
    var worst: Float = 0, largest: Float = 0
    for (a, b) in zip(sparse, dense) { worst = max(worst, abs(a - b)); largest = max(largest, abs(b)) }
    var times: [Bool: [Double]] = [true: [], false: []]
    for r in 0..<(2 * (warmup + 2 * steps)) {
        network.options.sparseEvaluation = r % 2 == 0
        let t = now()
        _ = network.embed(pixels: pixels, count: embedBatch, batchSize: embedBatch)
        if r >= 2 * warmup { times[r % 2 == 0]!.append(now() - t) }
    }
    network.options.sparseEvaluation = true
    let (sp, de) = (times[true]!, times[false]!)
    FileHandle.standardError.write(
        Data(
            String(
                format:
                    "embeddings/s at batch %d, alternated %d times: sparse first layer %.1f (median %.2f ms, min %.2f), dense %.1f (median %.2f ms, min %.2f): %.3fx; input density %.3f; build + first batch %.0f ms; embeddings differ by at most %.2e (largest %.2f)\n",
                embedBatch, sp.count, Double(embedBatch) / median(sp), 1000 * median(sp), 1000 * sp.min()!,
                Double(embedBatch) / median(de), 1000 * median(de), 1000 * de.min()!, median(de) / median(sp),
                network.sparseInputDensity ?? .nan, 1000 * buildAndFirst, worst, largest
            ).utf8))
    network.thaw()
}
prepareForEmbedding(pixels)
var embedTimes: [Double] = []
for r in 0..<(warmup + max(3, steps / 2)) {
    let t0 = now()
    _ = network.embed(pixels: pixels, count: embedBatch, batchSize: embedBatch)
    if r >= warmup { embedTimes.append(now() - t0) }
}
if compareGEMM && WeightGEMM.isSupported {
    // Alternate the two forward GEMMs call by call, so both see the same machine.
    var times: [Bool: [Double]] = [true: [], false: []]
    for r in 0..<(2 * (warmup + 2 * steps)) {
        network.options.useWeightGEMM = r % 2 == 0
        let t0 = now()
        _ = network.embed(pixels: pixels, count: embedBatch, batchSize: embedBatch)
        if r >= 2 * warmup { times[r % 2 == 0]!.append(now() - t0) }
    }
    network.options.useWeightGEMM = true
    let (own, blas) = (times[true]!, times[false]!)
    FileHandle.standardError.write(
        Data(
            String(
                format:
                    "embeddings/s at batch %d, alternated %d times: own GEMM %.1f (median %.2f ms, min %.2f), OpenBLAS %.1f (median %.2f ms, min %.2f): %.3fx\n",
                embedBatch, own.count, Double(embedBatch) / median(own), 1000 * median(own), 1000 * own.min()!,
                Double(embedBatch) / median(blas), 1000 * median(blas), 1000 * blas.min()!, median(blas) / median(own)
            ).utf8))
    // Training steps: own forward GEMM + Adam folded into the weight gradient, against OpenBLAS
    // for both GEMMs + Adam as its own pass.
    var stepsBy: [Bool: [Double]] = [true: [], false: []]
    for r in 0..<(2 * (warmup + steps)) {
        let ownKernels = r % 2 == 0
        network.options.useWeightGEMM = ownKernels
        let t0 = now()
        adam.zeroGradients(fuseIntoBackward: ownKernels)
        step.run(images: images, labels: labels)
        adam.update()
        if r >= 2 * warmup { stepsBy[ownKernels]!.append(now() - t0) }
    }
    network.options.useWeightGEMM = true
    let (ownSteps, blasSteps) = (stepsBy[true]!, stepsBy[false]!)
    FileHandle.standardError.write(
        Data(
            String(
                format:
                    "training step, alternated %d times: own kernels median %.1f ms (min %.1f), OpenBLAS + Adam pass %.1f ms (min %.1f): %.3fx\n",
                ownSteps.count, 1000 * median(ownSteps), 1000 * ownSteps.min()!, 1000 * median(blasSteps),
                1000 * blasSteps.min()!,
                median(ownSteps) / median(blasSteps)
            ).utf8))
}
if compareCNN {
    // Alternate call by call, so both ways see the same machine.
    let evalImages = Tensor(shape: [embedBatch, 1, config.inputHeight, config.inputWidth])
    for i in 0..<evalImages.count { evalImages.pointer[i] = pixels[i] }
    var cnn: [Bool: [Double]] = [true: [], false: []], whole: [Bool: [Double]] = [true: [], false: []]
    for r in 0..<(2 * (warmup + 2 * steps)) {
        network.options.imageByImageEvaluation = r % 2 == 0
        var t0 = now()
        _ = network.cnn1.forward(evalImages, mode: .evaluation)
        if r >= 2 * warmup { cnn[r % 2 == 0]!.append(now() - t0) }
        t0 = now()
        _ = network.embed(pixels: pixels, count: embedBatch, batchSize: embedBatch)
        if r >= 2 * warmup { whole[r % 2 == 0]!.append(now() - t0) }
    }
    network.options.imageByImageEvaluation = true
    FileHandle.standardError.write(
        Data(
            String(
                format:
                    "CNN evaluation at batch %d, alternated %d times: image by image median %.2f ms (min %.2f), block by block %.2f ms (min %.2f): %.3fx\n",
                embedBatch, cnn[true]!.count, 1000 * median(cnn[true]!), 1000 * cnn[true]!.min()!, 1000 * median(cnn[false]!),
                1000 * cnn[false]!.min()!,
                median(cnn[true]!) / median(cnn[false]!)
            ).utf8))
    FileHandle.standardError.write(
        Data(
            String(
                format: "embeddings/s at batch %d with each: image by image %.1f, block by block %.1f: %.3fx\n",
                embedBatch, Double(embedBatch) / median(whole[true]!), Double(embedBatch) / median(whole[false]!),
                median(whole[false]!) / median(whole[true]!)
            ).utf8))
}
let one = Array(pixels[0..<hw])
var latencies: [Double] = []
for r in 0..<(warmup + latencyRuns) {
    let t0 = now()
    _ = network.embed(pixels: one, count: 1)
    if r >= warmup { latencies.append(now() - t0) }
}

// FLOPs of one step: the three GEMMs of every linear layer and conv (forward, input gradient,
// weight gradient; the first conv has no input gradient), 2 per multiply-add.
var flops = 0.0
let n = Double(2 * batch)
var features = Double(config.flatFeatures)
for h in config.hidden + [config.embeddingSize] { flops += 3 * 2 * n * features * Double(h); features = Double(h) }
var cin = 1.0
for (i, c) in config.channels.enumerated() {
    let f = 2 * n * Double(hw) * Double(c) * cin * 9
    flops += f * (i == 0 ? 2 : 3)
    cin = Double(c)
}
let stepMedian = median(stepTimes)
let result: [String: Double] = [
    "ms_per_step": 1000 * stepMedian,
    "ms_per_step_min": 1000 * (stepTimes.min() ?? 0),
    "pairs_per_s": Double(batch) / stepMedian,
    "gflop_per_step": flops / 1e9,
    "gflops": flops / stepMedian / 1e9,
    "embed_per_s": Double(embedBatch) / median(embedTimes),
    "latency_ms": 1000 * median(latencies),
    "steps": Double(steps),
    "batch": Double(batch),
    "threads": Double(Parallel.workers)
]
// This machine's practical FLOP ceiling: a large square SGEMM through the same OpenBLAS wrapper,
// on every core, median of a few runs (scripts/bench.sh sets the step's GFLOP/s against it).
let gemmSize = 2048, gemmRuns = 5
let gemmA = Tensor(shape: [gemmSize, gemmSize]), gemmB = Tensor(shape: [gemmSize, gemmSize]),
    gemmC = Tensor(shape: [gemmSize, gemmSize])
for i in 0..<gemmA.count {
    gemmA.pointer[i] = Float.random(in: -1..<1, using: &rng); gemmB.pointer[i] = Float.random(in: -1..<1, using: &rng)
}
BLAS.setThreads(Parallel.workers)
var gemmTimes: [Double] = []
for r in 0..<(1 + gemmRuns) {
    let t0 = now()
    BLAS.gemm(m: gemmSize, n: gemmSize, k: gemmSize, a: gemmA.pointer, b: gemmB.pointer, c: gemmC.pointer)
    if r >= 1 { gemmTimes.append(now() - t0) }
}
let gemm = ["gemm_gflops": 2 * pow(Double(gemmSize), 3) / median(gemmTimes) / 1e9, "gemm_size": Double(gemmSize)]

let json = try JSONSerialization.data(
    withJSONObject: result.merging(phases) { a, _ in a }.merging(gemm) { a, _ in a },
    options: [.sortedKeys])
print(String(decoding: json, as: UTF8.self))
