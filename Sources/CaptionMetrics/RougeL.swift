/// ROUGE-L as pycocoevalcap's `Rouge` computes it: LCS-based F-measure with beta = 1.2, using the
/// best precision and the best recall over the references; the corpus score is the mean over images.
public enum RougeL {
    static let beta = 1.2

    /// ROUGE-L of one hypothesis against its references (PTB tokens).
    ///
    /// pycocoevalcap splits with `split(" ")`, so an empty caption is one empty word: an empty
    /// hypothesis scores 0 against non-empty references and 1 against an empty reference.
    public static func score(hypothesis: [String], references: [[String]]) -> Double {
        var vocabulary = TokenVocabulary()
        let h = vocabulary.ids(hypothesis.isEmpty ? [""] : hypothesis)
        let r = references.map { vocabulary.ids($0.isEmpty ? [""] : $0) }
        return score(hypothesisIDs: h, referenceIDs: r)
    }

    /// ROUGE-L from interned ids; an empty caption must already be `[id of ""]`.
    public static func score(hypothesisIDs c: [Int32], referenceIDs references: [[Int32]]) -> Double {
        precondition(!references.isEmpty, "ROUGE-L needs at least one reference")
        var precisionMax = -Double.infinity
        var recallMax = -Double.infinity
        var row = [Int](repeating: 0, count: c.count + 1)
        for r in references {
            let lcs = longestCommonSubsequence(r, c, row: &row)
            precisionMax = max(precisionMax, Double(lcs) / Double(c.count))
            recallMax = max(recallMax, Double(lcs) / Double(r.count))
        }
        guard precisionMax != 0 && recallMax != 0 else { return 0 }
        let beta2 = beta * beta
        return ((1 + beta2) * precisionMax * recallMax) / (recallMax + beta2 * precisionMax)
    }

    /// Length of the longest common subsequence, with one reusable row over `b`.
    static func longestCommonSubsequence(_ a: [Int32], _ b: [Int32], row: inout [Int]) -> Int {
        if row.count < b.count + 1 { row = [Int](repeating: 0, count: b.count + 1) }
        for j in 0...b.count { row[j] = 0 }
        for x in a {
            var diagonal = 0
            for j in 1...max(1, b.count) where j <= b.count {
                let above = row[j]
                row[j] = x == b[j - 1] ? diagonal + 1 : max(above, row[j - 1])
                diagonal = above
            }
        }
        return row[b.count]
    }
}
