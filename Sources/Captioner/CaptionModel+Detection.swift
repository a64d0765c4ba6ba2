import HDF5

extension CaptionModel {
    /// Whether the HDF5 file at `path` is a model file rather than, say, a features file: model files
    /// carry a `model_type` root attribute (schemas/model-format.md) and features files never do.
    /// Whether its model type is one nightcap decodes is `load`'s question, which then says what is
    /// wrong. Throws when the file cannot be opened as HDF5.
    public static func isModelFile(path: String) throws -> Bool {
        try HDF5File.open(path).root.hasAttribute("model_type")
    }
}
