import Foundation

/// The `*_imgid2idx.pkl` files that bottom-up-attention converters (e.g. the VQA
/// `detection_features_converter.py`) write beside `image_features`/`image_bb` HDF5 files: a pickle
/// of `{image_id: row}`. Read with the same restricted pickle reader as checkpoints.
public enum ImageIDMap {
    /// The image id of every row `0..<N`, as text (`"391895"`).
    public static func load(path: String) throws -> [String] {
        try load(path: path, data: readCheckpointFile(path))
    }

    static func load(path: String, data: Data) throws -> [String] {
        func bad(_ message: String) -> CheckpointError {
            CheckpointError(.badIDMap, file: path, message: message)
        }
        let top: PickleValue
        do {
            top = try PickleMachine.load(data)
        } catch let error as PickleError {
            throw CheckpointError(.corruptPickle, file: path, message: "\(error); the id map is truncated or corrupt: copy it again or write it again with the converter")
        }
        guard case .dict(let map) = top else {
            throw bad("holds a \(top.typeName), not the {image_id: row} dict a bottom-up-attention converter writes (train36_imgid2idx.pkl...)")
        }
        guard map.count > 0 else { throw bad("the id map is empty") }
        var ids = [String?](repeating: nil, count: map.count)
        for entry in map.entries {
            let id: String
            switch entry.key {
            case .int(let v): id = String(v)
            case .string(let s): id = s
            default: throw bad("an image id is a \(entry.key.typeName) (\(entry.key.render(maxLength: 40))), not an integer or a string")
            }
            guard let row64 = entry.value.int, case .int = entry.value, let row = Int(exactly: row64) else {
                throw bad("image \(id) maps to a \(entry.value.typeName) (\(entry.value.render(maxLength: 40))), not a row number")
            }
            guard row >= 0, row < ids.count else {
                throw bad("image \(id) maps to row \(row), outside 0..<\(ids.count) (the map has \(ids.count) images; every row must appear once)")
            }
            if let other = ids[row] {
                throw bad("images \(other) and \(id) both map to row \(row); every row must appear once")
            }
            ids[row] = id
        }
        // n distinct rows in 0..<n: every row is present, so nothing is dropped here.
        return ids.compactMap { $0 }
    }
}
