import Foundation

/// Runs the built `nightcap` executable, which SwiftPM places beside the test bundle.
public struct NightcapProcess {
    public struct Outcome: Sendable {
        public var status: Int32
        public var standardOutput: String
        public var standardError: String
        /// Whether the process ended by a signal rather than by exiting.
        public var wasSignalled: Bool
    }

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

    /// Starts `nightcap` with `arguments` and waits for it.
    public static func run(_ arguments: [String], in directory: URL? = nil, environment: [String: String] = [:]) throws -> Outcome {
        let process = try start(arguments, in: directory, environment: environment)
        return process.wait()
    }

    /// A started process whose output is collected in the background.
    public final class Running: @unchecked Sendable {
        // Mutable state is only touched under `lock`; the pipes are read on their own threads.
        public let process: Process
        private let lock = NSLock()
        private var output = Data()
        private var error = Data()
        private let group = DispatchGroup()

        init(process: Process, stdout: Pipe, stderr: Pipe) {
            self.process = process
            for (pipe, isOutput) in [(stdout, true), (stderr, false)] {
                group.enter()
                DispatchQueue.global().async {
                    let data = pipe.fileHandleForReading.readDataToEndOfFile()
                    self.lock.lock()
                    if isOutput { self.output = data } else { self.error = data }
                    self.lock.unlock()
                    self.group.leave()
                }
            }
        }

        public var pid: Int32 { process.processIdentifier }

        public func wait() -> Outcome {
            process.waitUntilExit()
            group.wait()
            lock.lock()
            defer { lock.unlock() }
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
