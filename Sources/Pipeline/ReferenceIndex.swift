import CaptionMetrics
import ConcurrencyPrimitives

/// The reference captions of the images a run captions, PTB-tokenized once at the start.
public struct ReferenceIndex: Sendable {
    /// Tokenized references by image id (the features file's id text).
    public let tokens: [String: [[String]]]
    /// Feature images without reference captions (captioned, not scored).
    public let imagesWithoutReferences: [String]
    /// Reference images not in the features file.
    public let referencesWithoutImages: Int
    public let source: String

    /// Matches the features' image ids with the references' ids by their text (an integer id 42 in
    /// the features file matches the reference image 42). At most `parallelism` threads tokenize.
    public init(
        references: CaptionReferences, featureImageIDs: [String], featuresPath: String,
        parallelism: Int = ParallelWork.defaultWidth
    ) throws {
        var byText: [String: [String]] = [:]
        byText.reserveCapacity(references.imageIDs.count)
        for id in references.imageIDs { byText[id.value] = references.captions[id] }
        // All captions go through the tokenizer as one text, image after image, as pycocoevalcap
        // feeds its references to the PTB tokenizer.
        var lines: [String] = []
        var owners: [(id: String, count: Int)] = []
        var missing: [String] = []
        for id in featureImageIDs {
            guard let captions = byText[id] else {
                missing.append(id)
                continue
            }
            lines += captions
            owners.append((id, captions.count))
        }
        let tokenized = PTBTokenizer.tokenize(lines: lines, parallelism: parallelism)
        var tokens: [String: [[String]]] = [:]
        tokens.reserveCapacity(owners.count)
        var offset = 0
        for owner in owners {
            tokens[owner.id] = Array(tokenized[offset..<(offset + owner.count)])
            offset += owner.count
        }
        if tokens.isEmpty {
            let featureExamples = featureImageIDs.prefix(3).joined(separator: ", ")
            let referenceExamples = references.imageIDs.prefix(3).map(\.value).joined(separator: ", ")
            let rowNumbers = featureImageIDs.prefix(3) == ["0", "1", "2"].prefix(featureImageIDs.count)
            throw PipelineError(
                .validation,
                "no image of \(featuresPath) has reference captions in \(references.source): the features' image ids look like \(featureExamples)"
                    + (rowNumbers ? " (row numbers: the file has no image ids dataset)" : "")
                    + ", the references' like \(referenceExamples). Point [features] image_ids at the dataset holding the real ids, or use the references of these images.")
        }
        self.tokens = tokens
        imagesWithoutReferences = missing
        referencesWithoutImages = max(0, references.imageIDs.count - tokens.count)
        source = references.source
    }

    /// The references of a run and the rows of the features file it decodes: every row, or with a
    /// `split` only the rows of the split's images (those the split file lists), in file order.
    /// Images outside the split are neither read nor counted as "without references".
    ///
    /// - Throws: `PipelineError` when no image of the split is in the features file.
    static func load(
        path: String, format: ReferenceFormat?, split: String?, featureImageIDs: [String], featuresPath: String,
        parallelism: Int = ParallelWork.defaultWidth
    ) throws -> (index: ReferenceIndex, rows: [Int]) {
        let references = try CaptionFileReader.references(at: path, format: format, split: split)
        guard let split else {
            let index = try ReferenceIndex(
                references: references, featureImageIDs: featureImageIDs, featuresPath: featuresPath, parallelism: parallelism)
            return (index, Array(featureImageIDs.indices))
        }
        let inSplit = Set(references.imageIDs.map(\.value))
        let rows = featureImageIDs.indices.filter { inSplit.contains(featureImageIDs[$0]) }
        guard !rows.isEmpty else {
            let featureExamples = featureImageIDs.prefix(3).joined(separator: ", ")
            let splitExamples = references.imageIDs.prefix(3).map(\.value).joined(separator: ", ")
            throw PipelineError(
                .validation,
                "none of the \(references.imageIDs.count) images of split \"\(split)\" in \(references.source) is in \(featuresPath) "
                    + "(\(featureImageIDs.count) images): the features' image ids look like \(featureExamples), the split's like \(splitExamples). "
                    + "Use the features file of the split's images (for the Karpathy test split, COCO val2014), or point [features] image_ids at the dataset holding the real ids.")
        }
        let index = try ReferenceIndex(
            references: references, featureImageIDs: rows.map { featureImageIDs[$0] }, featuresPath: featuresPath,
            parallelism: parallelism)
        return (index, rows)
    }
}
