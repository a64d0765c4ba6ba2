import CaptionMetrics
import Testing

/// Cases checked against stanford-corenlp-3.4.1's PTBTokenizer (-preserveLines -lowerCase) output,
/// after pycocoevalcap's punctuation removal.
@Suite struct TokenizerTests {
    @Test(arguments: [
        ("A dog's bone, isn't it?", "a dog 's bone is n't it"),
        ("They're gonna eat; I can't.", "they 're gon na eat i ca n't"),
        ("A fire truck (ladder truck) drives.", "a fire truck -lrb- ladder truck -rrb- drives"),
        ("STOP [EATING ANIMALS].", "stop -lsb- eating animals -rsb-"),
        ("A T-shirt, his/her hat & AT&T at 4:38 p.m. for $14.99", "a t-shirt his/her hat & at&t at 4:38 p.m. for $ 14.99"),
        ("Jordan St. and the U.S. Army", "jordan st. and the u.s. army"),
        ("The people are loading the big red truck.,", "the people are loading the big red truck."),
        ("It's o'clock, ma'am, y'all", "it 's o'clock ma'am y' all"),
        ("#213 leans into 1% of 2+ things!!!", "# 213 leans into 1 % of 2 + things !!!"),
        ("West 25 1/2 street", "west 25\u{A0}1/2 street"),
        ("A. clear vase", "a. clear vase"),
        ("Ave S. The end", "ave s the end"),
        ("", ""),
        ("  \n\t ", ""),
    ])
    func matchesCoreNLP(raw: String, expected: String) {
        #expect(PTBTokenizer.tokenizeJoined(raw) == expected)
    }

    @Test func followingLineDecidesSentenceFinalLetter() {
        #expect(PTBTokenizer.tokenize("ave S.", followedBy: "The x") == ["ave", "s"])
        #expect(PTBTokenizer.tokenize("ave S.", followedBy: "Foo x") == ["ave", "s."])
        #expect(PTBTokenizer.tokenize("ave S.") == ["ave", "s."])
        #expect(PTBTokenizer.tokenize(lines: ["ave S.", "  ", "A x"]) == [["ave", "s"], [], ["a", "x"]])
    }

    @Test func fractionIsTwoWordsForBleuButOneForRouge() {
        let tokens = PTBTokenizer.tokenize("25 1/2 street")
        #expect(tokens.count == 2)
        #expect(BleuStatistics(hypothesis: tokens, references: [["25", "1/2", "street"]]).testlen == 3)
    }
}
