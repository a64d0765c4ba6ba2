import CaptionMetrics
import Foundation
import RegionFeatures

/// The identity of a run's results: what determines them, and nothing else.
///
/// It covers the model file's bytes, the features' identity, the references file's bytes with its
/// format and split, the decode settings, the shard size and the attention storage. It leaves out
/// thread count, progress, the run's name and the paths themselves, so a moved file or a different
/// `--threads` resumes the same run. The features file can be many gigabytes, so its identity is
/// its layout and dataset names, N, R, D, its size, the image ids and region counts, and the first
/// and last mebibyte of its bytes: a re-exported file changes one of those.
public struct RunFingerprint: Sendable, Equatable, CustomStringConvertible {
    public let value: String
    /// The components hashed, kept readable for `nightcap show`.
    public let components: [String: String]

    public var description: String { value }

    public static func compute(
        settings: PipelineSettings, features: RegionFeatureFile, modelPath: String, referencesPath: String?
    ) throws -> RunFingerprint {
        try compute(settings: settings, features: features, modelDigest: try SHA256.file(modelPath), referencesPath: referencesPath)
    }

    /// The same, with the model file's SHA-256 already computed.
    ///
    /// A run without references has `references=none` and no format or split component: it is its
    /// own run, distinct from every run with references, and scoring it later
    /// (`nightcap score RUN`) does not change its fingerprint, which says how it was captioned.
    /// `infosDigest`: the SHA-256 of the self-critical.pytorch infos file a checkpoint model was
    /// built with (its options and vocabulary decide the captions as much as the weights do).
    /// `splitRows`: with a references split, the features-file rows the run decodes (the split's
    /// images); they make the `images` component, absent without a split so that every other run
    /// keeps its fingerprint. A split run planned over every row (before splits chose rows) is
    /// therefore never resumed as one over the split's rows.
    static func compute(
        settings: PipelineSettings, features: RegionFeatureFile, modelDigest: String, referencesPath: String?,
        infosDigest: String? = nil, splitRows: [Int]? = nil
    ) throws -> RunFingerprint {
        var components: [String: String] = [:]
        components["model"] = modelDigest
        if let infosDigest { components["infos"] = infosDigest }
        if let referencesPath {
            components["references"] = try SHA256.file(referencesPath)
            components["references_format"] = settings.referencesFormat?.rawValue ?? "auto"
            components["references_split"] = settings.referencesSplit ?? ""
        } else {
            components["references"] = "none"
        }
        components["features"] = try featureIdentity(features)
        if let splitRows {
            var rows = SHA256()
            for row in splitRows { rows.update("\(row)\n") }
            components["images"] = "\(splitRows.count) rows of the split, sha256 \(rows.finalize())"
        }
        var decode = "beam_size=\(settings.beamSize) max_length=\(settings.maxLength) length_penalty=\(settings.lengthPenaltyText)"
        // The self-critical options join only when they differ from their defaults, so every run
        // configured before they existed keeps its fingerprint.
        if settings.removeBadEndings { decode += " remove_bad_endings=1" }
        if !settings.suppressUnknown { decode += " suppress_unk=0" }
        if let heads = settings.heads { decode += " heads=\(heads)" }
        components["decode"] = decode
        components["shard_size"] = String(settings.shardSize)
        components["attention"] = settings.attention.description
        var digest = SHA256()
        for key in components.keys.sorted() {
            digest.update("\(key)=\(components[key]!)\n")
        }
        return RunFingerprint(value: digest.finalize(), components: components)
    }

    /// The references' identity stored with a run's metrics (`runs.references_digest`): SHA-256
    /// over the file's SHA-256, the format and the split, the three fingerprint components above.
    public var referencesDigest: String? {
        guard let file = components["references"], file != "none" else { return nil }
        return Self.referencesDigest(
            fileDigest: file, format: components["references_format"] ?? "auto", split: components["references_split"] ?? "")
    }

    static func referencesDigest(fileDigest: String, format: String, split: String) -> String {
        var digest = SHA256()
        digest.update("references=\(fileDigest)\nreferences_format=\(format)\nreferences_split=\(split)\n")
        return digest.finalize()
    }

    static func featureIdentity(_ features: RegionFeatureFile) throws -> String {
        var digest = SHA256()
        let names = features.names
        digest.update("layout=\(features.layout.rawValue) N=\(features.imageCount) R=\(features.maxRegions) D=\(features.dimension)\n")
        for (key, value) in [
            ("group", names.group), ("features", names.features), ("num_regions", names.numRegions),
            ("image_ids", names.imageIDs), ("positions", names.positions), ("boxes", names.boxes), ("labels", names.labels),
        ] {
            digest.update("\(key)=\(value ?? "")\n")
        }
        // Only when configured, so that every run from before the option keeps its fingerprint.
        if let pooled = names.pooled { digest.update("pooled=\(pooled)\n") }
        for (id, count) in zip(features.imageIDs, features.regionCounts) { digest.update("\(id):\(count)\n") }
        let attributes = try FileManager.default.attributesOfItem(atPath: features.path)
        let size = (attributes[.size] as? NSNumber)?.int64Value ?? 0
        digest.update("size=\(size)\n")
        if let handle = FileHandle(forReadingAtPath: features.path) {
            defer { try? handle.close() }
            let piece: UInt64 = 1 << 20
            if let head = try handle.read(upToCount: Int(piece)) { digest.update(head) }
            if UInt64(size) > 2 * piece {
                try handle.seek(toOffset: UInt64(size) - piece)
                if let tail = try handle.read(upToCount: Int(piece)) { digest.update(tail) }
            }
        }
        return digest.finalize()
    }
}
