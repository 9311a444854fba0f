// Times dlib's own forward of its face-recognition ResNet (Debian's libdlib through
// Sources/CDlibNet, compiled -O2) and prints one JSON object per batch size:
//   facetwin-dlib-bench MODEL.dat [--batches 1,32] [--runs 7] [--warmup 2] [--chips 32]
// Each run embeds --chips chips (150x150 RGB, a fixed pattern: the time does not depend on the
// pixels) in batches of the given size; the median run gives ms per chip. dlib's convolutions
// use the BLAS it links (Debian: OpenBLAS; OPENBLAS_NUM_THREADS sets its threads).
// scripts/bench.sh runs it for the dlib rows.
import CDlibNet
import Foundation

var batches = [1, 32], runs = 7, warmup = 2, chipCount = 32
var model: String? = nil
var args = CommandLine.arguments.dropFirst()
func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("facetwin-dlib-bench: \(message)\n".utf8))
    exit(2)
}
while let a = args.popFirst() {
    switch a {
    case "--help", "-h":
        print("usage: facetwin-dlib-bench MODEL.dat [--batches 1,32] [--runs 7] [--warmup 2] [--chips 32]")
        exit(0)
    case "--batches":
        guard let v = args.popFirst(), case let list = v.split(separator: ",").compactMap({ Int($0) }),
            !list.isEmpty, list.allSatisfy({ $0 > 0 && $0 <= 256 })
        else { fail("--batches needs sizes from 1 to 256, comma-separated") }
        batches = list
    case "--runs", "--warmup", "--chips":
        guard let v = args.popFirst().flatMap(Int.init), v >= (a == "--warmup" ? 0 : 1), v <= 10_000 else {
            fail("\(a) needs a number")
        }
        if a == "--runs" { runs = v } else if a == "--warmup" { warmup = v } else { chipCount = v }
    default:
        guard model == nil, !a.hasPrefix("-") else { fail("unknown option \(a) (--help lists them)") }
        model = a
    }
}
guard let model else { fail("give the model (dlib_face_recognition_resnet_model_v1.dat)") }

var status: Int32 = 0
var message = [CChar](repeating: 0, count: 512)
guard let net = facetwin_dlibnet_load(model, &status, &message, message.count) else {
    fail("\(model): \(String(cString: message))")
}
defer { facetwin_dlibnet_destroy(net) }

let side = Int(FACETWIN_DLIBNET_CHIP_SIZE)
let chipBytes = side * side * 3
let maxBatch = batches.max()!
var input = [UInt8](repeating: 0, count: maxBatch * chipBytes)
for i in input.indices { input[i] = UInt8(truncatingIfNeeded: (i &* 2_654_435_761) >> 13) }
var output = [Float](repeating: 0, count: maxBatch * Int(FACETWIN_DLIBNET_EMBEDDING))

func now() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
}

for batch in batches {
    let calls = max(1, chipCount / batch)
    var times: [Double] = []
    for r in 0..<(warmup + runs) {
        let start = now()
        for _ in 0..<calls {
            if facetwin_dlibnet_forward(net, input, Int32(batch), &output, &message, message.count) != 0 {
                fail("dlib's forward failed: \(String(cString: message))")
            }
        }
        let ms = (now() - start) * 1000 / Double(calls * batch)
        if r >= warmup { times.append(ms) }
    }
    let sorted = times.sorted()
    let median = sorted[sorted.count / 2]
    let threads = ProcessInfo.processInfo.environment["OPENBLAS_NUM_THREADS"] ?? "default"
    let runsText = times.map { String(format: "%.2f", $0) }.joined(separator: ",")
    print(
        "{\"engine\":\"dlib (Debian libdlib, -O2)\",\"batch\":\(batch),\"chips_per_run\":\(calls * batch),"
            + "\"ms_per_chip_median\":\(String(format: "%.2f", median)),\"chips_per_s\":\(String(format: "%.1f", 1000 / median)),"
            + "\"runs_ms_per_chip\":[\(runsText)],\"openblas_threads\":\"\(threads)\"}")
}
