import Foundation
import Testing
@testable import Pipeline

@Suite struct PartitionTests {
    @Test func parsesIOfN() {
        #expect(Partition(text: "0/1") == Partition(index: 0, count: 1))
        #expect(Partition(text: "2/8") == Partition(index: 2, count: 8))
        for bad in ["", "3", "4/4", "5/4", "-1/4", "1/0", "a/4", "1/4/2", " 1/4", "1/ 4", "+1/4", "1/"] {
            #expect(Partition(text: bad) == nil, "\(bad)")
        }
    }

    /// With no Slurm controller to ask (squeue missing, or no configuration), no job is known to have
    /// ended, so a run owned from another host stays refused.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["SLURM_CONF"] == nil && !FileManager.default.fileExists(atPath: "/etc/slurm/slurm.conf")))
    func aQueueThatCannotAnswerEndsNothing() {
        #expect(!SlurmQueue.hasEnded("999999_1"))
    }
}
