import PythonFiles
import HDF5

extension TrainingProgress {
    /// The optional root attributes `iter`, `epoch` and `best_val_score` of a nightcap model file.
    /// An attribute of another type, or a file that cannot be read, records nothing: the model
    /// loader reports unreadable files.
    public static func read(nightcapModelFile path: String) -> TrainingProgress {
        guard let file = try? HDF5File.open(path), let root = try? file.root else { return TrainingProgress() }
        func integer(_ name: String) -> Int? {
            switch try? root.attribute(name) {
            case .integer(let value)?: return Int(exactly: value)
            case .float(let value)? where value.rounded() == value && abs(value) < 1e15: return Int(value)
            default: return nil
            }
        }
        func real(_ name: String) -> Double? {
            switch try? root.attribute(name) {
            case .float(let value)?: return value
            case .integer(let value)?: return Double(value)
            default: return nil
            }
        }
        return TrainingProgress(step: integer("iter"), epoch: integer("epoch"), bestValidationScore: real("best_val_score"))
    }
}
