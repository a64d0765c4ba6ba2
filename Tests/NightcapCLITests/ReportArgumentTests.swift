import ArgumentParser
import Foundation
import Testing
@testable import nightcap

/// The options of `report` and the bootstrap options of `compare`, parsed in-process.
@Suite struct ReportArgumentTests {
    func parseFailure<Command: ParsableCommand>(_ command: Command.Type, _ arguments: [String]) -> String? {
        do {
            _ = try command.parse(arguments)
            return nil
        } catch {
            return command.message(for: error)
        }
    }

    @Test func reportOptionsAndDefaults() throws {
        let report = try Nightcap.Report.parse(["3", "--vs", "4", "--out", "r.html", "--db", "x.sqlite"])
        #expect(report.runReference == "3" && report.versus == "4" && report.output == "r.html")
        #expect(report.worst == 20 && report.best == 20 && report.ids == nil && report.images == nil)
        let bootstrap = report.bootstrapOptions.pairedBootstrap
        #expect(bootstrap.resamples == 1000 && bootstrap.confidence == 0.95 && bootstrap.seed == 0)
        #expect(parseFailure(Nightcap.Report.self, ["3"]) == "Missing expected argument '--out <out>'")
        #expect(parseFailure(Nightcap.Report.self, ["3", "--out", "r.html", "--best=-2"])
            == "Please give --worst and --best as counts of 0 or more.")
    }

    @Test func bootstrapAndSignificanceValidation() throws {
        #expect(parseFailure(Nightcap.Compare.self, ["1", "2", "--bootstrap", "0"])
            == "Please give --bootstrap a positive number of resamples, not 0.")
        #expect(parseFailure(Nightcap.Compare.self, ["1", "2", "--confidence", "1"])
            == "Please give --confidence as a level between 0 and 1 (for example 0.95), not 1.0.")
        #expect(parseFailure(Nightcap.Compare.self, ["1", "2", "--significant"])
            == "Please use --significant with a --max-drop gate (it decides when a drop fails).")
        let compare = try Nightcap.Compare.parse(["1", "2", "--max-drop", "CIDEr=0.02", "--significant", "--seed", "9", "--bootstrap", "50"])
        #expect(compare.significant)
        #expect(compare.bootstrapOptions.pairedBootstrap == .init(resamples: 50, confidence: 0.95, seed: 9))
    }

    @Test func helpListsTheReportCommand() {
        #expect(Nightcap.helpMessage().contains("  report "))
        let help = Nightcap.Report.helpMessage()
        for option in ["--vs", "--images", "--worst", "--best", "--ids", "--out", "--bootstrap", "--confidence", "--seed"] {
            #expect(help.contains(option), "\(option)")
        }
        #expect(help.contains("COCO_val2014_<12 digits>.jpg"))
    }
}
