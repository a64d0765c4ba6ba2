import CaptionMetrics
import Foundation
import Testing

@Suite struct BadInputTests {
    func results(_ json: String) throws -> CaptionResults {
        try CaptionFileReader.results(json: Data(json.utf8), source: "r.json")
    }

    func references(_ json: String, format: ReferenceFormat? = nil, split: String? = nil) throws -> CaptionReferences {
        try CaptionFileReader.references(json: Data(json.utf8), source: "a.json", format: format, split: split)
    }

    func message(_ body: () throws -> Void) -> String {
        do {
            try body()
            return "no error"
        } catch let error as CaptionMetricsError {
            return error.message
        } catch {
            return "other error \(error)"
        }
    }

    @Test func unreadableFileNamesThePath() {
        let text = message { _ = try CaptionFileReader.results(at: "/nonexistent/r.json") }
        #expect(text.hasPrefix("/nonexistent/r.json: cannot read the file"))
    }

    @Test func malformedJSONSaysWhere() {
        let text = message { _ = try results("[{\"image_id\": 1, \"caption\": \"a\"},\n {\"image_id\": 2 \"caption\": \"b\"}]") }
        #expect(text.hasPrefix("r.json: not valid JSON:"))
        #expect(text.contains("line 2") || text.contains("character") || text.contains("offset"), "\(text)")
    }

    @Test func wrongTypeNamesTheKeyPath() {
        #expect(message { _ = try results("[{\"image_id\": 1, \"caption\": 7}]") }
            == "r.json: [0].caption is a number; a caption must be a string.")
        #expect(message { _ = try results("[{\"caption\": \"x\"}]") }
            == "r.json: [0].image_id is missing; an image id must be an integer or a string.")
        #expect(message { _ = try references("{\"annotations\": [{\"image_id\": 1.5, \"caption\": \"x\"}]}") }
            == "a.json: annotations[0].image_id is 1.5, but an image id must be an integer or a string.")
    }

    @Test func swappedFilesAreExplained() {
        #expect(message { _ = try results("{\"annotations\": []}") }.contains("Is this a references file passed as --results?"))
        #expect(message { _ = try references("[]") }.contains("Is this a results file passed as --references?"))
        #expect(message { _ = try references("{\"foo\": 1}") }.contains("Pass --references-format coco or karpathy."))
    }

    @Test func duplicateResultNamesTheImage() {
        let text = message { _ = try results("[{\"image_id\": 42, \"caption\": \"a\"}, {\"image_id\": 7, \"caption\": \"b\"}, {\"image_id\": 42, \"caption\": \"c\"}]") }
        #expect(text == "r.json: image 42 has more than one caption (entries [0] and [2]); pycocoevalcap scores exactly one caption per image. Keep one entry per image_id.")
    }

    @Test func idsOfDifferentTypesAreReported() throws {
        let r = try results("[{\"image_id\": \"42\", \"caption\": \"a dog\"}]")
        let a = try references("{\"annotations\": [{\"image_id\": 42, \"caption\": \"a dog on grass\"}]}")
        let text = message { _ = try CocoEvaluation.evaluate(results: r, references: a) }
        #expect(text.hasPrefix("r.json uses string image ids (e.g. \"42\") where a.json uses integer ids for the same images (1 such ids)."))
        // Consistent string ids work.
        let s = try references("{\"annotations\": [{\"image_id\": \"42\", \"caption\": \"a dog on grass\"}]}")
        #expect(try CocoEvaluation.evaluate(results: r, references: s).images.count == 1)
    }

    @Test func noCommonImages() throws {
        let r = try results("[{\"image_id\": 1, \"caption\": \"a dog\"}]")
        let a = try references("{\"annotations\": [{\"image_id\": 2, \"caption\": \"a dog\"}]}")
        #expect(message { _ = try CocoEvaluation.evaluate(results: r, references: a) }.contains("have no image id in common"))
    }

    @Test func unmatchedImagesAreCountedNotScored() throws {
        let r = try results("[{\"image_id\": 1, \"caption\": \"a dog\"}, {\"image_id\": 3, \"caption\": \"a cat\"}]")
        let a = try references("{\"annotations\": [{\"image_id\": 1, \"caption\": \"a dog\"}, {\"image_id\": 2, \"caption\": \"a cow\"}]}")
        let e = try CocoEvaluation.evaluate(results: r, references: a)
        #expect(e.images.map(\.imageID) == [ImageID(1)])
        #expect(e.resultsWithoutReferences == [ImageID(3)])
        #expect(e.referencesWithoutResults == [ImageID(2)])
    }

    /// pycocoevalcap tokenizes an empty caption to "": BLEU counts 0 words (all scores 0 after the
    /// brevity penalty), CIDEr-D has an empty vector (0), ROUGE-L sees one empty word (0 against
    /// non-empty references). The evaluation neither crashes nor skips the image.
    @Test func emptyCaptionScoresZero() throws {
        let r = try results("[{\"image_id\": 1, \"caption\": \"\"}, {\"image_id\": 2, \"caption\": \"a cat on a mat\"}]")
        let a = try references("{\"annotations\": [{\"image_id\": 1, \"caption\": \"a dog on grass\"}, {\"image_id\": 2, \"caption\": \"a cat on a mat\"}]}")
        let e = try CocoEvaluation.evaluate(results: r, references: a)
        #expect(e.images.count == 2)
        let empty = e.images[0]
        #expect(empty.hypothesisTokens.isEmpty)
        #expect(empty.bleuStatistics == BleuStatistics(testlen: 0, reflen: 4, guess: [0, 0, 0, 0], correct: [0, 0, 0, 0]))
        #expect(empty.scores.values == [0, 0, 0, 0, 0, 0])
        #expect(RougeL.score(hypothesis: [], references: [[]]) == 1)
    }

    @Test func nonASCIITextNeverCrashes() throws {
        let text = "Un café très élégant 日本語 😀 naïve — “quoted” ‘x’ € 5 ½ \u{0}\u{7F}\u{FEFF}e\u{301}"
        #expect(PTBTokenizer.tokenize(text) == ["un", "café", "très", "élégant", "日本語", "naïve", "quoted", "x", "$", "5", "1/2", "e\u{301}"])
        let r = try results("[{\"image_id\": 1, \"caption\": \"\(text.replacingOccurrences(of: "\u{0}", with: ""))\"}]")
        let a = try references("{\"annotations\": [{\"image_id\": 1, \"caption\": \"un café\"}]}")
        #expect(try CocoEvaluation.evaluate(results: r, references: a).images.count == 1)
    }

    @Test func karpathySplitAndIDs() throws {
        let json = """
            {"images": [
              {"cocoid": 5, "split": "test", "sentences": [{"raw": "A dog."}, {"raw": "A brown dog."}]},
              {"imgid": 6, "split": "train", "sentences": [{"raw": "A cat."}]},
              {"filename": "x.jpg", "split": "test", "sentences": [{"raw": "A cow."}]}]}
            """
        let all = try references(json)
        #expect(all.imageIDs == [ImageID(5), ImageID(6), ImageID("x.jpg")])
        let test = try references(json, split: "test")
        #expect(test.imageIDs == [ImageID(5), ImageID("x.jpg")])
        #expect(test.captions[ImageID(5)] == ["A dog.", "A brown dog."])
        #expect(message { _ = try references(json, split: "val") } == "a.json: no images with split \"val\"; the file has \"test\", \"train\".")
        #expect(message { _ = try references("{\"annotations\": []}", split: "val") }
            == "a.json: COCO caption annotations have no splits; drop --split val, or pass a Karpathy split file.")
    }
}
