import Foundation
import Synchronization

/// Runs the built `nightcap` executable, which SwiftPM places beside the test bundle.
public struct NightcapProcess {
    public struct Outcome: Sendable {
        public var status: Int32
        public var standardOutput: String
        public var standardError: String
        /// Whether the process ended by a signal rather than by exiting.
        public var wasSignalled: Bool
        /// Whether it did not end in time and was killed (`status` is then -1 and `standardError`
        /// says so, so that a test checking either fails with the reason instead of hanging).
        public var timedOut = false
    }

    /// How long a child may run before `wait` kills it: far above any test's need (the slowest
    /// end-to-end run takes seconds), so that only a hung child reaches it.
    public static let defaultTimeout: Duration = .seconds(600)

    public static var executable: URL {
        var folder = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        // The Linux test runner is `<build>/nightcapPackageTests.xctest`; on other hosts it can be nested deeper.
        for _ in 0..<4 {
            let candidate = folder.appendingPathComponent("nightcap")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            folder.deleteLastPathComponent()
        }
        return URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("nightcap")
    }

    /// Starts `nightcap` with `arguments` and waits for it, at most `timeout`.
    public static func run(
        _ arguments: [String], in directory: URL? = nil, environment: [String: String] = [:], timeout: Duration = defaultTimeout
    ) throws -> Outcome {
        let process = try start(arguments, in: directory, environment: environment)
        return process.wait(timeout: timeout)
    }

    /// A started process whose output is collected in the background.
    public final class Running: @unchecked Sendable {
        // `Process` is not Sendable; its methods are safe to call from any thread. The collected
        // output sits in a Mutex; the pipes are read on their own threads.
        public let process: Process
        private let collected = Mutex<(output: Data, error: Data)>((Data(), Data()))
        private let group = DispatchGroup()

        init(process: Process, stdout: Pipe, stderr: Pipe) {
            self.process = process
            for (pipe, isOutput) in [(stdout, true), (stderr, false)] {
                group.enter()
                DispatchQueue.global().async {
                    let data = pipe.fileHandleForReading.readDataToEndOfFile()
                    self.collected.withLock { if isOutput { $0.output = data } else { $0.error = data } }
                    self.group.leave()
                }
            }
        }

        public var pid: Int32 { process.processIdentifier }

        /// Waits for the process to end, at most `timeout`; a process still running then is killed
        /// (SIGKILL) and reported as `timedOut`.
        public func wait(timeout: Duration = NightcapProcess.defaultTimeout) -> Outcome {
            let clock = ContinuousClock()
            let deadline = clock.now + timeout
            var timedOut = false
            while process.isRunning {
                if clock.now >= deadline {
                    timedOut = true
                    kill(process.processIdentifier, SIGKILL)
                    break
                }
                usleep(5_000)
            }
            process.waitUntilExit()
            group.wait()
            let (output, error) = collected.withLock { $0 }
            if timedOut {
                return Outcome(
                    status: -1, standardOutput: String(decoding: output, as: UTF8.self),
                    standardError: "nightcap \(process.arguments?.joined(separator: " ") ?? "") did not finish within \(timeout) and was killed\n"
                        + String(decoding: error, as: UTF8.self),
                    wasSignalled: true, timedOut: true)
            }
            return Outcome(
                status: process.terminationStatus, standardOutput: String(decoding: output, as: UTF8.self),
                standardError: String(decoding: error, as: UTF8.self),
                wasSignalled: process.terminationReason == .uncaughtSignal)
        }
    }

    public static func start(_ arguments: [String], in directory: URL? = nil, environment: [String: String] = [:]) throws -> Running {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = directory }
        var merged = ProcessInfo.processInfo.environment
        for (key, value) in environment { merged[key] = value }
        process.environment = merged
        let stdout = Pipe(), stderr = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return Running(process: process, stdout: stdout, stderr: stderr)
    }
}
