import Foundation
import TestSupport
import Testing

/// A child that does not finish in time is killed and reported, so that a hung `nightcap` fails its
/// test with the reason instead of hanging the suite.
@Suite(.timeLimit(.minutes(20))) struct ProcessTimeoutTests {
    @Test func aChildPastItsTimeoutIsKilledAndSaysSo() throws {
        let folder = TemporaryDirectory()
        // Starting the binary alone takes far longer than a millisecond.
        let outcome = try NightcapProcess.run(["runs", "--db", folder.path("none.sqlite")], timeout: .milliseconds(1))
        #expect(outcome.timedOut)
        #expect(outcome.status == -1)
        #expect(outcome.standardError.hasPrefix("nightcap runs --db "))
        #expect(outcome.standardError.contains("did not finish within"))
    }

    @Test func aChildWithinItsTimeoutIsReportedAsItEnded() throws {
        let folder = TemporaryDirectory()
        let outcome = try NightcapProcess.run(["runs", "--db", folder.path("none.sqlite")])
        #expect(!outcome.timedOut)
        #expect(outcome.status == 1)
        #expect(outcome.standardError.contains("no results database at"))
    }
}
