import Foundation

extension TrainingInfos {
    /// Reads self-critical.pytorch's `infos_<id>[-best].pkl`: a pickle (protocol 2 since 2019,
    /// protocol 0 from Python 2 before) of a dict with `opt` (an `argparse.Namespace`) and `vocab`
    /// (`{'1': 'a', ...}`). Python 2 strings read as latin-1, as upstream's `pickle_load` does.
    public static func load(path: String) throws -> TrainingInfos {
        try load(path: path, data: readCheckpointFile(path))
    }

    static func load(path: String, data: Data) throws -> TrainingInfos {
        let top: PickleValue
        do {
            top = try PickleMachine.load(data)
        } catch let error as PickleError {
            let format = try? CheckpointFormat.detect(head: data.prefix(512), path: path)
            if let format, format != .pickle {
                throw CheckpointError(
                    .badInfos, file: path,
                    message: "a \(format.rawValue) file, not an infos pickle; pass self-critical.pytorch's infos_<id>-best.pkl with --infos")
            }
            throw CheckpointError(.corruptPickle, file: path, message: "\(error); the infos file is truncated or corrupt: copy it again")
        }
        guard case .dict(let infos) = top else {
            throw CheckpointError(
                .badInfos, file: path,
                message: "holds a \(top.typeName), not the dict self-critical.pytorch writes (keys opt, vocab, iter...); pass its infos_<id>-best.pkl")
        }
        guard let vocab = infos["vocab"] else {
            let keys = infos.entries.prefix(10).map { $0.key.render(maxLength: 30) }.joined(separator: ", ")
            throw CheckpointError(
                .badInfos, file: path, object: "vocab",
                message: "the infos file has no 'vocab' (its keys: \(keys)); without the vocabulary no word can be printed: pass the infos_<id>-best.pkl that training wrote beside the checkpoint")
        }
        guard let opt = infos["opt"] else {
            throw CheckpointError(
                .badInfos, file: path, object: "opt",
                message: "the infos file has no 'opt' (the training options); pass the infos_<id>-best.pkl that training wrote beside the checkpoint")
        }
        return TrainingInfos(
            source: path, options: try options(from: opt, source: path, object: "opt"),
            vocabulary: try vocabulary(from: vocab, source: path, object: "vocab"))
    }

    /// The options and vocabulary of a Lightning checkpoint: `_vocab` and `_opt` are uint8 tensors
    /// holding `pickle.dumps` of the vocab dict and the Namespace (protocol 4 or 5).
    init(lightningVocab: [UInt8], options: [UInt8], source: String) throws {
        func unpickle(_ bytes: [UInt8], _ name: String) throws -> PickleValue {
            do {
                return try PickleMachine.load(Data(bytes))
            } catch let error as PickleError {
                throw CheckpointError(.corruptPickle, file: source, object: name, message: "\(error); the checkpoint is corrupt: copy it again")
            }
        }
        self.init(
            source: source,
            options: try Self.options(from: unpickle(options, "_opt"), source: source, object: "_opt"),
            vocabulary: try Self.vocabulary(from: unpickle(lightningVocab, "_vocab"), source: source, object: "_vocab"))
    }

    static func options(from value: PickleValue, source: String, object: String) throws -> [String: TrainingOption] {
        let attributes: PickleDict
        switch value {
        case .object(let namespace): attributes = namespace.attributes
        case .dict(let dict): attributes = dict
        default:
            throw CheckpointError(
                .badInfos, file: source, object: object,
                message: "the options are a \(value.typeName), not an argparse.Namespace; pass the infos file self-critical.pytorch wrote")
        }
        var options: [String: TrainingOption] = [:]
        for entry in attributes.entries {
            guard let name = entry.key.string else { continue }
            options[name] = TrainingOption(entry.value)
        }
        return options
    }

    static func vocabulary(from value: PickleValue, source: String, object: String) throws -> [Int: String] {
        func bad(_ message: String) -> CheckpointError {
            CheckpointError(.badInfos, file: source, object: object, message: message)
        }
        var words: [Int: String] = [:]
        switch value {
        case .dict(let dict):
            for entry in dict.entries {
                let index: Int
                switch entry.key {
                case .string(let s):
                    guard let i = Int(s) else { throw bad("vocabulary key '\(s.prefix(30))' is not a number; self-critical.pytorch writes {'1': word, ...}") }
                    index = i
                case .int(let i):
                    guard let v = Int(exactly: i) else { throw bad("vocabulary key \(i) is out of range") }
                    index = v
                default:
                    throw bad("a vocabulary key is a \(entry.key.typeName); self-critical.pytorch writes {'1': word, ...}")
                }
                guard case .string(let word) = entry.value else {
                    throw bad("the word of index \(index) is a \(entry.value.typeName), not a string")
                }
                guard index >= 1 else { throw bad("vocabulary index \(index) (index 0 is reserved for the end token; words start at 1)") }
                words[index] = word
            }
        case .list(let list):
            // Some forks keep ix_to_word as a list of the words 1...V.
            for (i, item) in list.items.enumerated() {
                guard case .string(let word) = item else { throw bad("vocabulary item \(i) is a \(item.typeName), not a string") }
                words[i + 1] = word
            }
        default:
            throw bad("the vocabulary is a \(value.typeName), not a dict of index to word")
        }
        guard !words.isEmpty else { throw bad("the vocabulary is empty") }
        return words
    }
}

extension TrainingOption {
    /// The option's value: scalars as they are, anything else as a short rendering.
    init(_ value: PickleValue) {
        switch value {
        case .none: self = .none
        case .bool(let b): self = .bool(b)
        case .int(let v): self = .int(Int(v))
        case .float(let d): self = .double(d)
        case .string(let s): self = .string(s)
        default: self = .other(value.render(maxLength: 120))
        }
    }

    /// The value as Python would print it.
    public var text: String {
        switch self {
        case .none: return "None"
        case .bool(let b): return b ? "True" : "False"
        case .int(let v): return String(v)
        case .double(let d): return pythonFloatText(d)
        case .string(let s): return "'\(s)'"
        case .other(let s): return s
        }
    }
}
