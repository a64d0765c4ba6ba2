import ArgumentParser
import Foundation
import Pipeline

extension Nightcap {
    /// `nightcap merge PARTS... --db OUT`: join the part files of a partitioned run.
    struct Merge: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Join the part files of `nightcap run --part I/N` into one run and compute its corpus metrics.",
            discussion: """
                Checks that the files are the parts of one run (same fingerprint, same N) and that every shard of \
                every part is committed, copies captions, attention, regions, per-image scores and failures into one \
                run of --db, and computes the corpus metrics as a one-machine run does. Parts not done: exit 4, naming \
                each part and the command that reruns exactly those. Merging again completes the run; merging a \
                merged run changes nothing. See docs/scale-out.md.
                Exit codes: 0 merged (or already merged), 1 error, 2 usage, 4 parts not done.
                """)

        @Argument(help: "The part files (the --db of each `nightcap run --part I/N`).") var parts: [String]
        @Option(name: .customLong("db"), help: "The results database to merge into (created when missing).") var db: String?
        @Flag(help: "Only print each part's progress; write nothing. Exit 4 while parts are not done.") var check = false
        @Option(
            name: .customLong("array-script"),
            help: "The Slurm array script of the parts (`nightcap slurm` passes it), for the rerun command printed when parts are not done.")
        var arrayScript: String?
        @Flag(help: "No status lines.") var quiet = false

        func validate() throws {
            if db == nil && !check { throw ValidationError("Please give --db, the results database to merge into (or --check to only look).") }
        }

        func run() throws {
            let survey = try PartMerge.survey(parts)
            if check {
                print(PartMerge.progressLines(survey).joined(separator: "\n"))
                let done = survey.count - survey.missing.count
                print("\(done) of \(survey.count) parts done" + (survey.isComplete ? "; ready to merge" : ""))
                if !survey.isComplete { throw ExitCode(4) }
                return
            }
            let quiet = quiet
            do {
                let report = try PartMerge.merge(
                    survey, into: db!, arrayScript: arrayScript,
                    log: { line in if !quiet { FileHandle.standardError.write(Data((line + "\n").utf8)) } })
                print(RunReportText.render(report))
            } catch let incomplete as PartMerge.Incomplete {
                FileHandle.standardError.write(Data((incomplete.description + "\n").utf8))
                throw ExitCode(4)
            }
        }
    }

    /// `nightcap slurm PIPELINE --parts N`: a Slurm job array of the parts and a merge job after it.
    struct Slurm: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run a pipeline as a Slurm job array of N parts and merge them in a job that waits for the array.",
            discussion: """
                Writes DIR/array.sh (task I runs `nightcap run PIPELINE --part I/N --db DIR/parts/part-I-of-N.sqlite`) \
                and DIR/merge.sh (`nightcap merge` of the N part files into --db), submits the array, then the merge \
                with --dependency=afterany on it: the merge decides from the files, not from exit codes. Tasks \
                are requeueable, append to their logs, and stop at a shard boundary on a signal sent --stop-before \
                seconds before their time limit, then requeue themselves and resume. With --print, only prints the \
                scripts. See docs/scale-out.md.
                """)

        @Argument(help: "The pipeline file (TOML).") var pipeline: String
        @Option(help: "Number of parts (array tasks).") var parts: Int
        @Option(help: "Slurm partition.") var partition: String?
        @Option(help: "Time limit of each task (sbatch --time, e.g. 04:00:00).") var time: String?
        @Option(name: .customLong("cpus-per-task"), help: "Cores per task; nightcap runs one decoder thread per core.")
        var cpusPerTask: Int?
        @Option(help: "Memory per task (sbatch --mem, e.g. 16G).") var mem: String?
        @Option(help: "Slurm account to charge.") var account: String?
        @Option(parsing: .unconditional, help: "More sbatch options for the array tasks, separated by spaces (e.g. '--gres=gpu:1 --qos=low').")
        var extra: String?
        @Option(help: "Folder for the scripts, part files and logs (default: ./nightcap-slurm/NAME).") var dir: String?
        @Option(name: .customLong("db"), help: "The results database the merge job writes (default: the pipeline's [output] database, else nightcap.sqlite in the current folder).")
        var db: String?
        @Option(name: .customLong("stop-before"), help: "Seconds before the time limit at which a task stops at a shard boundary and requeues itself.")
        var stopBefore = 300
        @Option(help: "The nightcap binary the jobs run (default: this one).") var nightcap: String?
        @Flag(help: "Only print the scripts and the sbatch commands; write and submit nothing.") var print = false

        func validate() throws {
            if parts < 1 { throw ValidationError("Please give --parts 1 or more, not \(parts).") }
            if parts > 1000 { throw ValidationError("Please give at most 1000 --parts (Slurm's default MaxArraySize is 1001), not \(parts).") }
            if let cpusPerTask, cpusPerTask < 1 { throw ValidationError("Please give --cpus-per-task 1 or more, not \(cpusPerTask).") }
            if stopBefore < 0 { throw ValidationError("Please give --stop-before 0 or more seconds, not \(stopBefore).") }
        }

        func run() throws {
            let cwd = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
            let pipelinePath = PipelineFile.resolve(pipeline, against: cwd)
            let settings = try PipelineFile.load(pipelinePath).validated()
            let name = settings.name ?? URL(fileURLWithPath: pipelinePath).deletingPathExtension().lastPathComponent
            let folder = PipelineFile.resolve(dir ?? "nightcap-slurm/\(name)", against: cwd)
            let output = db.map { PipelineFile.resolve($0, against: cwd) } ?? settings.effectiveDatabasePath
            let binary = nightcap.map { PipelineFile.resolve($0, against: cwd) } ?? Self.currentExecutable()
            let scripts = SlurmScripts(
                name: name, pipeline: pipelinePath, parts: parts, folder: folder, output: output, nightcap: binary,
                partition: partition, time: time, cpusPerTask: cpusPerTask, mem: mem, account: account,
                extra: extra.map { $0.split(whereSeparator: \.isWhitespace).map(String.init) } ?? [], stopBefore: stopBefore)
            if print {
                Swift.print("# \(scripts.arrayPath)\n\(scripts.array)")
                Swift.print("# \(scripts.mergePath)\n\(scripts.merge)")
                Swift.print("# submit with:\nA=$(sbatch --parsable \(shellQuote(scripts.arrayPath)))\nsbatch --dependency=afterany:$A \(shellQuote(scripts.mergePath))")
                return
            }
            for sub in ["parts", "logs"] {
                try FileManager.default.createDirectory(atPath: folder + "/" + sub, withIntermediateDirectories: true)
            }
            for (path, text) in [(scripts.arrayPath, scripts.array), (scripts.mergePath, scripts.merge)] {
                try text.write(toFile: path, atomically: true, encoding: .utf8)
                try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
            }
            let arrayJob = try Self.sbatch([scripts.arrayPath])
            let mergeJob = try Self.sbatch(["--dependency=afterany:\(arrayJob)", scripts.mergePath])
            Swift.print("array job \(arrayJob): \(parts) tasks, `nightcap run \(pipelinePath) --part I/\(parts)` (\(scripts.arrayPath))")
            Swift.print("merge job \(mergeJob): `nightcap merge` into \(output) once the array has ended (\(scripts.mergePath))")
            Swift.print("progress: \(binary) merge --check \(scripts.partPaths.map(shellQuote).joined(separator: " "))")
            Swift.print("logs: \(folder)/logs")
        }

        /// Submits with `sbatch --parsable` and returns the job id.
        static func sbatch(_ arguments: [String]) throws -> String {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["sbatch", "--parsable"] + arguments
            let output = Pipe(), errors = Pipe()
            process.standardOutput = output
            process.standardError = errors
            try process.run()
            let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            guard process.terminationStatus == 0 else {
                if process.terminationStatus == 127 {
                    throw CommandFailure("sbatch not found: `nightcap slurm` submits with Slurm's sbatch; run it on a Slurm login node, or use --print and submit the scripts yourself")
                }
                throw CommandFailure("sbatch \(arguments.joined(separator: " ")) failed: \(message.trimmingCharacters(in: .whitespacesAndNewlines))")
            }
            // --parsable prints "jobid" or "jobid;cluster".
            return String(text.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ";").first ?? "")
        }

        static func currentExecutable() -> String {
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
                ?? URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL.path
        }
    }
}

