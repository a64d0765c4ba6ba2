import Foundation
import ResultStore
import TestSupport
import Testing

/// `nightcap run --part I/N` and `nightcap merge` with the built binary: parts merge to exactly the
/// one-machine run, missing parts are named with the command that reruns them, and every refusal
/// names its file.
@Suite(.timeLimit(.minutes(10))) struct MergeTests {
    /// The run's row and shard layout, as a one-machine run has them (no timings, no owner).
    static func layout(database path: String, runID: Int64 = 1) throws -> String {
        let database = try ResultDatabase(path: path, readOnly: true)
        defer { try? database.close() }
        let run = try #require(try database.run(id: runID))
        var lines = ["run \(run.name) \(run.status) \(run.fingerprint) \(run.imageCount) \(run.shardSize) \(run.shardCount)"]
        // With where and on which kernels each shard was decoded: `merge` copies them from the parts.
        for shard in try database.shards(runID: runID) {
            lines.append("shard \(shard.shard) \(shard.firstImage) \(shard.numImages) \(shard.host ?? "-") \(shard.kernels ?? "-")")
        }
        return lines.joined(separator: "\n")
    }

    /// Every shard of the 6-shard run `whole` says it was decoded on this machine and its kernels,
    /// and `show` of the `merged` run sums them up the same.
    static func expectDecodedHere(whole: String, merged: String) throws {
        let wholeShards = try { () throws -> [ShardRecord] in
            let database = try ResultDatabase(path: whole, readOnly: true)
            defer { try? database.close() }
            return try database.shards(runID: 1)
        }()
        #expect(wholeShards.count == 6)
        #expect(wholeShards.allSatisfy { $0.host == ProcessInfo.processInfo.hostName && $0.kernels?.hasPrefix("OpenBLAS ") == true })
        let shownMerged = try NightcapProcess.run(["show", "1", "--db", merged])
        let kernels = try #require(wholeShards.first?.kernels)
        #expect(
            shownMerged.standardOutput.contains("decoded on   6 shards: \(ProcessInfo.processInfo.hostName), \(kernels)"),
            "\(shownMerged.standardOutput)")
    }

    func part(_ fixture: RunFixture, _ spec: String, quiet: Bool = true, environment: [String: String] = [:]) throws -> NightcapProcess.Outcome {
        let index = spec.split(separator: "/")[0], count = spec.split(separator: "/")[1]
        let arguments = fixture.runArguments(database: fixture.path("part-\(index)-of-\(count).sqlite"), extra: ["--part", spec, "--threads", "2"])
        return try NightcapProcess.run(arguments.filter { quiet || $0 != "--quiet" }, environment: environment)
    }

    @Test func aMergeIntoAFileWithARunOfTheSameNameKeepsNamesUnique() throws {
        let fixture = try RunFixture(images: 16)
        let results = fixture.path("results.sqlite")
        #expect(try NightcapProcess.run(fixture.runArguments(database: results, extra: ["--beam-size", "1"])).status == 0)
        for index in 0..<2 { #expect(try part(fixture, "\(index)/2").status == 0) }
        let merge = try NightcapProcess.run(["merge", fixture.path("part-0-of-2.sqlite"), fixture.path("part-1-of-2.sqlite"), "--db", results])
        #expect(merge.status == 0, "\(merge.standardError)")
        #expect(merge.standardOutput.contains("run 2 (\(fixture.runName)#2) merged from 2 parts"), "\(merge.standardOutput)")
        #expect(try RunNameTests.names(results) == [fixture.runName, fixture.runName + "#2"])
    }

    @Test func fourPartsMergeToTheOneMachineRunAndMergingTwiceChangesNothing() throws {
        let fixture = try RunFixture()  // 48 images in 6 shards of 8: parts of 1, 2, 1 and 2 shards
        let whole = fixture.path("whole.sqlite")
        #expect(try NightcapProcess.run(fixture.runArguments(database: whole, extra: ["--threads", "2"])).status == 0)
        for index in 0..<4 {
            let outcome = try part(fixture, "\(index)/4")
            #expect(outcome.status == 0, "\(outcome.standardError)")
            #expect(outcome.standardOutput.contains("part \(index)/4 of run 1 (\(fixture.runName)) completed"), "\(outcome.standardOutput)")
        }
        let partFile = fixture.path("part-1-of-4.sqlite")
        let runs = try NightcapProcess.run(["runs", "--db", partFile])
        #expect(runs.standardOutput.contains("part 1/4 of run "), "\(runs.standardOutput)")
        #expect(runs.standardOutput.contains("shards 1..<3"))
        let show = try NightcapProcess.run(["show", "1", "--db", partFile])
        #expect(show.standardOutput.contains("part         1/4 of run "), "\(show.standardOutput)")

        let parts = (0..<4).map { fixture.path("part-\($0)-of-4.sqlite") }
        let check = try NightcapProcess.run(["merge", "--check"] + parts)
        #expect(check.status == 0, "\(check.standardError)")
        #expect(check.standardOutput.contains("part 2/4: 1/1 shards done (shards 3..<4), completed"), "\(check.standardOutput)")
        #expect(check.standardOutput.contains("4 of 4 parts done; ready to merge"))

        let merged = fixture.path("merged.sqlite")
        // Any order of the arguments: parts are taken by their index.
        let merge = try NightcapProcess.run(["merge"] + parts.reversed() + ["--db", merged])
        #expect(merge.status == 0, "\(merge.standardError)")
        #expect(merge.standardOutput.contains("run 1 (\(fixture.runName)) merged from 4 parts"), "\(merge.standardOutput)")
        #expect(merge.standardOutput.contains("images: 48 captioned into 6 shards; 48 scored"))
        let expected = try RunFixture.snapshot(database: whole)
        #expect(try RunFixture.snapshot(database: merged) == expected)
        #expect(try Self.layout(database: merged) == Self.layout(database: whole))
        try Self.expectDecodedHere(whole: whole, merged: merged)
        // The merged run keeps the identity of the references its metrics were computed against.
        let digests = try [whole, merged].map { path in
            let database = try ResultDatabase(path: path, readOnly: true)
            defer { try? database.close() }
            return try #require(try database.run(id: 1)).referencesDigest
        }
        #expect(digests[0] != nil && digests[1] == digests[0])

        let again = try NightcapProcess.run(["merge"] + parts + ["--db", merged])
        #expect(again.status == 0, "\(again.standardError)")
        #expect(again.standardError.contains("holds this run already, complete: nothing to do"))
        #expect(try RunFixture.snapshot(database: merged) == expected)
        let database = try ResultDatabase(path: merged, readOnly: true)
        #expect(try database.listRuns().count == 1)
        try database.close()
        // To `nightcap run`, the merged run is the run of these inputs.
        let rerun = try NightcapProcess.run(fixture.runArguments(database: merged))
        #expect(rerun.standardOutput.contains("run 1 (\(fixture.runName)) was already completed"), "\(rerun.standardOutput)")
    }

    @Test func missingAndUnfinishedPartsAreNamedWithTheCommandThatRerunsThem() throws {
        let fixture = try RunFixture()  // 6 shards in 3 parts of 2
        let whole = fixture.path("whole.sqlite")
        #expect(try NightcapProcess.run(fixture.runArguments(database: whole, extra: ["--threads", "2"])).status == 0)
        #expect(try part(fixture, "0/3").status == 0)
        // Part 1 dies (SIGKILL) after its first shard; part 2 never started.
        let killed = try part(fixture, "1/3", environment: ["NIGHTCAP_FAULT_KILL_AFTER_COMMITS": "1", "NIGHTCAP_FAULT_PART": "1"])
        #expect(killed.wasSignalled)
        let parts = (0..<3).map { fixture.path("part-\($0)-of-3.sqlite") }
        let merged = fixture.path("merged.sqlite")

        let check = try NightcapProcess.run(["merge", "--check"] + parts)
        #expect(check.status == 4)
        #expect(check.standardOutput.contains("part 0/3: 2/2 shards done"), "\(check.standardOutput)")
        #expect(check.standardOutput.contains("part 1/3: 1/2 shards done (shards 2..<4), running by process"), "\(check.standardOutput)")
        #expect(check.standardOutput.contains("part 2/3: no file among the arguments holds it"))
        #expect(check.standardOutput.contains("1 of 3 parts done"))
        #expect(!FileManager.default.fileExists(atPath: merged))

        let refused = try NightcapProcess.run(["merge"] + parts + ["--db", merged, "--array-script", "/jobs/array.sh"])
        #expect(refused.status == 4)
        #expect(refused.standardError.contains("cannot merge: 2 of 3 parts are not complete:"), "\(refused.standardError)")
        #expect(refused.standardError.contains("part 1/3: 1/2 shards done"))
        #expect(refused.standardError.contains("part 2/3: no file"))
        #expect(!refused.standardError.contains("part 0/3"))
        #expect(refused.standardError.contains("  sbatch --array=1,2 /jobs/array.sh\n"))
        #expect(!FileManager.default.fileExists(atPath: merged))
        let withoutScript = try NightcapProcess.run(["merge"] + parts + ["--db", merged])
        #expect(withoutScript.status == 4)
        #expect(withoutScript.standardError.contains("sbatch --array=1,2 ARRAY_SCRIPT"))
        #expect(withoutScript.standardError.contains("nightcap run PIPELINE.toml --part I/3 --db PART_FILE"))

        // The killed part resumes its own file; the last part runs; the merge is the one-machine run.
        let resumed = try part(fixture, "1/3", quiet: false)
        #expect(resumed.status == 0)
        #expect(resumed.standardError.contains("resuming part 1/3 of run 1 (\(fixture.runName)): 1/2 shards done"), "\(resumed.standardError)")
        #expect(try part(fixture, "2/3").status == 0)
        let merge = try NightcapProcess.run(["merge"] + parts + ["--db", merged])
        #expect(merge.status == 0, "\(merge.standardError)")
        #expect(try RunFixture.snapshot(database: merged) == RunFixture.snapshot(database: whole))
        #expect(try Self.layout(database: merged) == Self.layout(database: whole))
        try Self.expectDecodedHere(whole: whole, merged: merged)
    }

    @Test func partsOfAnotherRunAnotherSplitOrNoPartAreRefusedByName() throws {
        let fixture = try RunFixture(images: 16)
        let out = fixture.path("out.sqlite")
        #expect(try part(fixture, "0/2").status == 0)
        #expect(try part(fixture, "1/2").status == 0)
        let a = fixture.path("part-0-of-2.sqlite"), b = fixture.path("part-1-of-2.sqlite")

        // Another run: other decode settings.
        let other = fixture.path("other.sqlite")
        #expect(try NightcapProcess.run(fixture.runArguments(database: other, extra: ["--part", "1/2", "--beam-size", "1", "--threads", "2"])).status == 0)
        let different = try NightcapProcess.run(["merge", a, other, "--db", out])
        #expect(different.status == 1)
        #expect(different.standardError.contains("\(other) is part 1/2 of a different run than \(a)"), "\(different.standardError)")

        // Another split of the same run.
        let split = fixture.path("split.sqlite")
        #expect(try NightcapProcess.run(fixture.runArguments(database: split, extra: ["--part", "2/3", "--threads", "2"])).status == 0)
        let otherSplit = try NightcapProcess.run(["merge", a, split, "--db", out])
        #expect(otherSplit.status == 1)
        #expect(otherSplit.standardError.contains("\(split) is part 2/3, but \(a) is part 0/2: all parts of a merge must come from the same --part I/N split"), "\(otherSplit.standardError)")

        // The same part twice.
        let twice = try NightcapProcess.run(["merge", a, b, a, "--db", out])
        #expect(twice.status == 1)
        #expect(twice.standardError.contains("\(a) and \(a) are both part 0/2: pass each part file once"), "\(twice.standardError)")

        // A whole run's file, a file that is not SQLite, another program's database.
        let whole = fixture.path("whole.sqlite")
        #expect(try NightcapProcess.run(fixture.runArguments(database: whole)).status == 0)
        let notPart = try NightcapProcess.run(["merge", a, b, whole, "--db", out])
        #expect(notPart.status == 1)
        #expect(notPart.standardError.contains("\(whole) is not a part file: its runs were not started with --part I/N"), "\(notPart.standardError)")
        let text = fixture.path("notes.txt")
        try "not a database".write(toFile: text, atomically: true, encoding: .utf8)
        let notSQLite = try NightcapProcess.run(["merge", text, a, "--db", out])
        #expect(notSQLite.status == 1)
        #expect(notSQLite.standardError.contains("\(text) is not a part file (not an SQLite database)"), "\(notSQLite.standardError)")

        // Nothing at all to merge.
        let nothing = try NightcapProcess.run(["merge", fixture.path("none-0.sqlite"), fixture.path("none-1.sqlite"), "--db", out])
        #expect(nothing.status == 1)
        #expect(nothing.standardError.contains("no part among \(fixture.path("none-0.sqlite")), \(fixture.path("none-1.sqlite"))"), "\(nothing.standardError)")
        #expect(!FileManager.default.fileExists(atPath: out))

        // The references changed since the parts ran: the merged metrics would not be the parts' run's.
        let references = try Data(contentsOf: URL(fileURLWithPath: fixture.references))
        try (references + Data(" ".utf8)).write(to: URL(fileURLWithPath: fixture.references))
        let changed = try NightcapProcess.run(["merge", a, b, "--db", out])
        #expect(changed.status == 1)
        #expect(changed.standardError.contains("the inputs of the parts changed since they ran"), "\(changed.standardError)")
    }

    @Test func usageErrorsExitTwo() throws {
        let fixture = try RunFixture(images: 8)
        for (arguments, message) in [
            (fixture.runArguments(database: fixture.path("a.sqlite"), extra: ["--part", "4/4"]), "Please give --part as I/N with 0 <= I < N (for example 2/8), not 4/4."),
            (fixture.runArguments(database: fixture.path("a.sqlite"), extra: ["--part", "two"]), "not two."),
            (["merge", fixture.path("a.sqlite")], "Please give --db, the results database to merge into"),
            (["merge", "--db", fixture.path("out.sqlite")], "Missing expected argument '<parts> ...'"),
            (["slurm", "pipelines/demo.toml", "--parts", "0", "--print"], "Please give --parts 1 or more, not 0."),
        ] {
            let outcome = try NightcapProcess.run(arguments)
            #expect(outcome.status == 2, "\(arguments)")
            #expect(outcome.standardError.contains(message), "\(outcome.standardError)")
        }
    }

    @Test func slurmPrintsTheArrayAndMergeScripts() throws {
        let pipeline = DemoTests.pipeline
        let folder = TemporaryDirectory()
        let outcome = try NightcapProcess.run([
            "slurm", pipeline, "--parts", "4", "--partition", "gpu", "--time", "02:00:00", "--cpus-per-task", "8",
            "--mem", "16G", "--account", "lab", "--extra", "--gres=gpu:1 --qos=low", "--dir", folder.path("job"),
            "--db", folder.path("results.sqlite"), "--print",
        ])
        #expect(outcome.status == 0, "\(outcome.standardError)")
        let text = outcome.standardOutput
        for line in [
            "#SBATCH --array=0-3", "#SBATCH --requeue", "#SBATCH --open-mode=append", "#SBATCH --signal=B:USR1@300",
            "#SBATCH --partition=gpu", "#SBATCH --time=02:00:00", "#SBATCH --cpus-per-task=8", "#SBATCH --mem=16G",
            "#SBATCH --account=lab", "#SBATCH --gres=gpu:1", "#SBATCH --qos=low", "N=4 ",
            "run \(pipeline) --part \"$I/$N\"", "--db \(folder.path("job"))/parts/part-\"$I-of-$N.sqlite\"",
            "scontrol requeue \"${SLURM_ARRAY_JOB_ID}_${I}\"", "--db \(folder.path("results.sqlite")) --array-script \(folder.path("job"))/array.sh",
            "\(folder.path("job"))/parts/part-3-of-4.sqlite", "sbatch --dependency=afterany:$A \(folder.path("job"))/merge.sh",
        ] {
            #expect(text.contains(line), "missing: \(line)")
        }
        // --print writes nothing.
        #expect(!FileManager.default.fileExists(atPath: folder.path("job")))
        // The scripts are valid shell.
        let array = text.components(separatedBy: "# \(folder.path("job"))/array.sh\n")[1].components(separatedBy: "# \(folder.path("job"))/merge.sh\n")[0]
        let check = Process()
        check.executableURL = URL(fileURLWithPath: "/bin/bash")
        check.arguments = ["-n", "-c", array]
        try check.run()
        check.waitUntilExit()
        #expect(check.terminationStatus == 0)
    }

    /// Refusals that depend on the output database or the parts' records: another live merge, an
    /// output holding part of the run already, a part whose configuration cannot be read.
    @Test func mergeRefusesALiveMergeAnOverlappingOutputAndAnUnreadableConfiguration() throws {
        let fixture = try RunFixture()  // 6 shards in 4 parts: [0,1), [1,3), [3,4), [4,6)
        for index in 0..<4 { #expect(try part(fixture, "\(index)/4").status == 0) }
        let parts = (0..<4).map { fixture.path("part-\($0)-of-4.sqlite") }

        // An output whose run of these inputs is being written by a live process (this one).
        let busy = fixture.path("busy.sqlite")
        #expect(try NightcapProcess.run(["merge"] + parts + ["--db", busy]).status == 0)
        let host = ProcessInfo.processInfo.hostName
        _ = try DemoTests.sqlite(busy, "UPDATE runs SET status = 'running', owner_pid = \(getpid()), owner_host = '\(host)';")
        let live = try NightcapProcess.run(["merge"] + parts + ["--db", busy])
        #expect(live.status == 1)
        #expect(live.standardError.contains("run 1 of \(busy) is being written by process \(getpid()) on \(host) (another merge?); wait for it to finish"), "\(live.standardError)")

        // An output holding a killed one-machine run of the same inputs with shards 0 and 1: part 1
        // (shards 1 and 2) overlaps it partly.
        let overlapping = fixture.path("overlapping.sqlite")
        let killed = try NightcapProcess.run(
            fixture.runArguments(database: overlapping, extra: ["--threads", "1"]), environment: ["NIGHTCAP_FAULT_KILL_AFTER_COMMITS": "2"])
        #expect(killed.wasSignalled)
        let overlap = try NightcapProcess.run(["merge"] + parts + ["--db", overlapping])
        #expect(overlap.status == 1)
        #expect(overlap.standardError.contains("run 1 holds 1 of the part's 2 shards already; merge into a new --db"), "\(overlap.standardError)")

        // A part whose recorded configuration this nightcap cannot read.
        _ = try DemoTests.sqlite(parts[0], "UPDATE runs SET config = '{}';")
        let unreadable = try NightcapProcess.run(["merge"] + parts + ["--db", fixture.path("out.sqlite")])
        #expect(unreadable.status == 1)
        #expect(unreadable.standardError.contains("has a configuration this nightcap cannot read"), "\(unreadable.standardError)")
        #expect(unreadable.standardError.contains("merge with the nightcap that ran the parts"))
    }

    /// `nightcap slurm` without Slurm's sbatch, and with an sbatch that refuses the job.
    @Test func slurmWithoutSbatchOrWithARefusingSbatchSaysSo() throws {
        let folder = TemporaryDirectory()
        let arguments = ["slurm", DemoTests.pipeline, "--parts", "2", "--dir", folder.path("job"), "--db", folder.path("results.sqlite")]
        let missing = try NightcapProcess.run(arguments, environment: ["PATH": folder.path("no-bin")])
        #expect(missing.status == 1)
        #expect(missing.standardError.contains("sbatch not found: `nightcap slurm` submits with Slurm's sbatch; run it on a Slurm login node, or use --print"), "\(missing.standardError)")
        // The scripts are written before submitting, so that they can be submitted by hand.
        #expect(FileManager.default.fileExists(atPath: folder.path("job/array.sh")))

        let bin = folder.path("bin")
        try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
        try "#!/bin/sh\necho 'sbatch: error: invalid partition specified: gpu' >&2\nexit 1\n".write(toFile: bin + "/sbatch", atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: bin + "/sbatch")
        let refused = try NightcapProcess.run(arguments, environment: ["PATH": bin + ":/usr/bin:/bin"])
        #expect(refused.status == 1)
        #expect(refused.standardError.contains("sbatch \(folder.path("job/array.sh")) failed: sbatch: error: invalid partition specified: gpu"), "\(refused.standardError)")
    }
}
