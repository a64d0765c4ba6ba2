import Foundation

/// The default name of a run, when neither `--name` nor a pipeline file's `[run] name` gives one.
public enum RunName {
    /// The model's folder and file stem, `log_updown/model-best` for `log_updown/model-best.pth`:
    /// self-critical.pytorch names every best checkpoint `model-best` and keeps each training in
    /// its own folder (the training id), so the folder tells checkpoints apart. A model directly in
    /// `currentFolder` is named by its stem alone. Extensions dropped: `.pth.tar`, `.pth`, `.pt`,
    /// `.ckpt`, `.safetensors`, `.h5`, `.bin`.
    public static func defaultName(modelPath: String, currentFolder: String = FileManager.default.currentDirectoryPath) -> String {
        let model = URL(fileURLWithPath: modelPath, relativeTo: URL(fileURLWithPath: currentFolder, isDirectory: true)).standardizedFileURL
        var stem = model.lastPathComponent
        let extensions = [".pth.tar", ".pth", ".pt", ".ckpt", ".safetensors", ".h5", ".hdf5", ".bin", ".tar"]
        if let known = extensions.first(where: { stem.count > $0.count && stem.lowercased().hasSuffix($0) }) {
            stem.removeLast(known.count)
        }
        let folder = model.deletingLastPathComponent().resolvingSymlinksInPath().path
        let current = URL(fileURLWithPath: currentFolder).standardizedFileURL.resolvingSymlinksInPath().path
        let folderName = URL(fileURLWithPath: folder).lastPathComponent
        if folder == current || folder == "/" || folderName.isEmpty { return stem }
        return "\(folderName)/\(stem)"
    }
}
