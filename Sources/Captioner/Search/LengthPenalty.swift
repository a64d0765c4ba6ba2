#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension LengthPenaltyRule {
    /// The score a finished hypothesis of `length` words (the end token counted when it ended on
    /// it) and summed log-probability `sum` is ranked by: `sum / length^alpha` (alpha 0: `sum`),
    /// upstream's `wu_alpha` `sum / ((5 + length)^alpha / 6^alpha)`, or `avg` `sum / length`. Both
    /// searches rank with it, in Double.
    func score(sum: Double, length: Double, alpha: Double) -> Double {
        switch self {
        case .power: alpha == 0 ? sum : sum / pow(length, alpha)
        case .wu: sum / (pow(5 + length, alpha) / pow(6, alpha))
        case .average: sum / length
        }
    }
}
