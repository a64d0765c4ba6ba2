import Foundation

/// How far training had gone when a checkpoint was saved, as far as the file (or its infos) says:
/// the step, the epoch and the best validation score so far. Each is nil when not recorded.
///
/// Where each comes from:
/// - self-critical.pytorch's infos pickle: `iter`, `epoch`, `best_val_score`;
/// - a Lightning `.ckpt` (top-level keys): `global_step`, `epoch`;
/// - a Meshed-Memory Transformer checkpoint (top-level keys): `epoch`, `val_cider`;
/// - a nightcap model file (root attributes, schemas/model-format.md): `iter`, `epoch`, `best_val_score`.
public struct TrainingProgress: Sendable, Hashable {
    public var step: Int?
    public var epoch: Int?
    public var bestValidationScore: Double?

    public init(step: Int? = nil, epoch: Int? = nil, bestValidationScore: Double? = nil) {
        self.step = step
        self.epoch = epoch
        self.bestValidationScore = bestValidationScore
    }

    /// Whether nothing is recorded.
    public var isEmpty: Bool { step == nil && epoch == nil && bestValidationScore == nil }

    /// These values, with the ones missing here taken from `other`.
    public func filled(from other: TrainingProgress) -> TrainingProgress {
        TrainingProgress(
            step: step ?? other.step, epoch: epoch ?? other.epoch,
            bestValidationScore: bestValidationScore ?? other.bestValidationScore)
    }

    /// The keys of a pickled dict (infos, or a checkpoint's top level): the step from `iter` or
    /// `global_step`, the epoch from `epoch`, the best validation score from `best_val_score` or
    /// `val_cider`. A value of another type (a tensor, a string) is not read.
    init(dict: PickleDict) {
        func integer(_ key: String) -> Int? {
            switch dict[key] {
            case .int(let value)?: return Int(exactly: value)
            case .float(let value)? where value.rounded() == value && abs(value) < 1e15: return Int(value)
            default: return nil
            }
        }
        func real(_ key: String) -> Double? {
            switch dict[key] {
            case .float(let value)?: return value
            case .int(let value)?: return Double(value)
            default: return nil
            }
        }
        self.init(
            step: integer("iter") ?? integer("global_step"), epoch: integer("epoch"),
            bestValidationScore: real("best_val_score") ?? real("val_cider"))
    }
}
