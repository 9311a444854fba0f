import Dispatch
import Foundation

/// Splits work across the machine's cores.
package enum Parallel {
    /// Worker count: the cores the process may use.
    package static let workers = max(1, ProcessInfo.processInfo.activeProcessorCount)

    /// Calls `body` once per worker with a contiguous, disjoint slice of `0..<n`, in parallel.
    /// `body` gets the worker index too, so it can use per-worker scratch space.
    package static func chunks(_ n: Int, workers: Int = Parallel.workers, _ body: (_ worker: Int, _ range: Range<Int>) -> Void) {
        let w = min(max(1, workers), n)
        if w <= 1 {
            if n > 0 { body(0, 0..<n) }
            return
        }
        withoutActuallyEscaping(body) { body in
            // Not checked by the compiler: `body` runs on every worker at once, and what keeps
            // that race-free is the contract above (each call writes only its own slice and its
            // worker's scratch space), which no type expresses.
            nonisolated(unsafe) let body = body
            DispatchQueue.concurrentPerform(iterations: w) { i in
                let lo = n * i / w, hi = n * (i + 1) / w
                if lo < hi { body(i, lo..<hi) }
            }
        }
    }
}
