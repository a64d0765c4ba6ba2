import CBLAS
import Foundation
import TestSupport
import Testing
@testable import Captioner

@Suite("OpenBLAS kernel selection")
struct OpenBLASCoresTests {
    @Test func replacesOnlyTheLibrarysOwnPrescottFallback() {
        func pick(_ chosen: String, _ tier: Int, user: String? = nil, can: Bool = true) -> String? {
            OpenBLASCores.replacement(chosenByLibrary: chosen, vectorTier: tier, userChoice: user, canReselect: can)
        }
        #expect(pick("Prescott", 3) == "SkylakeX")
        #expect(pick("Prescott", 2) == "Haswell")
        #expect(pick("Prescott", 1) == "Sandybridge")
        #expect(pick("Prescott", 0) == nil)  // a CPU without AVX: Prescott is right
        #expect(pick("Haswell", 3) == nil)  // a core the library recognised is its choice
        #expect(pick("Zen", 2) == nil)
        #expect(pick("Prescott", 3, user: "Prescott") == nil)  // OPENBLAS_CORETYPE is the user's choice
        #expect(pick("Prescott", 3, can: false) == nil)  // a single-target build cannot choose again
    }

    @Test func thisMachinesSelectionFollowsThePolicy() {
        let selection = OpenBLASCores.selection
        let expected = OpenBLASCores.replacement(
            chosenByLibrary: selection.chosenByLibrary, vectorTier: Int(nightcap_cpu_vector_tier()),
            userChoice: ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"],
            canReselect: nightcap_openblas_can_reselect() != 0)
        #expect(selection.inUse == (expected ?? selection.chosenByLibrary), "\(selection)")
        #expect(String(cString: openblas_get_corename()) == selection.inUse)
    }

    @Test func productsOnTheSelectedKernelsAreRight() {
        let (m, n, k) = (37, 101, 300)
        var random = SeededGenerator(seed: 11)
        let x = (0..<(m * k)).map { _ in Float.random(in: -1...1, using: &random) }
        let w = (0..<(n * k)).map { _ in Float.random(in: -1...1, using: &random) }
        var c = [Float](repeating: .nan, count: m * n)
        BLAS.multiplyTransposed(rows: m, outputs: n, inputs: k, x, xStride: k, w, wStride: k, into: &c, cStride: n)
        var worst = 0.0
        for i in 0..<m {
            for j in 0..<n {
                var exact = 0.0
                for p in 0..<k { exact += Double(x[i * k + p]) * Double(w[j * k + p]) }
                worst = max(worst, abs(Double(c[i * n + j]) - exact))
            }
        }
        #expect(worst < 1e-4, "max abs error \(worst) on \(OpenBLASCores.selection.inUse)")
    }
}
