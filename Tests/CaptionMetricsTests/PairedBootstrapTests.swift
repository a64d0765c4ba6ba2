import CaptionMetrics
import Foundation
import Testing

/// The paired bootstrap of `compare` and the report's `--vs`.
@Suite struct PairedBootstrapTests {
    @Test func aVerdictNeedsADifference() {
        // Sums of the same scores in another order: last-bit noise is no difference, not `better`.
        #expect(DeltaInterval(delta: 1e-17, lower: 1e-17, upper: 3e-17).verdict == "no difference")
        #expect(DeltaInterval(delta: 0, lower: 0, upper: 0).verdict == "no difference")
        #expect(DeltaInterval(delta: 0.01, lower: 0.002, upper: 0.02).verdict == "better")
        #expect(DeltaInterval(delta: -0.01, lower: -0.02, upper: -0.002).verdict == "worse")
        #expect(DeltaInterval(delta: 0.01, lower: -0.002, upper: 0.02).verdict == "within noise")
        #expect(DeltaInterval(delta: 1e-12, lower: -1e-12, upper: 1e-12).verdict == "no difference")
    }

    /// The generator's outputs, from an independent Python implementation of SplitMix64 seeding
    /// xoshiro256** and Lemire's bounded draw (see `PairedBootstrap` for the method).
    @Test func generatorMatchesAnIndependentImplementation() {
        var generator = BootstrapGenerator(seed: 42)
        #expect([generator.next(), generator.next(), generator.next()]
            == [0x1578_0b2e_0c2e_c716, 0x6104_d986_6d11_3a7e, 0xae17_5332_39e4_99a1])
        var positions = BootstrapGenerator(seed: 7)
        #expect((0..<12).map { _ in positions.position(below: 10) } == [7, 2, 8, 9, 9, 8, 0, 1, 4, 1, 5, 7])
    }

    @Test func percentileInterpolatesLikeNumpy() {
        // numpy.percentile([1, 2, 4, 8], [2.5, 50, 97.5]) == [1.075, 3.0, 7.7]
        let values: [Double] = [1, 2, 4, 8]
        #expect(abs(PairedBootstrap.percentile(sorted: values, 0.025) - 1.075) < 1e-12)
        #expect(PairedBootstrap.percentile(sorted: values, 0.5) == 3)
        #expect(abs(PairedBootstrap.percentile(sorted: values, 0.975) - 7.7) < 1e-12)
    }

    @Test func aRunComparedWithItselfHasZeroWidthIntervals() throws {
        let run = try FakecapRuns.load()
        let bootstrap = PairedBootstrap()
        for interval in bootstrap.bleuDifference(a: run.a.bleu, b: run.a.bleu)
            + [bootstrap.meanDifference(a: run.a.cider, b: run.a.cider), bootstrap.meanDifference(a: run.a.rouge, b: run.a.rouge)]
        {
            #expect(interval == DeltaInterval(delta: 0, lower: 0, upper: 0))
            #expect(!interval.excludesZero)
        }
    }

    @Test func aConstantShiftHasAPointInterval() {
        let a = (0..<50).map { Double($0 % 7) / 10 }
        let interval = PairedBootstrap(resamples: 200).meanDifference(a: a, b: a.map { $0 + 0.25 })
        #expect(abs(interval.delta - 0.25) < 1e-12)
        #expect(abs(interval.lower - 0.25) < 1e-12 && abs(interval.upper - 0.25) < 1e-12)
        #expect(interval.excludesZero)
    }

    /// Two runs on the fakecap fixture that differ on known images: run B replaces the captions of
    /// every third image by its first reference. The intervals equal those of a direct computation
    /// here: the resample positions drawn from the generator, corpus BLEU by `CorpusBleu.score` on
    /// the resampled statistics, CIDEr-D and ROUGE-L as plain means, percentiles by numpy's rule.
    @Test func intervalsEqualAnIndependentComputation() throws {
        let runs = try FakecapRuns.load()
        let bootstrap = PairedBootstrap(resamples: 300, confidence: 0.9, seed: 11)
        let n = runs.a.bleu.count
        var generator = BootstrapGenerator(seed: 11)
        var bleuDeltas = [[Double]](repeating: [], count: 4)
        var ciderDeltas: [Double] = [], rougeDeltas: [Double] = []
        for _ in 0..<300 {
            let picks = (0..<n).map { _ in generator.position(below: n) }
            let bleuA = CorpusBleu.score(picks.map { runs.a.bleu[$0] })
            let bleuB = CorpusBleu.score(picks.map { runs.b.bleu[$0] })
            for order in 0..<4 { bleuDeltas[order].append(bleuB[order] - bleuA[order]) }
            ciderDeltas.append(picks.map { runs.b.cider[$0] - runs.a.cider[$0] }.reduce(0, +) / Double(n))
            rougeDeltas.append(picks.map { runs.b.rouge[$0] - runs.a.rouge[$0] }.reduce(0, +) / Double(n))
        }
        func expected(_ deltas: [Double]) -> (Double, Double) {
            let sorted = deltas.sorted()
            func quantile(_ q: Double) -> Double {
                let h = q * Double(sorted.count - 1)
                let i = Int(h)
                return i + 1 < sorted.count ? sorted[i] + (h - Double(i)) * (sorted[i + 1] - sorted[i]) : sorted[i]
            }
            return (quantile(0.05), quantile(0.95))
        }
        let bleu = bootstrap.bleuDifference(a: runs.a.bleu, b: runs.b.bleu)
        for order in 0..<4 {
            let (lower, upper) = expected(bleuDeltas[order])
            #expect(abs(bleu[order].lower - lower) < 1e-12 && abs(bleu[order].upper - upper) < 1e-12)
            let whole = CorpusBleu.score(runs.b.bleu)[order] - CorpusBleu.score(runs.a.bleu)[order]
            #expect(abs(bleu[order].delta - whole) < 1e-15)
        }
        for (interval, deltas) in [
            (bootstrap.meanDifference(a: runs.a.cider, b: runs.b.cider), ciderDeltas),
            (bootstrap.meanDifference(a: runs.a.rouge, b: runs.b.rouge), rougeDeltas),
        ] {
            let (lower, upper) = expected(deltas)
            #expect(abs(interval.lower - lower) < 1e-12 && abs(interval.upper - upper) < 1e-12)
            #expect(interval.lower <= interval.delta && interval.delta <= interval.upper)
        }
        // Captions equal to a reference score higher: CIDEr-D improves beyond the noise.
        #expect(bootstrap.meanDifference(a: runs.a.cider, b: runs.b.cider).lower > 0)
    }

    @Test func theSameSeedGivesTheSameIntervalAndAnotherSeedAnother() throws {
        let runs = try FakecapRuns.load()
        let first = PairedBootstrap(seed: 3).meanDifference(a: runs.a.rouge, b: runs.b.rouge)
        let again = PairedBootstrap(seed: 3).meanDifference(a: runs.a.rouge, b: runs.b.rouge)
        let other = PairedBootstrap(seed: 4).meanDifference(a: runs.a.rouge, b: runs.b.rouge)
        #expect(first == again)
        #expect(first != other)
        #expect(first.delta == other.delta)
    }

    /// For a mean of many independent differences, the percentile interval is close to the normal
    /// one, mean ± z·sd/√n (z = 1.959964 for 95%).
    @Test func theIntervalOfAMeanIsCloseToTheNormalApproximation() {
        var generator = BootstrapGenerator(seed: 99)
        let a = (0..<4000).map { _ in Double(generator.next() % 1000) / 1000 }
        let b = a.map { $0 + Double(generator.next() % 1000) / 1000 - 0.45 }
        let d = zip(b, a).map { $0 - $1 }
        let mean = d.reduce(0, +) / Double(d.count)
        let sd = (d.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(d.count - 1)).squareRoot()
        let halfWidth = 1.959964 * sd / Double(d.count).squareRoot()
        let interval = PairedBootstrap(resamples: 2000).meanDifference(a: a, b: b)
        #expect(abs(interval.lower - (mean - halfWidth)) < 0.1 * halfWidth)
        #expect(abs(interval.upper - (mean + halfWidth)) < 0.1 * halfWidth)
    }
}

/// Two "runs" over the fakecap fixture images: A is the toolkit's example results, B replaces every
/// third image's caption by its first reference.
struct FakecapRuns {
    struct Scores {
        var bleu: [BleuStatistics] = []
        var cider: [Double] = []
        var rouge: [Double] = []
    }
    var a = Scores(), b = Scores()

    static func load() throws -> FakecapRuns {
        let references = try CaptionFileReader.references(at: Fixture.path("fakecap-references.json"))
        let results = try CaptionFileReader.results(at: Fixture.path("fakecap-results.json"))
        var changed = results
        for (index, id) in results.imageIDs.enumerated() where index % 3 == 0 {
            changed.captions[id] = references.captions[id]?.first
        }
        var runs = FakecapRuns()
        for (results, keyPath) in [(results, \FakecapRuns.a), (changed, \FakecapRuns.b)] {
            let evaluation = try CocoEvaluation.evaluate(results: results, references: references)
            runs[keyPath: keyPath] = Scores(
                bleu: evaluation.images.map(\.bleuStatistics), cider: evaluation.images.map(\.scores.cider),
                rouge: evaluation.images.map(\.scores.rougeL))
        }
        return runs
    }
}
