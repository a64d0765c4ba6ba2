import Foundation

extension TrainingInfos {
    /// The infos file self-critical.pytorch wrote beside a checkpoint. Upstream saves
    /// `model<S>.pth` with `infos_<id><S>.pkl`, where the suffix S is empty, `-best`, or a history
    /// checkpoint's iteration (`-1200`, or `_1200` in older versions): `model-best.pth` pairs with the
    /// single `infos_*-best.pkl` of its folder, `model_1200.pth` with the single `infos_*_1200.pkl`
    /// (`-1200` or `_1200`, else the plain infos), and any other checkpoint (`model.pth`) with the single
    /// `infos_*.pkl` that has no such suffix.
    ///
    /// Throws when there are none or several, listing them and the other infos files of the folder,
    /// with the flag that chooses one.
    public static func locate(besideCheckpoint checkpoint: String) throws -> String {
        let url = URL(fileURLWithPath: checkpoint)
        let folder = url.deletingLastPathComponent()
        let stem = url.lastPathComponent.components(separatedBy: ".").first ?? ""
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? [])
            .filter { $0.hasPrefix("infos_") && $0.hasSuffix(".pkl") }.sorted()
        func infosStem(_ name: String) -> String { String(name.dropFirst("infos_".count).dropLast(".pkl".count)) }
        let plain = names.filter { name in
            let id = infosStem(name)
            return !id.hasSuffix("-best") && historyIteration(of: id) == nil
        }
        let candidates: [String]
        let pattern: String
        if stem.hasSuffix("-best") {
            candidates = names.filter { $0.hasSuffix("-best.pkl") }
            pattern = "infos_*-best.pkl"
        } else if let iteration = historyIteration(of: stem) {
            let history = names.filter { historyIteration(of: infosStem($0)) == iteration }
            // An infos of the same iteration when upstream saved one; a folder with only the plain
            // infos (history checkpoints of a nightcap-made folder) falls back to it.
            candidates = history.isEmpty ? plain : history
            pattern = history.isEmpty ? "infos_*_\(iteration).pkl (or the plain infos_*.pkl)" : "infos_*_\(iteration).pkl"
        } else {
            // Without a suffix: the infos files of no history iteration; a folder whose only infos has
            // one (an id ending in digits) still pairs with it.
            candidates = plain.isEmpty ? names.filter { !$0.hasSuffix("-best.pkl") } : plain
            pattern = "infos_*.pkl (without -best)"
        }
        guard candidates.count == 1 else {
            let others = names.filter { !candidates.contains($0) }
            let found = candidates.isEmpty
                ? "there is no \(pattern)" + (others.isEmpty ? "" : " (the folder has \(others.prefix(5).joined(separator: ", "))\(others.count > 5 ? ", ..." : ""), of other checkpoints)")
                : "there are \(candidates.count): \(candidates.joined(separator: ", "))"
            let example = candidates.first ?? others.first
            throw CheckpointError(
                .badInfos, file: checkpoint,
                message: "the options and vocabulary of this checkpoint are in self-critical.pytorch's infos file, and in \(folder.path) \(found); name it with --infos (or [model] infos in the pipeline file)"
                    + (example.map { ", for example --infos \(folder.appendingPathComponent($0).path) if it is this checkpoint's" } ?? ""))
        }
        return folder.appendingPathComponent(candidates[0]).path
    }

    /// The iteration of a history checkpoint's name (`model_1200`, `model-1200`, `heldout_1200`), or nil.
    static func historyIteration(of stem: String) -> String? {
        guard let separator = stem.lastIndex(where: { $0 == "_" || $0 == "-" }) else { return nil }
        let digits = stem[stem.index(after: separator)...]
        guard !digits.isEmpty, digits.allSatisfy(\.isASCII), digits.allSatisfy(\.isNumber), separator != stem.startIndex else { return nil }
        return String(digits)
    }
}

extension TrainingInfos {
    /// The infos a checkpoint is read with, and the file they came from (nil when embedded): the
    /// `given` file when there is one, else the infos the checkpoint carries (a Lightning `.ckpt`),
    /// else the infos file beside it (`locate(besideCheckpoint:)`, whose error names the checkpoint).
    public static func forCheckpoint(_ checkpoint: TorchCheckpoint, given: String?) throws -> (infos: TrainingInfos, path: String?) {
        if let given { return (try load(path: given), given) }
        if let embedded = checkpoint.embeddedInfos { return (embedded, nil) }
        let found = try locate(besideCheckpoint: checkpoint.path)
        return (try load(path: found), found)
    }
}