/// A word for a POSIX shell: kept as it is when it is plainly safe, else single-quoted.
func shellQuote(_ word: String) -> String {
    let safe = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-+=:,@%")
    if !word.isEmpty && word.unicodeScalars.allSatisfy({ safe.contains($0) }) { return word }
    return "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
}

/// The two scripts of `nightcap slurm`.
struct SlurmScripts {
    var name: String
    var pipeline: String
    var parts: Int
    var folder: String
    var output: String
    var nightcap: String
    var partition: String?
    var time: String?
    var cpusPerTask: Int?
    var mem: String?
    var account: String?
    var extra: [String]
    var stopBefore: Int

    var arrayPath: String { folder + "/array.sh" }
    var mergePath: String { folder + "/merge.sh" }
    var partPaths: [String] { (0..<parts).map { "\(folder)/parts/part-\($0)-of-\(parts).sqlite" } }

    private var common: [String] {
        var lines: [String] = []
        if let partition { lines.append("#SBATCH --partition=\(partition)") }
        if let account { lines.append("#SBATCH --account=\(account)") }
        return lines
    }

    var array: String {
        var lines = [
            "#!/bin/bash",
            "# Written by `nightcap slurm`: task I of this array runs part I of \(parts) of \(pipeline).",
            "#SBATCH --job-name=\(shellQuote("nightcap-\(name)"))",
            "#SBATCH --array=0-\(parts - 1)",
            "# Requeue after node failure or preemption; a requeued task resumes its part file.",
            "#SBATCH --requeue",
            "# A requeued attempt appends to the task's log instead of overwriting it.",
            "#SBATCH --open-mode=append",
            "#SBATCH --output=\(shellQuote(folder + "/logs/part-%a-of-\(parts).out"))",
            "# USR1 to this script \(stopBefore) s before the time limit: nightcap stops at a shard boundary, the task requeues.",
            "#SBATCH --signal=B:USR1@\(stopBefore)",
        ]
        lines += common
        if let time { lines.append("#SBATCH --time=\(time)") }
        if let cpusPerTask { lines.append("#SBATCH --cpus-per-task=\(cpusPerTask)") }
        if let mem { lines.append("#SBATCH --mem=\(mem)") }
        lines += extra.map { "#SBATCH \($0)" }
        lines += [
            "set -u",
            "N=\(parts)  # never $SLURM_ARRAY_TASK_COUNT: a rerun of some tasks (--array=2,5) changes it",
            "I=$SLURM_ARRAY_TASK_ID",
            "echo \"nightcap part $I/$N: job ${SLURM_ARRAY_JOB_ID}_${I}, restart ${SLURM_RESTART_COUNT:-0}, on $(hostname), $(date -u +%FT%TZ)\"",
            "\(shellQuote(nightcap)) run \(shellQuote(pipeline)) --part \"$I/$N\" \\",
            "    --db \(shellQuote(folder + "/parts/part-"))\"$I-of-$N.sqlite\" --threads \"${SLURM_CPUS_PER_TASK:-1}\" &",
            "child=$!",
            "stopping=0",
            "# SIGTERM makes nightcap finish the shards in flight, commit them and exit 143.",
            "trap 'stopping=1; kill -TERM \"$child\" 2>/dev/null' USR1",
            "wait \"$child\"; status=$?",
            "if [ \"$stopping\" = 1 ]; then",
            "  wait \"$child\"; status=$?",
            "  echo \"nightcap part $I/$N: stopped before the time limit (exit $status); requeueing\"",
            "  scontrol requeue \"${SLURM_ARRAY_JOB_ID}_${I}\"",
            "  exit 0",
            "fi",
            "exit $status",
        ]
        return lines.joined(separator: "\n") + "\n"
    }

    var merge: String {
        var lines = [
            "#!/bin/bash",
            "# Written by `nightcap slurm`: merges the \(parts) part files into \(output).",
            "# Submitted with --dependency=afterany on the array: it runs whatever the tasks' exit codes,",
            "# and nightcap merge decides from the files (exit 4, naming the parts to rerun, when some are not done).",
            "#SBATCH --job-name=\(shellQuote("nightcap-\(name)-merge"))",
            "#SBATCH --open-mode=append",
            "#SBATCH --output=\(shellQuote(folder + "/logs/merge.out"))",
        ]
        lines += common
        lines += [
            "\(shellQuote(nightcap)) merge \\",
        ]
        lines += partPaths.map { "    \(shellQuote($0)) \\" }
        lines += ["    --db \(shellQuote(output)) --array-script \(shellQuote(arrayPath))"]
        return lines.joined(separator: "\n") + "\n"
    }
}
