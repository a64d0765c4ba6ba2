#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Whether a process of this host is alive, for `ResultDatabase.claim`.
public enum ProcessLiveness {
    /// True when a process with this id exists: `kill(pid, 0)` succeeds, or fails only for lack of
    /// permission (the process exists but belongs to someone else).
    ///
    /// The corresponding C function is `kill`.
    public static func isAlive(_ pid: Int32) -> Bool {
        guard pid > 0 else { return false }
        return kill(pid, 0) == 0 || errno == EPERM
    }
}
