import ArgumentParser
import CaptionMetrics

/// The bootstrap's settings, shared by `compare` and `report`.
struct BootstrapOptions: ParsableArguments {
    @Option(help: "Resamples of the paired bootstrap behind the confidence intervals (default 1000).")
    var bootstrap = 1000
    @Option(help: "Confidence level of the intervals, between 0 and 1 (default 0.95).")
    var confidence = 0.95
    @Option(help: "Seed of the bootstrap's resampling: the same seed gives the same intervals (default 0).")
    var seed: UInt64 = 0

    func validate() throws {
        guard bootstrap > 0 else { throw ValidationError("Please give --bootstrap a positive number of resamples, not \(bootstrap).") }
        guard confidence > 0 && confidence < 1 else {
            throw ValidationError("Please give --confidence as a level between 0 and 1 (for example 0.95), not \(confidence).")
        }
    }

    var pairedBootstrap: PairedBootstrap { PairedBootstrap(resamples: bootstrap, confidence: confidence, seed: seed) }
}
