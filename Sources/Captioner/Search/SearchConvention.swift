/// How a family's captions are searched for: whose decoding rules the results reproduce. A
/// family names its convention (`ModelFamily.searchConvention`) and its models build their
/// decoders through it (`decoder(stepper:settings:vocabulary:)`), so every family of a convention
/// shares one search.
public enum SearchConvention: String, Sendable, Equatable {
    /// nightcap's own beam search (the Show-Attend-and-Tell family, `NightcapBeamSearch`): a
    /// hypothesis that emits the end token leaves the beam and the beam narrows; the search stops
    /// when no hypothesis is live; the length penalty chooses among the finished ones.
    case nightcap
    /// self-critical.pytorch's `tools/eval.py` (`SelfCriticalDecoder`): greedy `_sample` for beam
    /// size 1, otherwise `CaptionModel.beam_search` (finished beams stay in the beam at -1000 and the
    /// search always runs `max_length` steps; a second log-softmax from step 1; `suppress_UNK`,
    /// `remove_bad_endings`, length penalties `wu_A`/`avg_A`; see docs/decoder.md).
    case selfCritical = "self-critical"

    /// The search of this convention driving `stepper`, for one worker thread.
    func decoder(stepper: any DecoderStepper, settings: DecodeSettings, vocabulary: SearchVocabulary) -> any CaptionDecoding {
        switch self {
        case .nightcap: NightcapBeamSearch(stepper: stepper, settings: settings, vocabulary: vocabulary)
        case .selfCritical: SelfCriticalDecoder(stepper: stepper, settings: settings, vocabulary: vocabulary)
        }
    }
}
