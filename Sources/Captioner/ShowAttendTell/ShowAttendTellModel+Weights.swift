/// Raw read-only views of a model's weights, valid only inside `ShowAttendTellModel.withWeights`.
struct WeightPointers {
    let imageProjection: UnsafePointer<Float>
    let imageProjectionBias: UnsafePointer<Float>
    let initialState: UnsafePointer<Float>
    let initialStateBias: UnsafePointer<Float>
    let hiddenProjection: UnsafePointer<Float>
    let textProjectionBias: UnsafePointer<Float>
    /// Nil without a context gate.
    let gateBias: UnsafePointer<Float>?
    let scoreWeight: UnsafePointer<Float>
    let contextToGates: UnsafePointer<Float>
    let wordToGates: UnsafePointer<Float>
    let output: UnsafePointer<Float>
    let outputBias: UnsafePointer<Float>
}

extension ShowAttendTellModel {
    /// Calls `body` with pointers to the weights; they must not escape it.
    func withWeights<Result>(_ body: (WeightPointers) -> Result) -> Result {
        imageProjection.withUnsafeBufferPointer { imageProjection in
        imageProjectionBias.withUnsafeBufferPointer { imageProjectionBias in
        initialState.withUnsafeBufferPointer { initialState in
        initialStateBias.withUnsafeBufferPointer { initialStateBias in
        hiddenProjection.withUnsafeBufferPointer { hiddenProjection in
        textProjectionBias.withUnsafeBufferPointer { textProjectionBias in
        gateBias.withUnsafeBufferPointer { gateBias in
        scoreWeight.withUnsafeBufferPointer { scoreWeight in
        contextToGates.withUnsafeBufferPointer { contextToGates in
        wordToGates.withUnsafeBufferPointer { wordToGates in
        output.withUnsafeBufferPointer { output in
        outputBias.withUnsafeBufferPointer { outputBias in
            body(WeightPointers(
                imageProjection: imageProjection.baseAddress!, imageProjectionBias: imageProjectionBias.baseAddress!,
                initialState: initialState.baseAddress!, initialStateBias: initialStateBias.baseAddress!,
                hiddenProjection: hiddenProjection.baseAddress!, textProjectionBias: textProjectionBias.baseAddress!,
                gateBias: hasContextGate ? gateBias.baseAddress! : nil, scoreWeight: scoreWeight.baseAddress!,
                contextToGates: contextToGates.baseAddress!, wordToGates: wordToGates.baseAddress!,
                output: output.baseAddress!, outputBias: outputBias.baseAddress!))
        }}}}}}}}}}}}
    }
}
