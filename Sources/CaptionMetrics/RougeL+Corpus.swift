extension RougeL {
    /// The corpus ROUGE-L: the mean of the per-image scores, summed the way numpy's `np.mean` sums
    /// (pairwise), so that the last digits equal pycocoevalcap's.
    public static func corpusScore(_ perImage: [Double]) -> Double {
        NumericParity.numpyMean(perImage)
    }
}
