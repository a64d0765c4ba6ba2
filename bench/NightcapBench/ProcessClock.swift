import Foundation

/// CPU time of the whole process, in seconds: on a machine shared with other programs it says more
/// than the wall clock (the benchmarks' work runs on the calling thread).
func processorSeconds() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)
    return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
}

/// Milliseconds with one decimal.
func milliseconds(_ seconds: Double) -> String { String(format: "%.1f", seconds * 1e3) }
