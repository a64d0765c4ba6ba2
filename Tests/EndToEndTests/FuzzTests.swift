import Foundation
import TestSupport
import Testing

/// `scripts/fuzz` on the built binary: a few hundred mutated features, models, references,
/// results and pipeline files, every one a clean outcome (done, or one message and exit 1 or 2):
/// no crash, no hang. Thousands of cases are run by hand (docs/design.md has the figures).
@Suite(.timeLimit(.minutes(20))) struct FuzzTests {
    static let script = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("scripts/fuzz").path

    /// The script builds its base inputs with numpy and h5py.
    static let hasPythonHDF5: Bool = {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", "import h5py, numpy"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return false }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }()

    @Test(.enabled(if: hasPythonHDF5, "needs python3 with h5py and numpy (scripts/fuzz builds its inputs with them)"))
    func mutatedInputsNeverCrashOrHang() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "python3", Self.script, "--cases", "250", "--seed", "12", "--binary", NightcapProcess.executable.path,
            "--hang-seconds", "120", "--read-timeout", "30",
        ]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.standardError
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let line = String(decoding: data, as: UTF8.self).split(separator: "\n").last.map(String.init) ?? ""
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "\(line)")
        #expect(summary["cases"] as? Int == 250)
        #expect(summary["crashes"] as? Int == 0, "\(summary["failures"] ?? "")")
        #expect(summary["hangs"] as? Int == 0, "\(summary["failures"] ?? "")")
        // The mutations reach the parsers: most cases end in a clean error, not all in success.
        #expect((summary["clean_errors"] as? Int ?? 0) >= 50)
        #expect(process.terminationStatus == 0)
    }
}
