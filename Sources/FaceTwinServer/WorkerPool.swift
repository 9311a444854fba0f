import Foundation

/// A fixed set of threads of its own for blocking work (decoding, face detection, the network,
/// SQLite), so none of it runs on the event loop or Swift's cooperative threads. Each thread
/// owns a `State` (its face detector), made on that thread. The queue is bounded: a job
/// beyond `queueLimit` waiting is refused with ``ServerError/busy(waiting:)`` at once.
/// (Unchecked `Sendable`: the queue, the flags and the counts are guarded by `condition`, and a
/// `State` never leaves the thread that made it.)
final class WorkerPool<State>: @unchecked Sendable {
    private let condition = NSCondition()
    private var jobs: [(State) -> Void] = []
    private var stopping = false
    private var threads: [Thread] = []
    private var running = 0
    let queueLimit: Int
    let count: Int

    /// `count` threads, each with the state `makeState` gives it.
    init(name: String, count: Int, queueLimit: Int, makeState: @escaping @Sendable () -> State) {
        self.count = max(1, count)
        self.queueLimit = max(1, queueLimit)
        for i in 0..<self.count {
            let thread = Thread { [unowned self] in
                var state = makeState()
                self.loop(&state)
            }
            thread.name = "\(name)-\(i)"
            thread.stackSize = 8 << 20  // dlib's detector and the ResNet recurse on the stack
            threads.append(thread)
            running += 1
            thread.start()
        }
    }

    private func loop(_ state: inout State) {
        while true {
            condition.lock()
            while jobs.isEmpty && !stopping { condition.wait() }
            if jobs.isEmpty && stopping {
                running -= 1
                condition.broadcast()
                condition.unlock()
                return
            }
            let job = jobs.removeFirst()
            condition.unlock()
            job(state)
        }
    }

    /// Jobs waiting for a thread now.
    var waiting: Int {
        condition.lock()
        defer { condition.unlock() }
        return jobs.count
    }

    /// Runs `body` on one of the pool's threads and returns what it returns.
    func run<T: Sendable>(_ body: @escaping @Sendable (State) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            condition.lock()
            if stopping {
                condition.unlock()
                continuation.resume(throwing: ServerError.shuttingDown)
                return
            }
            if jobs.count >= queueLimit {
                let n = jobs.count
                condition.unlock()
                continuation.resume(throwing: ServerError.busy(waiting: n))
                return
            }
            jobs.append { state in
                do {
                    continuation.resume(returning: try body(state))
                } catch {
                    continuation.resume(throwing: error)
                }
            }
            condition.signal()
            condition.unlock()
        }
    }

    /// Lets the queued jobs finish, then ends the threads (waits for them).
    func shutdown() {
        condition.lock()
        stopping = true
        condition.broadcast()
        while running > 0 { condition.wait() }
        condition.unlock()
    }
}
