import PythonFiles

/// Show, Attend and Tell (Xu et al. 2015) as sgrvinod's PyTorch tutorial trains it, read from
/// nightcap's own model files (tools/export_pytorch.py writes them; schemas/model-format.md), decoded
/// with nightcap's beam search.
struct ShowAttendTellFamily: ModelFamily {
    var name: String { "show-attend-tell" }
    var searchConvention: SearchConvention { .nightcap }
    var readsModelFiles: Bool { true }

    func load(_ source: ModelSource) throws -> any CaptioningModel {
        guard case .modelFile(let path) = source else { throw wrongSource(source) }
        return try ShowAttendTellModel.load(path: path)
    }
}

extension ShowAttendTellModel: CaptioningModel {
    public var family: String { ShowAttendTellFamily().name }
    public var featureDimension: Int { sizes.feature }
    public var summary: String { describe.description }

    /// nightcap's beam search over the family's step, for one worker thread.
    public func makeDecoder(settings: DecodeSettings) -> any CaptionDecoding {
        ShowAttendTellFamily().searchConvention.decoder(
            stepper: ShowAttendTellStepper(model: self), settings: settings,
            vocabulary: .nightcap(start: specialTokens.start, end: specialTokens.end, word: { [self] in word($0) }))
    }
}
