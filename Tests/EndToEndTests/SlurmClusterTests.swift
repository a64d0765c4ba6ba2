import Foundation
import ResultStore
import TestSupport
import Testing

/// `nightcap slurm` and `nightcap merge` on a real one-node Slurm cluster. scripts/test-slurm
/// (which scripts/test runs) installs the packages when missing, starts the cluster in a temporary
/// folder, runs this suite with `NIGHTCAP_TEST_SLURM_CLUSTER` and `SLURM_CONF` set, and stops the
/// cluster by pid whatever happens; the daemons are never this process's children. Run any other
/// way, or on a machine without apt, the suite is skipped with a message.
@Suite(.serialized, .timeLimit(.minutes(10))) struct SlurmClusterTests {
    static let cluster = ProcessInfo.processInfo.environment["NIGHTCAP_TEST_SLURM_CLUSTER"]

    /// Runs a command and returns its status and output.
    @discardableResult
    static func shell(_ command: String, environment: [String: String] = [:]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = ["-c", command]
        var merged = ProcessInfo.processInfo.environment
        for (key, value) in environment { merged[key] = value }
        process.environment = merged
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// Waits until Slurm no longer lists the job (all its tasks ended).
    static func waitForJob(_ job: String, environment: [String: String], minutes: Double = 5) throws {
        let deadline = Date().addingTimeInterval(minutes * 60)
        while Date() < deadline {
            let listed = try shell("squeue --noheader --jobs \(job) --format %T", environment: environment)
            if listed.status == 0 && listed.output.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { return }
            Thread.sleep(forTimeInterval: 0.5)
        }
        Issue.record("job \(job) still listed after \(minutes) minutes")
    }

    static var slurm: [String: String] { ["SLURM_CONF": cluster! + "/slurm.conf"] }

    /// The demo's one-machine run to compare with (`whole`), and `nightcap slurm` submitting it in
    /// `parts` parts with `fault` in the tasks' environment: the job folder, the merged database's
    /// path and what `nightcap slurm` printed.
    static func wholeRunAndSubmission(
        parts: Int, fault: [String: String], in folder: TemporaryDirectory
    ) throws -> (whole: String, job: String, merged: String, submitted: String) {
        let whole = folder.path("whole.sqlite")
        let one = try NightcapProcess.run(["run", DemoTests.pipeline, "--db", whole, "--threads", "2", "--quiet"])
        try #require(one.status == 0, "\(one.standardError)")
        let job = folder.path("job"), merged = folder.path("merged.sqlite")
        let submit = try NightcapProcess.run(
            ["slurm", DemoTests.pipeline, "--parts", "\(parts)", "--cpus-per-task", "1", "--dir", job, "--db", merged],
            environment: slurm.merging(fault) { $1 })
        try #require(submit.status == 0, "\(submit.standardError)")
        return (whole, job, merged, submit.standardOutput)
    }

    /// The job id on the line of `nightcap slurm`'s output that starts with `prefix` ("merge job 12.").
    static func jobID(_ prefix: String, in submitted: String) throws -> String {
        String(try #require(submitted.split(separator: "\n").first { $0.hasPrefix(prefix) }?.split(separator: " ")[2].dropLast()))
    }

    @Test(.enabled(if: cluster != nil, "no Slurm cluster: scripts/test-slurm (run by scripts/test) starts one and runs this test on it"))
    func aFourPartArrayWithAKilledTaskMergesToTheOneMachineRun() throws {
        let folder = TemporaryDirectory()
        // Four parts (10 shards: 2, 3, 2, 3); part 2 is SIGKILLed after its first shard commit.
        let (whole, job, merged, submitted) = try Self.wholeRunAndSubmission(
            parts: 4, fault: ["NIGHTCAP_FAULT_KILL_AFTER_COMMITS": "1", "NIGHTCAP_FAULT_PART": "2"], in: folder)
        let slurm = Self.slurm
        let mergeJob = try Self.jobID("merge job ", in: submitted)
        try Self.waitForJob(String(mergeJob), environment: slurm)

        // The merge job ran after the array and refused, naming part 2 and the command for it.
        let mergeLog = try String(contentsOfFile: job + "/logs/merge.out", encoding: .utf8)
        #expect(mergeLog.contains("cannot merge: 1 of 4 parts are not complete:"), "\(mergeLog)")
        #expect(mergeLog.contains("part 2/4: 1/2 shards done (shards 5..<7)"), "\(mergeLog)")
        let rerun = try #require(
            mergeLog.split(separator: "\n").first { $0.hasPrefix("  sbatch --array=") }.map { $0.trimmingCharacters(in: .whitespaces) })
        #expect(rerun == "sbatch --array=2 \(job)/array.sh")
        #expect(!FileManager.default.fileExists(atPath: merged))

        // Rerun exactly that task (without the fault); it resumes its part file.
        let resubmitted = try Self.shell(rerun.replacingOccurrences(of: "sbatch ", with: "sbatch --parsable "), environment: slurm)
        try #require(resubmitted.status == 0, "\(resubmitted.output)")
        try Self.waitForJob(resubmitted.output.trimmingCharacters(in: .whitespacesAndNewlines), environment: slurm)
        let partLog = try String(contentsOfFile: job + "/logs/part-2-of-4.out", encoding: .utf8)
        #expect(partLog.components(separatedBy: "nightcap part 2/4: job").count == 3, "both attempts in the log: \(partLog)")
        #expect(partLog.contains("resuming part 2/4 of run 1 (demo): 1/2 shards done"), "\(partLog)")

        // The merge job again, now complete: the merged run is the one-machine run.
        let merge = try Self.shell("sbatch --wait \(job)/merge.sh", environment: slurm)
        #expect(merge.status == 0, "\(merge.output)")
        #expect(try RunFixture.snapshot(database: merged) == RunFixture.snapshot(database: whole))
        #expect(try MergeTests.layout(database: merged) == MergeTests.layout(database: whole))
        let log = try String(contentsOfFile: job + "/logs/merge.out", encoding: .utf8)
        #expect(log.contains("run 1 (demo) merged from 4 parts"), "\(log)")
    }

    /// The pre-timeout signal (`--signal=B:USR1@...`), sent early with `scancel --signal=USR1
    /// --batch`: the task's script stops nightcap at a shard boundary, requeues the task, and the
    /// requeued attempt (restart 1) takes its part file over and resumes it; the merge job, which
    /// waits for the whole array, then merges to the one-machine run.
    @Test(.enabled(if: cluster != nil, "no Slurm cluster: scripts/test-slurm (run by scripts/test) starts one and runs this test on it"))
    func aTaskSignalledBeforeItsTimeLimitRequeuesItselfAndResumes() throws {
        let folder = TemporaryDirectory()
        // Two parts of 5 shards; part 1 holds after its first commit until it is told to stop.
        let (whole, job, merged, submitted) = try Self.wholeRunAndSubmission(
            parts: 2, fault: ["NIGHTCAP_FAULT_HOLD_AFTER_COMMITS": "1", "NIGHTCAP_FAULT_PART": "1"], in: folder)
        let slurm = Self.slurm
        let arrayJob = try Self.jobID("array job ", in: submitted)
        let mergeJob = try Self.jobID("merge job ", in: submitted)
        let parts = [job + "/parts/part-0-of-2.sqlite", job + "/parts/part-1-of-2.sqlite"]

        // Wait until part 1 has committed its first shard (it then holds), and signal its script.
        let deadline = Date().addingTimeInterval(240)
        var check = ""
        while Date() < deadline {
            check = (try? NightcapProcess.run(["merge", "--check"] + parts).standardOutput) ?? ""
            if check.contains("part 1/2: 1/5 shards done") { break }
            Thread.sleep(forTimeInterval: 0.5)
        }
        try #require(check.contains("part 1/2: 1/5 shards done"), "\(check)")
        let signalled = try Self.shell("scancel --signal=USR1 --batch \(arrayJob)_1", environment: slurm)
        try #require(signalled.status == 0, "\(signalled.output)")

        try Self.waitForJob(String(mergeJob), environment: slurm)
        let partLog = try String(contentsOfFile: job + "/logs/part-1-of-2.out", encoding: .utf8)
        #expect(partLog.contains("nightcap part 1/2: stopped before the time limit (exit 143); requeueing"), "\(partLog)")
        #expect(partLog.contains("restart 1"), "\(partLog)")
        // Shards decoded before the signal are committed, so it resumes at 1 or more of 5.
        #expect(partLog.contains("resuming part 1/2 of run 1 (demo): "), "\(partLog)")
        let mergeLog = try String(contentsOfFile: job + "/logs/merge.out", encoding: .utf8)
        #expect(mergeLog.contains("run 1 (demo) merged from 2 parts"), "\(mergeLog)")
        #expect(try RunFixture.snapshot(database: merged) == RunFixture.snapshot(database: whole))
        #expect(try MergeTests.layout(database: merged) == MergeTests.layout(database: whole))
    }
}
