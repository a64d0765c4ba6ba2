import Foundation
import Synchronization
import TestSupport

/// Debian's chromium, run headless on a local file: the DOM after the page's scripts ran, or a
/// screenshot. scripts/bootstrap-chromium installs it; without it the browser tests skip.
struct HeadlessChromium {
    let executable: String

    static let installed: HeadlessChromium? = {
        for path in ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/lib/chromium/chromium"]
        where FileManager.default.isExecutableFile(atPath: path) {
            return HeadlessChromium(executable: path)
        }
        return nil
    }()

    static let skipMessage = "chromium is not installed: scripts/bootstrap-chromium installs it with apt (the test command runs it)"

    struct Outcome {
        var status: Int32
        var standardOutput: String
        var standardError: String
        var timedOut: Bool
    }

    /// The page's DOM after its scripts ran (`--dump-dom`).
    func dumpDOM(_ file: String, timeout: TimeInterval = 120) throws -> Outcome {
        try run(["--dump-dom", URL(fileURLWithPath: file).absoluteString], timeout: timeout)
    }

    /// A PNG of the page's first `height` pixels at a width of 1280 (`--screenshot`).
    func screenshot(_ file: String, to png: String, height: Int = 1400, timeout: TimeInterval = 120) throws -> Outcome {
        try run(["--screenshot=\(png)", "--window-size=1280,\(height)", "--hide-scrollbars", URL(fileURLWithPath: file).absoluteString],
                timeout: timeout)
    }

    /// Runs chromium with a fresh profile and waits at most `timeout` seconds; on timeout it is
    /// stopped by its pid (SIGTERM, then SIGKILL), so a hung browser fails the test, never hangs it.
    private func run(_ arguments: [String], timeout: TimeInterval) throws -> Outcome {
        let profile = TemporaryDirectory()
        var flags = ["--headless", "--disable-gpu", "--no-first-run", "--no-default-browser-check", "--disable-extensions",
                     "--disable-dev-shm-usage", "--user-data-dir=\(profile.url.path)"]
        // Chromium refuses to run as root with its sandbox.
        if getuid() == 0 { flags.append("--no-sandbox") }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = flags + arguments
        let stdout = Pipe(), stderr = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        process.standardInput = FileHandle.nullDevice
        let finished = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in finished.signal() }
        let collected = CollectedOutput()
        let readers = DispatchGroup()
        for (pipe, isOutput) in [(stdout, true), (stderr, false)] {
            readers.enter()
            DispatchQueue.global().async {
                collected.store(pipe.fileHandleForReading.readDataToEndOfFile(), isOutput: isOutput)
                readers.leave()
            }
        }
        try process.run()
        var timedOut = false
        if finished.wait(timeout: .now() + timeout) == .timedOut {
            timedOut = true
            kill(process.processIdentifier, SIGTERM)
            if finished.wait(timeout: .now() + 5) == .timedOut {
                kill(process.processIdentifier, SIGKILL)
                finished.wait()
            }
        }
        _ = readers.wait(timeout: .now() + 10)
        let (output, error) = collected.values()
        return Outcome(
            status: process.terminationStatus, standardOutput: String(decoding: output, as: UTF8.self),
            standardError: String(decoding: error, as: UTF8.self), timedOut: timedOut)
    }
}

/// Output collected by two reader threads.
private final class CollectedOutput: Sendable {
    private let state = Mutex<(output: Data, error: Data)>((Data(), Data()))

    func store(_ data: Data, isOutput: Bool) {
        state.withLock { if isOutput { $0.output = data } else { $0.error = data } }
    }

    func values() -> (Data, Data) { state.withLock { ($0.output, $0.error) } }
}
