import CaptionMetrics
import Foundation
import HDF5
import ResultStore
import TestSupport
import Testing

/// Three nights of a nightly job on the demo family, each checkpoint evaluated by its own
/// `nightcap run` of pipelines/nightly.toml as a cron job would; then `history`, the gate of
/// `compare --against` and the history page, as a user reads them.
@Suite(.serialized, .timeLimit(.minutes(30))) struct NightlySeriesTests {
    static let pipeline = DemoTests.repository.appendingPathComponent("pipelines/nightly.toml").path
    static let demoModel = DemoTests.repository.appendingPathComponent("pipelines/demo/model.h5").path

    /// A checkpoint of the demo family "saved at step `step`": the demo model with every weight
    /// moved by uniform noise of `noise` times the tensor's RMS (0: the trained model as it is),
    /// and the root attributes `iter` and `epoch` that a nightcap model file may carry.
    static func writeCheckpoint(to path: String, step: Int, epoch: Int, noise: Float, seed: UInt64) throws {
        let file = try HDF5File.open(demoModel)
        let root = try file.root
        var model = TestModelFile()
        model.tensors = [:]
        var random = SeededGenerator(seed: seed)
        for name in try root.memberNames() where name != "vocab" {
            let dataset = try root.dataset(name)
            var values = try dataset.readFloats()
            let rms = (values.reduce(0) { $0 + $1 * $1 } / Float(max(values.count, 1))).squareRoot()
            if noise > 0 { values = values.map { $0 + Float.random(in: -1...1, using: &random) * noise * rms } }
            model.tensors[name] = (values, dataset.shape)
        }
        model.vocabulary = try root.dataset("vocab").readStrings()
        model.attributes = [:]
        for name in try root.attributeNames() { model.attributes[name] = try root.attribute(name) }
        model.attributes["iter"] = .integer(Int64(step))
        model.attributes["epoch"] = .integer(Int64(epoch))
        try model.write(to: path)
    }

    /// The nightly job: one `nightcap run` per checkpoint in the folder, as a shell loop would.
    static func night(_ checkpoints: [String], db: String) throws -> [String: NightcapProcess.Outcome] {
        var outcomes: [String: NightcapProcess.Outcome] = [:]
        for checkpoint in checkpoints {
            outcomes[URL(fileURLWithPath: checkpoint).lastPathComponent] = try NightcapProcess.run(
                ["run", pipeline, "--model", checkpoint, "--db", db, "--threads", "2", "--quiet"])
        }
        return outcomes
    }

    static func csvRows(_ text: String) -> [[String: String]] {
        let lines = text.split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        guard let header = lines.first else { return [] }
        return lines.dropFirst().map { Dictionary(uniqueKeysWithValues: zip(header, $0)) }
    }

    @Test func threeNightsHistoryAndTheGateAgainstTheBest() throws {
        let folder = TemporaryDirectory()
        let db = folder.path("nightly.sqlite")
        try FileManager.default.createDirectory(atPath: folder.path("checkpoints"), withIntermediateDirectories: true)
        func checkpoint(_ step: Int) -> String { folder.path("checkpoints/model-\(String(format: "%05d", step)).h5") }
        let series = "nightly/beam_size=3/max_length=20/length_penalty=0.0"

        // Night 1: two checkpoints, the later one closer to the trained model.
        try Self.writeCheckpoint(to: checkpoint(1000), step: 1000, epoch: 1, noise: 0.6, seed: 11)
        try Self.writeCheckpoint(to: checkpoint(2000), step: 2000, epoch: 2, noise: 0.3, seed: 12)
        // The first checkpoint of all has nothing to be compared with: the gate says so and passes.
        let firstNight = try Self.night([checkpoint(1000)], db: db)
        #expect(firstNight["model-01000.h5"]?.status == 0, "\(firstNight["model-01000.h5"]?.standardError ?? "")")
        let alone = try NightcapProcess.run(["compare", "--against", "best", "1", "--db", db, "--max-drop", "CIDEr=0.05"])
        #expect(alone.status == 0, "\(alone.standardOutput)\(alone.standardError)")
        #expect(alone.standardOutput == "run 1 (nightly): no other completed run of series \(series) has CIDEr: nothing to compare against; no gate was applied\n")
        let night1 = try Self.night([checkpoint(2000)], db: db)
        for (name, outcome) in night1 { #expect(outcome.status == 0, "\(name): \(outcome.standardError)") }

        // Night 2: every checkpoint of the folder again (the two of night 1 are complete and not
        // decoded again), a better one, and a file that is no model at all.
        try Self.writeCheckpoint(to: checkpoint(3000), step: 3000, epoch: 3, noise: 0, seed: 13)
        try Data("not a model: the copy was cut off".utf8).write(to: URL(fileURLWithPath: checkpoint(3500)))
        let night2 = try Self.night([checkpoint(1000), checkpoint(2000), checkpoint(3000), checkpoint(3500)], db: db)
        #expect(night2["model-01000.h5"]?.status == 0 && night2["model-02000.h5"]?.status == 0)
        #expect(night2["model-01000.h5"]?.standardOutput.contains("run 1 (nightly) was already completed") == true, "\(night2["model-01000.h5"]?.standardOutput ?? "")")
        #expect(night2["model-03000.h5"]?.status == 0, "\(night2["model-03000.h5"]?.standardError ?? "")")
        let broken = try #require(night2["model-03500.h5"])
        #expect(broken.status == 1)
        #expect(broken.standardError.contains(checkpoint(3500)), "\(broken.standardError)")
        let gate2 = try NightcapProcess.run(["compare", "--against", "best", "3", "--db", db, "--max-drop", "CIDEr=0.05", "--significant"])
        #expect(gate2.status == 0, "\(gate2.standardOutput)\(gate2.standardError)")

        // Night 3: a worse checkpoint.
        try Self.writeCheckpoint(to: checkpoint(4000), step: 4000, epoch: 4, noise: 0.5, seed: 14)
        let night3 = try Self.night([checkpoint(4000)], db: db)
        #expect(night3["model-04000.h5"]?.status == 0, "\(night3["model-04000.h5"]?.standardError ?? "")")

        // The runs: four, none for the broken file; each records its checkpoint.
        let database = try ResultDatabase(path: db, readOnly: true)
        let runs = try database.listRuns()
        #expect(runs.map(\.runID) == [1, 2, 3, 4] && runs.allSatisfy { $0.status == .completed })
        var cider: [Int64: Double] = [:]
        for run in runs { cider[run.runID] = try database.runMetrics(runID: run.runID)[.cider] }
        let recorded = try #require(try database.checkpoint(runID: 3))
        #expect(recorded.path == checkpoint(3000) && recorded.trainingStep == 3000 && recorded.epoch == 3 && recorded.bestValidationScore == nil)
        let size = try #require((try FileManager.default.attributesOfItem(atPath: checkpoint(3000))[.size] as? NSNumber)?.int64Value)
        #expect(recorded.sizeBytes == size && recorded.modifiedAt?.hasSuffix("Z") == true)
        #expect(try database.series(runID: 4) == series)
        try database.close()
        // The premise of the scenario: night 2's checkpoint is the best, night 3's fell back.
        #expect(cider[3]! > cider[2]! && cider[2]! > cider[1]! && cider[4]! < cider[3]!, "CIDEr by run: \(cider)")

        // history: ordered by step, deltas, the best so far marked.
        let history = try NightcapProcess.run(["history", "--db", db])
        #expect(history.status == 0, "\(history.standardError)")
        let text = history.standardOutput
        #expect(text.contains("series \(series) in \(db): 4 completed runs, ordered by training step"), "\(text)")
        let rows = text.split(separator: "\n").filter { $0.first?.isNumber == true }
        #expect(rows.map { String($0.split(separator: " ")[0]) } == ["1", "2", "3", "4"], "\(text)")
        #expect(rows[0].contains(String(format: "%.3f*", cider[1]!)) && rows[2].contains(String(format: "%.3f*", cider[3]!)))
        #expect(!rows[3].contains(String(format: "%.3f*", cider[4]!)))
        #expect(rows[3].contains(String(format: "%+.3f", cider[4]! - cider[3]!)))
        #expect(text.contains("best by CIDEr: run 3 (model-03000.h5 (step 3000)), CIDEr \(String(format: "%.3f", cider[3]!))"), "\(text)")

        let csv = try NightcapProcess.run(["history", "--db", db, "--format", "csv", "--metric", "CIDEr", "--metric", "Bleu_4"])
        #expect(csv.status == 0, "\(csv.standardError)")
        let table = Self.csvRows(csv.standardOutput)
        #expect(table.map { $0["training_step"] } == ["1000", "2000", "3000", "4000"])
        #expect(table.map { $0["CIDEr_best_so_far"] } == ["1", "1", "1", "0"])
        #expect(table.map { $0["CIDEr"].flatMap(Double.init) } == [cider[1], cider[2], cider[3], cider[4]])
        #expect(table[0]["CIDEr_delta"] == "" && table[3]["CIDEr_delta"].flatMap(Double.init) == cider[4]! - cider[3]!)
        #expect(table.allSatisfy { $0["series"] == series && $0["Bleu_4"].flatMap(Double.init) != nil && $0["epoch"] != nil })

        let json = try NightcapProcess.run(["history", "--db", db, "--format", "json"])
        #expect(json.status == 0, "\(json.standardError)")
        let document = try #require(try JSONSerialization.jsonObject(with: Data(json.standardOutput.utf8)) as? [String: Any])
        #expect(document["order"] as? String == "training_step")
        let best = try #require(document["best"] as? [String: Any])
        #expect(best["run_id"] as? Int == 3 && best["metric"] as? String == "CIDEr")
        let jsonRuns = try #require(document["runs"] as? [[String: Any]])
        #expect(jsonRuns.compactMap { ($0["checkpoint"] as? [String: Any])?["training_step"] as? Int } == [1000, 2000, 3000, 4000])
        let last = try #require((jsonRuns[3]["metrics"] as? [String: Any])?["CIDEr"] as? [String: Any])
        #expect(last["best_so_far"] as? Bool == false && (last["delta"] as? Double).map { abs($0 - (cider[4]! - cider[3]!)) < 1e-12 } == true)

        // The gate against the best: night 3 fails it (exit 3), and says which run is the best.
        let gate = try NightcapProcess.run(["compare", "--against", "best", "4", "--db", db, "--max-drop", "CIDEr=0.05", "--significant"])
        #expect(gate.status == 3, "\(gate.standardOutput)\(gate.standardError)")
        #expect(gate.standardOutput.hasPrefix(
            "A is the best run of series \(series) (by CIDEr, the default; --best-by chooses another metric): run 3, model-03000.h5 (step 3000), CIDEr"),
            "\(gate.standardOutput)")
        #expect(gate.standardOutput.contains("A = run 3 (nightly#3, completed), B = run 4 (nightly#4, completed)"))
        #expect(gate.standardOutput.contains("gates failed:\n  CIDEr dropped by"))
        let previous = try NightcapProcess.run(["compare", "--against", "previous", "2", "--db", db])
        #expect(previous.status == 0)
        #expect(previous.standardOutput.contains("A is the run before run 2 in series \(series) (by training step): run 1, model-01000.h5 (step 1000)"))
        let firstOfAll = try NightcapProcess.run(["compare", "--against", "previous", "1", "--db", db, "--max-drop", "CIDEr=0"])
        #expect(firstOfAll.status == 0)
        #expect(firstOfAll.standardOutput.contains(
            "run 1 (nightly) is the first completed run of series \(series) (by training step): nothing to compare against; no gate was applied"))

        // The history page, as a browser shows it.
        let page = folder.path("history.html")
        let written = try NightcapProcess.run(["report", "--history", "--db", db, "--out", page])
        #expect(written.status == 0, "\(written.standardError)")
        let html = try String(contentsOfFile: page, encoding: .utf8)
        #expect(!html.contains("http://") && !html.contains("https://") && !html.contains("src="))
        #expect(html.contains("<title>run 4 (nightly#4), checkpoint model-04000.h5, step 4000: CIDEr"))
        guard let chromium = HeadlessChromium.installed else {
            print(HeadlessChromium.skipMessage)
            return
        }
        let dom = try chromium.dumpDOM(page)
        #expect(!dom.timedOut && dom.status == 0, "\(dom.standardError.suffix(2000))")
        #expect(dom.standardOutput.contains("data-js=\"ok\""), "the page's script did not finish")
        let figures = dom.standardOutput.components(separatedBy: "<figure class=\"trend\"").dropFirst()
        #expect(figures.count == 6, "one chart per metric: Bleu_1..4, ROUGE_L, CIDEr")
        for figure in figures { #expect(figure.contains("<span class=\"counted\">4 points; best: run "), "\(figure.prefix(300))") }
        let ciderChart = try #require(figures.first { $0.hasPrefix(" data-metric=\"CIDEr\"") })
        #expect(ciderChart.contains("<span class=\"counted\">4 points; best: run 3; drops beyond noise: run 4</span>"), "\(ciderChart.prefix(300))")
        #expect(dom.standardOutput.contains("<li class=\"regression\">CIDEr: run 4 (model-04000.h5, step 4000)"))
        let shot = try chromium.screenshot(page, to: folder.path("history.png"), height: 900)
        #expect(!shot.timedOut && shot.status == 0, "\(shot.standardError.suffix(2000))")
    }
}
