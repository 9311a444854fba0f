import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The places where a file write can be interrupted (between creating a temporary file and
/// writing it, after half of it is written, before and after a rename, …), numbered 1, 2, 3…
/// in the order a process reaches them.
///
/// Test-only hook, compiled into debug builds and into builds with `-D FACETWIN_TEST_HOOKS` only
/// (scripts/test.sh's release build with testability passes it): when the environment
/// variable `FACETWIN_TEST_SIGKILL_AT_WRITE_POINT` is set to a number N, the process sends
/// itself SIGKILL when it reaches its N-th write point, so a test can check that a kill at
/// every such point leaves the old state or the new one. A plain release build ignores it.
package enum WritePoint {
    static let environmentVariable = "FACETWIN_TEST_SIGKILL_AT_WRITE_POINT"

    #if DEBUG || FACETWIN_TEST_HOOKS
    private static let target: Int? = {
        guard let value = getenv(environmentVariable) else { return nil }
        return Int(String(cString: value)).flatMap { $0 > 0 ? $0 : nil }
    }()
    #else
    private static let target: Int? = nil
    #endif
    private static let lock = NSLock()
    nonisolated(unsafe) private static var reached = 0

    /// Marks one write point (`name` is for reading the code, not used at run time).
    package static func here(_ name: StaticString) {
        guard let target else { return }
        lock.lock()
        reached += 1
        let now = reached
        lock.unlock()
        if now == target { kill(getpid(), SIGKILL) }
    }
}
