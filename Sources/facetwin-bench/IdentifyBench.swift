// Identification at scale (scripts/bench-identify.sh runs these):
//   facetwin-bench --identify [--sizes 1000,10000,100000,1000000] [--probes 1000]
//       synthetic 128-D templates (2 an identity) built straight into a TemplateIndex; per size:
//       build seconds, index MiB, RSS, identify p50/p99 (top 5, min score; wall and the thread's
//       CPU time) over --probes probes (half near a stored template, half random), and where the
//       time goes: the int8 product alone (the rest: bounds per identity, k-th selection, exact
//       rescoring), beside a Float32 BLAS SGEMV over the same templates.
//   facetwin-bench --make-gallery N --model M --out G.sqlite
//       an SQLite gallery of N synthetic templates bound to model M (imported in one transaction).
//   facetwin-bench --load-gallery G [--model M] [--runs 5]
//       open G (SQLite file or postgres:// URL), read its index, answer one identify: seconds of each.
import FaceTwin
import FaceTwinPostgres
import Foundation

func rssMiB() -> Double {
    guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
    for line in text.split(separator: "\n") where line.hasPrefix("VmRSS:") {
        let kb = line.split(separator: " ").dropFirst().first.flatMap { Double($0) } ?? 0
        return kb / 1024
    }
    return 0
}

/// CPU seconds of the calling thread: what a query costs, whatever else the machine runs.
func threadCPU() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
}

func percentile(_ xs: [Double], _ p: Double) -> Double {
    let s = xs.sorted()
    let i = min(s.count - 1, max(0, Int((p * Double(s.count)).rounded(.up)) - 1))
    return s[i]
}

/// A synthetic template: a random direction scaled to the norm of dlib's embeddings (about 1).
func syntheticTemplate(_ rng: inout RandomSource, dimension: Int) -> [Float] {
    var v = (0..<dimension).map { _ in Float.random(in: -1...1, using: &rng) }
    let n = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
    for i in v.indices { v[i] /= n }
    return v
}

func runIdentifyBench(sizes: [Int], probes probeCount: Int) {
    let dimension = 128
    for n in sizes {
        var rng = RandomSource(seed: UInt64(n))
        let t0 = now()
        let builder = TemplateIndex.Builder(dimension: dimension, path: "synthetic", expectedRows: n)
        var some: [[Float]] = []
        for r in 0..<n {
            let t = syntheticTemplate(&rng, dimension: dimension)
            if r % max(1, n / 64) == 0 { some.append(t) }
            t.withUnsafeBytes { builder.append(key: Int64(r / 2), name: "person \(r / 2)", bytes: $0) }
        }
        let index = try! builder.finish(generation: GalleryGeneration("synthetic"))
        let build = now() - t0
        var probes: [[Float]] = []
        for p in 0..<probeCount {
            if p % 2 == 0 {
                // Near a stored template: the probe of an enrolled person.
                var v = some[p / 2 % some.count]
                for i in v.indices { v[i] += Float.random(in: -0.03...0.03, using: &rng) }
                probes.append(v)
            } else {
                probes.append(syntheticTemplate(&rng, dimension: dimension))
            }
        }
        _ = try! index.search(probe: probes[0], top: 5, score: .min)  // warm
        var times: [Double] = [], cpu: [Double] = []
        for p in probes {
            let s = now(), c = threadCPU()
            _ = try! index.search(probe: p, top: 5, score: .min)
            cpu.append(threadCPU() - c)
            times.append(now() - s)
        }
        // Where the time goes: the int8 product alone, and a Float32 BLAS SGEMV over the same
        // templates (what the product would cost without quantization), both in thread CPU time.
        var productCPU: [Double] = [], gemvCPU: [Double] = []
        var y = [Float](repeating: 0, count: index.templateCount)
        for p in probes.prefix(min(probeCount, 200)) {
            var c = threadCPU()
            _ = index.coarseProduct(p)
            productCPU.append(threadCPU() - c)
            c = threadCPU()
            index.withMatrix { m in
                p.withUnsafeBufferPointer { x in
                    y.withUnsafeMutableBufferPointer { out in
                        BLAS.gemv(m: index.templateCount, n: dimension, a: m, x: x.baseAddress!, y: out.baseAddress!)
                    }
                }
            }
            gemvCPU.append(threadCPU() - c)
        }
        let line: [String: Any] = [
            "templates": n, "identities": index.identityCount, "build_s": build,
            "index_mib": Double(index.byteCount) / 1_048_576, "rss_mib": rssMiB(),
            "identify_wall_p50_ms": percentile(times, 0.5) * 1000, "identify_wall_p99_ms": percentile(times, 0.99) * 1000,
            "identify_cpu_p50_ms": percentile(cpu, 0.5) * 1000, "identify_cpu_p99_ms": percentile(cpu, 0.99) * 1000,
            "int8_product_cpu_p50_ms": percentile(productCPU, 0.5) * 1000,
            "float32_sgemv_cpu_p50_ms": percentile(gemvCPU, 0.5) * 1000,
            "probes": probes.count
        ]
        let data = try! JSONSerialization.data(withJSONObject: line, options: [.sortedKeys])
        print(String(decoding: data, as: UTF8.self))
        fflush(nil)
    }
}

