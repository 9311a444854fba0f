import Foundation

/// The address space a process may still map under a limit (`ulimit -v`, RLIMIT_AS): what a
/// large allocation is checked against before it is made, so running out is an error naming
/// the limit instead of a crash inside the allocator.
package enum AddressSpace {
    /// Bytes left under the limit (the limit less the mapped size, `/proc/self/statm`), or nil
    /// without a limit (or where it cannot be read).
    package static var available: Double? {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_AS.rawValue), &limit) == 0, limit.rlim_cur != rlim_t.max else { return nil }
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8),
            let pages = text.split(separator: " ").first.flatMap({ Double($0) })
        else { return nil }
        return Double(limit.rlim_cur) - pages * Double(sysconf(Int32(_SC_PAGESIZE)))
    }

    /// Why `bytes` more cannot be mapped under the limit (with `reserve` kept for the rest of
    /// the run), or nil when they can, or when there is no limit.
    package static func shortfall(_ bytes: Double, reserve: Double = 64 * 1_048_576) -> String? {
        guard let available, bytes + reserve > available else { return nil }
        let mib = { (x: Double) in Int((x / 1_048_576).rounded(.up)) }
        return
            "needs about \(mib(bytes + reserve)) MiB more address space, the limit (ulimit -v) leaves \(mib(max(0, available))) MiB"
    }
}
