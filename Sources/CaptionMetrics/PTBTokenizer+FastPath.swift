/// The tokenizer's fast path: captions of plain ASCII words need none of the lexer's rules.
extension PTBTokenizer {
    /// The common case without touching the lexer rules: ASCII letters and digits separated by
    /// spaces, at most one final period after a word that cannot be an abbreviation. Returns nil
    /// for anything else.
    static func plainTokens(_ caption: String) -> [String]? {
        var caption = caption
        return caption.withUTF8 { bytes -> [String]? in
            var tokens: [String] = []
            var start = -1
            var sawPeriod = false
            var i = 0
            let n = bytes.count
            while i <= n {
                let b: UInt8 = i < n ? bytes[i] : 0x20
                switch b {
                case 0x30...0x39, 0x41...0x5A, 0x61...0x7A:
                    if sawPeriod { return nil }
                    if start < 0 { start = i }
                case 0x20, 0x09, 0x0A, 0x0D, 0x2E:
                    if b == 0x2E {
                        // Only a final period right after a word.
                        if sawPeriod || start < 0 { return nil }
                        sawPeriod = true
                    }
                    if start >= 0 {
                        let length = i - start
                        // "a." and "st." keep their period: leave them to the lexer.
                        if b == 0x2E && length == 1 { return nil }
                        let token = String(unsafeUninitializedCapacity: length) { out in
                            for k in 0..<length {
                                var c = bytes[start + k]
                                if c >= 0x41 && c <= 0x5A { c |= 0x20 }
                                out[k] = c
                            }
                            return length
                        }
                        if length >= 5 && length <= 6, Abbreviations.assimilations[token] != nil { return nil }
                        if b == 0x2E, Abbreviations.mayKeepPeriod(token) { return nil }
                        tokens.append(token)
                        start = -1
                    }
                default:
                    return nil
                }
                i += 1
            }
            return tokens
        }
    }
}
