import Foundation

/// Everything METEOR reads besides the captions: from inside meteor-1.5.jar, the English function
/// words, non-breaking prefixes and WordNet synonyms; beside it, the paraphrase table (mapped from
/// nightcap's cache, built there on first use).
public struct MeteorResources: Sendable {
    let normalizer: MeteorNormalizer
    let functionWords: Set<String>
    let synonyms: MeteorSynonyms
    let paraphrases: ParaphraseTable
    /// Where the data came from (for messages and the run's record).
    public let location: MeteorDataLocation
    /// The paraphrase index file that is mapped.
    public let paraphraseIndexPath: String
    /// True when this load built the paraphrase index (the first use of this data).
    public let builtParaphraseIndex: Bool

    static let jarEntries = [
        "function/english.words", "nonbreaking/english.prefixes", "synonym/english.synsets", "synonym/english.exceptions",
    ]

    /// Loads the data at `location`, using (or building) the paraphrase index in `cacheDirectory`.
    /// Damaged data (a truncated table, a jar without its synonym entries) is an error naming the
    /// file and what to do, never a different score.
    public static func load(_ location: MeteorDataLocation, cacheDirectory: String = MeteorResources.defaultCacheDirectory())
        throws(CaptionMetricsError) -> MeteorResources
    {
        do throws(MeteorDataProblem) {
            let entries = try MeteorJar.read(location.jarPath, entries: jarEntries)
            func text(_ name: String) throws(MeteorDataProblem) -> String {
                guard let data = entries[name] else { throw .missingEntry(name) }
                guard let text = String(data: data, encoding: .utf8) else { throw .malformed(name, "it is not UTF-8 text") }
                return text
            }
            let functionWords = Set(javaLines(try text("function/english.words")))
            guard !functionWords.isEmpty else { throw MeteorDataProblem.malformed("function/english.words", "it is empty") }
            let normalizer = MeteorNormalizer(prefixFile: try text("nonbreaking/english.prefixes"))
            guard !normalizer.prefixes.isEmpty else { throw MeteorDataProblem.malformed("nonbreaking/english.prefixes", "it lists no prefix") }
            func bytes(_ name: String) throws(MeteorDataProblem) -> Data {
                guard let data = entries[name] else { throw .missingEntry(name) }
                return data
            }
            let synonyms = try MeteorSynonyms(synsetsFile: try bytes("synonym/english.synsets"), exceptionsFile: try bytes("synonym/english.exceptions"))
            let (table, indexPath, built) = try ParaphraseIndexCache.open(gzip: location.paraphrasePath, cacheDirectory: cacheDirectory)
            return MeteorResources(
                normalizer: normalizer, functionWords: functionWords, synonyms: synonyms, paraphrases: table, location: location,
                paraphraseIndexPath: indexPath, builtParaphraseIndex: built)
        } catch {
            throw error.report(location: location)
        }
    }

    /// `NIGHTCAP_CACHE_DIR`, else `$XDG_CACHE_HOME/nightcap`, else `~/.cache/nightcap`.
    public static func defaultCacheDirectory(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let dir = environment["NIGHTCAP_CACHE_DIR"], !dir.isEmpty { return dir }
        if let xdg = environment["XDG_CACHE_HOME"], !xdg.isEmpty { return xdg + "/nightcap" }
        return (environment["HOME"] ?? NSHomeDirectory()) + "/.cache/nightcap"
    }
}

extension MeteorDataProblem {
    func report(location: MeteorDataLocation) -> CaptionMetricsError {
        let reinstall = "reinstall it (\(MeteorDataLocation.installCommand) --force-reinstall) or point --meteor-data at an intact copy"
        switch self {
        case .unreadable(let path, let reason):
            return CaptionMetricsError(.meteorDataDamaged, "METEOR data: cannot read \(path): \(reason)")
        case .damaged(let path, let reason):
            return CaptionMetricsError(.meteorDataDamaged, "METEOR data: \(path) is damaged: \(reason); \(reinstall)")
        case .damagedIndex(let path, let reason):
            return CaptionMetricsError(
                .meteorDataDamaged, "METEOR data: the cached paraphrase index \(path) is damaged: \(reason); delete it and nightcap rebuilds it")
        case .malformed(let entry, let reason):
            return CaptionMetricsError(.meteorDataDamaged, "METEOR data: \(location.jarPath): entry \(entry) is damaged: \(reason); \(reinstall)")
        case .missingEntry(let entry):
            return CaptionMetricsError(
                .meteorDataDamaged, "METEOR data: \(location.jarPath) has no entry \(entry) (not the meteor-1.5.jar pycocoevalcap ships, or damaged); \(reinstall)")
        }
    }
}

/// The paraphrase index in nightcap's cache: `meteor/paraphrase-<SHA-256 of the .gz>.index`.
enum ParaphraseIndexCache {
    static func open(gzip path: String, cacheDirectory: String) throws(MeteorDataProblem) -> (ParaphraseTable, String, Bool) {
        guard let compressed = try? Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) else {
            throw .unreadable(path, "no such file or not readable")
        }
        var sha = SHA256()
        sha.update(compressed)
        let digest = sha.finalize()
        let folder = cacheDirectory + "/meteor"
        let indexPath = folder + "/paraphrase-\(digest).index"
        if FileManager.default.fileExists(atPath: indexPath) {
            if let table = try? ParaphraseTable(mapping: indexPath), table.header.sourceDigest == digest {
                return (table, indexPath, false)
            }
            // A damaged or foreign file under our name: rebuilt below.
        }
        let text = try ParaphraseIndexFile.gunzip(compressed, path: path)
        let bytes = try ParaphraseIndexFile.build(text: text, sourceDigest: digest, path: path)
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            let temporary = indexPath + ".\(ProcessInfo.processInfo.processIdentifier).tmp"
            try Data(bytes).write(to: URL(fileURLWithPath: temporary))
            if rename(temporary, indexPath) != 0 {
                try? FileManager.default.removeItem(atPath: temporary)
                throw MeteorDataProblem.unreadable(indexPath, "cannot move the new index into place: \(String(cString: strerror(errno)))")
            }
        } catch let problem as MeteorDataProblem {
            throw problem
        } catch {
            throw .unreadable(
                indexPath, "cannot write the paraphrase index (\(error.localizedDescription)); set NIGHTCAP_CACHE_DIR to a writable folder")
        }
        return (try ParaphraseTable(mapping: indexPath), indexPath, true)
    }
}