func makeSyntheticGallery(count: Int, modelPath: String, out: String) throws {
    let model = try FaceModel.load(path: modelPath)
    let dimension = model.config.embeddingSize
    var rng = RandomSource(seed: 11)
    var rows: [TemplateExport.Row] = []
    rows.reserveCapacity(count)
    for r in 0..<count {
        let sha = String(format: "%064x", r)
        rows.append(
            TemplateExport.Row(
                identity: "person \(r / 2)", imagePath: "synthetic/\(r).jpg", imageSHA256: sha,
                embedding: syntheticTemplate(&rng, dimension: dimension), line: r + 3))
    }
    let export = TemplateExport(path: "synthetic", modelFingerprint: model.fingerprint, dimension: dimension, rows: rows)
    let t0 = now()
    let g = try GalleryStores.open(out, model: model, modelPath: modelPath)
    let report = try g.importTemplates(export)
    print("{\"made\": \(report.imported), \"seconds\": \(now() - t0)}")
}

func loadGallery(_ location: String, runs: Int) throws {
    var opens: [Double] = [], loads: [Double] = [], firsts: [Double] = [], totals: [Double] = []
    var templates = 0
    for _ in 0..<runs {
        let t0 = now()
        let g = try GalleryStores.open(location)
        let t1 = now()
        let index = try g.loadIndex()
        let t2 = now()
        var rng = RandomSource(seed: 3)
        _ = try index.search(probe: syntheticTemplate(&rng, dimension: index.dimension), top: 5, score: .min)
        let t3 = now()
        opens.append(t1 - t0)
        loads.append(t2 - t1)
        firsts.append(t3 - t2)
        totals.append(t3 - t0)
        templates = index.templateCount
        (g as? PostgresGallery)?.close()
    }
    let line: [String: Any] = [
        "gallery": location.hasPrefix("postgres") ? "postgres" : "sqlite", "templates": templates,
        "open_s": median(opens), "load_index_s": median(loads), "first_identify_s": median(firsts),
        "open_to_first_answer_s": median(totals), "runs": runs, "rss_mib": rssMiB()
    ]
    let data = try JSONSerialization.data(withJSONObject: line, options: [.sortedKeys])
    print(String(decoding: data, as: UTF8.self))
}

/// Runs the identification benchmarks when asked (--identify, --make-gallery, --load-gallery); whether it did.
func runIdentifyBenchIfAsked() -> Bool {
    let all = Array(CommandLine.arguments.dropFirst())
    guard all.contains(where: { ["--identify", "--make-gallery", "--load-gallery"].contains($0) }) else { return false }
    var sizes = [1000, 10000, 100_000, 1_000_000], probes = 1000, runs = 5
    var make: Int? = nil, load: String? = nil, model: String? = nil, out: String? = nil
    var args = all[...]
    func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data("facetwin-bench: \(message)\n".utf8))
        exit(2)
    }
    while let a = args.popFirst() {
        if a == "--identify" { continue }
        guard let v = args.popFirst() else { fail("\(a) needs a value") }
        switch a {
        case "--sizes":
            let parsed = v.split(separator: ",").compactMap { Int($0) }
            guard !parsed.isEmpty, parsed.allSatisfy({ $0 > 0 }) else { fail("--sizes takes positive integers, comma-separated") }
            sizes = parsed
        case "--probes", "--runs", "--make-gallery":
            guard let n = Int(v), n > 0 else { fail("\(a) needs a positive integer") }
            if a == "--probes" { probes = n } else if a == "--runs" { runs = n } else { make = n }
        case "--load-gallery": load = v
        case "--model": model = v
        case "--out": out = v
        default: fail("unknown option \(a) (Sources/facetwin-bench/IdentifyBench.swift lists them)")
        }
    }
    do {
        if let make {
            guard let model, let out else { fail("--make-gallery needs --model and --out") }
            try makeSyntheticGallery(count: make, modelPath: model, out: out)
        } else if let load {
            try loadGallery(load, runs: runs)
        } else {
            runIdentifyBench(sizes: sizes, probes: probes)
        }
    } catch {
        fail("\(error)")
    }
    return true
}
