import Foundation

/// Helpers that reproduce the last digits of pycocoevalcap's Python and numpy arithmetic.
enum NumericParity {
    /// `np.mean` of a float64 array: numpy's pairwise summation (blocks of 8, split above 128) over
    /// the whole array, starting from 0, divided by the count.
    static func numpyMean(_ values: [Double]) -> Double {
        guard !values.isEmpty else { return .nan }
        return values.withUnsafeBufferPointer { pairwiseSum($0[...]) } / Double(values.count)
    }

    /// numpy's `pairwise_sum_DOUBLE`, which `np.add.reduce` uses for contiguous arrays.
    static func pairwiseSum(_ a: Slice<UnsafeBufferPointer<Double>>) -> Double {
        let n = a.count
        let base = a.startIndex
        if n < 8 {
            var res = 0.0
            for i in 0..<n { res += a[base + i] }
            return res
        } else if n <= 128 {
            var r = (a[base], a[base + 1], a[base + 2], a[base + 3], a[base + 4], a[base + 5], a[base + 6], a[base + 7])
            var i = 8
            while i < n - (n % 8) {
                r.0 += a[base + i]
                r.1 += a[base + i + 1]
                r.2 += a[base + i + 2]
                r.3 += a[base + i + 3]
                r.4 += a[base + i + 4]
                r.5 += a[base + i + 5]
                r.6 += a[base + i + 6]
                r.7 += a[base + i + 7]
                i += 8
            }
            var res = ((r.0 + r.1) + (r.2 + r.3)) + ((r.4 + r.5) + (r.6 + r.7))
            while i < n {
                res += a[base + i]
                i += 1
            }
            return res
        } else {
            var n2 = n / 2
            n2 -= n2 % 8
            return pairwiseSum(a[base..<(base + n2)]) + pairwiseSum(a[(base + n2)..<(base + n)])
        }
    }

    /// Python's `str.split()` on the joined caption: BLEU and CIDEr split on any Unicode whitespace,
    /// which only matters for CoreNLP's fraction tokens ("25\u{A0}1/2" counts as two words there).
    static func pythonWords(_ tokens: [String]) -> [String] {
        // Python whitespace is ASCII <= 0x20 or starts with a UTF-8 lead byte >= 0xC2.
        guard tokens.contains(where: { $0.isEmpty || $0.utf8.contains(where: { $0 <= 0x20 || $0 >= 0xC2 }) }) else {
            return tokens
        }
        guard tokens.contains(where: { $0.unicodeScalars.contains(where: isPythonWhitespace) }) else {
            return tokens.filter { !$0.isEmpty }
        }
        var words: [String] = []
        for token in tokens {
            for part in token.unicodeScalars.split(whereSeparator: isPythonWhitespace) {
                words.append(String(String.UnicodeScalarView(part)))
            }
        }
        return words
    }

    static func isPythonWhitespace(_ c: Unicode.Scalar) -> Bool {
        switch c.value {
        case 0x09...0x0D, 0x1C...0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000:
            return true
        default:
            return false
        }
    }
}
