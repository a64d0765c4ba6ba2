import Foundation

extension TrainingInfos {
    /// The infos file self-critical.pytorch wrote beside a checkpoint: `model-best.pth` pairs with
    /// the single `infos_*-best.pkl` of its folder, any other checkpoint (`model.pth`,
    /// `model-1200.pth`) with the single `infos_*.pkl` without `-best`.
    ///
    /// Throws when there are none or several, listing them, with the flag that chooses one.
    public static func locate(besideCheckpoint checkpoint: String) throws -> String {
        let url = URL(fileURLWithPath: checkpoint)
        let folder = url.deletingLastPathComponent()
        let stem = url.lastPathComponent.components(separatedBy: ".").first ?? ""
        let wantBest = stem.hasSuffix("-best")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        let candidates = names.filter { name in
            guard name.hasPrefix("infos_"), name.hasSuffix(".pkl") else { return false }
            return name.hasSuffix("-best.pkl") == wantBest
        }.sorted()
        let pattern = wantBest ? "infos_*-best.pkl" : "infos_*.pkl (without -best)"
        guard candidates.count == 1 else {
            let found = candidates.isEmpty
                ? "there is no \(pattern)"
                : "there are \(candidates.count): \(candidates.joined(separator: ", "))"
            throw CheckpointError(
                .badInfos, file: checkpoint,
                message: "the options and vocabulary of this checkpoint are in self-critical.pytorch's infos file, and in \(folder.path) \(found); name it with --infos (or [model] infos in the pipeline file)")
        }
        return folder.appendingPathComponent(candidates[0]).path
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
