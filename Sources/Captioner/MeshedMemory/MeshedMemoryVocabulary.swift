import Foundation
import PythonFiles

/// The Meshed-Memory Transformer's vocabulary: upstream's `vocab.pkl`, a pickled `data.vocab.Vocab`
/// (`itos`, a list of words by id; `stoi`, a `defaultdict` from word to id; `freqs`, a `Counter`),
/// read through the restricted pickle VM (nothing of it is run). Its specials are `<unk>`, `<pad>`,
/// `<bos>` and `<eos>` (0...3 in upstream's `TextField`).
public struct MeshedMemoryVocabulary: Sendable, Equatable {
    /// Where it was read from, for messages.
    public var source: String
    /// The word of each id (`itos`).
    public var words: [String]
    public var unknown: Int
    public var padding: Int
    public var start: Int
    public var end: Int

    public init(source: String, words: [String]) throws {
        func special(_ name: String) throws -> Int {
            guard let index = words.firstIndex(of: name) else {
                throw CheckpointError(
                    .badInfos, file: source, object: "itos",
                    message: "the vocabulary has no `\(name)` (upstream's TextField adds <unk>, <pad>, <bos> and <eos>); pass the vocab.pkl the model was trained with")
            }
            return index
        }
        self.source = source
        self.words = words
        unknown = try special("<unk>")
        padding = try special("<pad>")
        start = try special("<bos>")
        end = try special("<eos>")
    }

    /// The vocabulary `--vocab` names, or the `vocab.pkl` beside `checkpoint` (train.py's
    /// `vocab_<exp_name>.pkl` when it is the only one there).
    public static func locate(besideCheckpoint checkpoint: String) throws -> String {
        let folder = (checkpoint as NSString).deletingLastPathComponent
        let directory = folder.isEmpty ? "." : folder
        let plain = (directory as NSString).appendingPathComponent("vocab.pkl")
        if FileManager.default.fileExists(atPath: plain) { return plain }
        let named = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
            .filter { $0.hasPrefix("vocab_") && $0.hasSuffix(".pkl") }.sorted()
        if named.count == 1 { return (directory as NSString).appendingPathComponent(named[0]) }
        throw CheckpointError(
            .badInfos, file: checkpoint,
            message: named.isEmpty
                ? "is a Meshed-Memory Transformer checkpoint, but there is no vocab.pkl beside it; pass upstream's vocabulary with --vocab FILE (or the pipeline key model.vocab)"
                : "is a Meshed-Memory Transformer checkpoint with several vocabularies beside it (\(named.joined(separator: ", "))); choose one with --vocab FILE (or the pipeline key model.vocab)")
    }

    /// Reads `path` (`PythonFiles.PickledVocab`).
    public static func load(path: String) throws -> MeshedMemoryVocabulary {
        try MeshedMemoryVocabulary(source: path, words: PickledVocab.words(path: path))
    }

    /// Reads the pickle `data` (`path` names it in messages).
    static func load(path: String, data: Data) throws -> MeshedMemoryVocabulary {
        try MeshedMemoryVocabulary(source: path, words: PickledVocab.words(path: path, data: data))
    }
}
