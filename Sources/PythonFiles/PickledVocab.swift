import Foundation

/// A pickled vocabulary object's words: the `itos` list (word by id) of a `data.vocab.Vocab`, the
/// `vocab.pkl` that aimagelab/meshed-memory-transformer's `train.py` writes (its `stoi` is a
/// `defaultdict`, its `freqs` a `Counter`; both read, neither needed). Read through the restricted
/// pickle VM (`PickleAllowList`): nothing of it is run. Which words are special is the family's
/// question (`Sources/Captioner/MeshedMemory/MeshedMemoryVocabulary.swift`).
public enum PickledVocab {
    /// The words of the vocabulary at `path`, by id.
    public static func words(path: String) throws -> [String] {
        try words(path: path, data: readCheckpointFile(path))
    }

    /// The words of the vocabulary pickled in `data` (`path` names it in messages).
    public static func words(path: String, data: Data) throws -> [String] {
        let top: PickleValue
        do {
            top = try PickleMachine.load(data)
        } catch let error as PickleError {
            throw CheckpointError(
                .corruptPickle, file: path, message: "\(error); the vocabulary is not a readable pickle (truncated or corrupt): copy upstream's vocab.pkl again")
        }
        guard case .object(let object) = top, let itos = object.attributes["itos"] else {
            var what = "a \(top.typeName)"
            if case .object(let o) = top { what = "a pickled \(o.className) without `itos`" }
            throw CheckpointError(
                .badInfos, file: path,
                message: "holds \(what), not upstream's data.vocab.Vocab (with itos and stoi); pass the vocab.pkl the Meshed-Memory Transformer was trained with")
        }
        guard let items = itos.sequence else {
            throw CheckpointError(.badInfos, file: path, object: "itos", message: "`itos` is a \(itos.typeName), not a list of words; the vocabulary is damaged")
        }
        var words: [String] = []
        words.reserveCapacity(items.count)
        for (index, item) in items.enumerated() {
            guard let word = item.string else {
                throw CheckpointError(
                    .badInfos, file: path, object: "itos[\(index)]", message: "word \(index) is a \(item.typeName), not a string; the vocabulary is damaged")
            }
            words.append(word)
        }
        return words
    }
}
