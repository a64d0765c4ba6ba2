import Foundation
import CaptionMetrics
import RegionFeatures
import TOMLKit

/// Reads a pipeline file (`pipelines/*.toml`): sections `[features]`, `[model]`, `[references]`,
/// `[decode]`, `[run]`, `[output]`. Unknown sections and keys are errors naming the key, the file
/// and the line, so that a typo never silently falls back to a default.
public enum PipelineFile {
    static let schema: [String: Set<String>] = [
        "features": ["path", "layout", "group", "features", "num_regions", "image_ids", "boxes", "labels", "label_names", "positions", "id_map", "pooled"],
        "model": ["path", "infos", "vocab", "heads"],
        "references": ["path", "format", "split"],
        "decode": ["beam_size", "max_length", "length_penalty", "remove_bad_endings", "suppress_unk"],
        "run": ["name", "series", "shard_size", "threads", "attention"],
        "output": ["database"],
    ]

    /// Checks every line that opens with `[` before the TOML parser sees it: a pipeline file's only
    /// such lines are section headers `[name]`, and toml++ (inside TOMLKit) stops the process on an
    /// assertion for some malformed headers (`[=decode]`, found by scripts/fuzz) instead of
    /// reporting them.
    static func checkSectionHeaders(_ text: String, path: String) throws {
        for (number, line) in text.components(separatedBy: "\n").enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            guard trimmed.hasPrefix("[") else { continue }
            var header = Substring(trimmed)
            if let comment = header.firstIndex(of: "#") { header = header[..<comment] }
            header = Substring(header.trimmingCharacters(in: .whitespaces))
            let name = header.dropFirst().dropLast().trimmingCharacters(in: .whitespaces)
            let isBare = !name.isEmpty && name.unicodeScalars.allSatisfy { $0.isASCII && (CharacterSet.alphanumerics.contains($0) || $0 == "_" || $0 == "-") }
            guard header.hasSuffix("]"), isBare else {
                let known = schema.keys.sorted().map { "[\($0)]" }.joined(separator: ", ")
                throw PipelineError(
                    .configuration, "\(path):\(number + 1): malformed section header `\(trimmed)`; a pipeline file has \(known)")
            }
        }
    }

    /// Loads and checks `path`; relative paths inside resolve against the file's folder.
    public static func load(_ path: String) throws -> PipelineSettings {
        let absolute = URL(fileURLWithPath: path).standardizedFileURL.path
        guard let data = FileManager.default.contents(atPath: absolute) else {
            throw PipelineError(.configuration, "\(path): cannot read the pipeline file (no such file or not readable)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw PipelineError(.configuration, "\(path): the pipeline file is not UTF-8 text")
        }
        return try parse(text, path: absolute)
    }

    /// Parses pipeline-file text; `path` names the file in messages and anchors relative paths.
    public static func parse(_ text: String, path: String) throws -> PipelineSettings {
        try checkSectionHeaders(text, path: path)
        let table: TOMLTable
        do {
            table = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            throw PipelineError(.configuration, "\(path):\(error.source.begin.line): \(error.description)")
        }
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent()
        let lines = text.components(separatedBy: "\n")
        var settings = PipelineSettings()
        settings.pipelineFile = path

        for key in table.keys {
            guard let allowed = schema[key] else {
                let known = schema.keys.sorted().map { "[\($0)]" }.joined(separator: ", ")
                throw PipelineError(.configuration, "\(path):\(line(of: key, section: nil, in: lines)): unknown section or key `\(key)`; a pipeline file has \(known)")
            }
            guard let section = table[key]?.table else {
                throw PipelineError(.configuration, "\(path):\(line(of: key, section: nil, in: lines)): `\(key)` must be a section ([\(key)])")
            }
            for entry in section.keys where !allowed.contains(entry) {
                throw PipelineError(
                    .configuration,
                    "\(path):\(line(of: entry, section: key, in: lines)): unknown key `\(entry)` in [\(key)]; known keys: \(allowed.sorted().joined(separator: ", "))")
            }
            let reader = SectionReader(section: section, name: key, path: path, lines: lines)
            switch key {
            case "features": try readFeatures(reader, folder: folder, into: &settings)
            case "model": try readModel(reader, folder: folder, into: &settings)
            case "references": try readReferences(reader, folder: folder, into: &settings)
            case "decode": try readDecode(reader, into: &settings)
            case "run": try readRun(reader, into: &settings)
            case "output": try readOutput(reader, folder: folder, into: &settings)
            default: break
            }
        }
        return settings
    }

    /// `[features]`: the file, its layout and dataset names, and an id map.
    private static func readFeatures(_ reader: SectionReader, folder: URL, into settings: inout PipelineSettings) throws {
        settings.featuresPath = try reader.string("path").map { resolve($0, against: folder) }
        if let layout = try reader.string("layout") {
            guard let value = FeatureLayout(rawValue: layout) else {
                throw reader.error("layout", "unknown layout \"\(layout)\"; use packed, per-image or ragged")
            }
            settings.featureNames.layout = value
        }
        settings.featureNames.group = try reader.string("group")
        settings.featureNames.features = try reader.string("features")
        settings.featureNames.numRegions = try reader.string("num_regions")
        settings.featureNames.imageIDs = try reader.string("image_ids")
        settings.featureNames.boxes = try reader.string("boxes")
        settings.featureNames.labels = try reader.string("labels")
        settings.featureNames.labelNames = try reader.string("label_names")
        settings.featureNames.positions = try reader.string("positions")
        settings.featureNames.pooled = try reader.string("pooled")
        settings.idMapPath = try reader.string("id_map").map { resolve($0, against: folder) }
    }

    /// `[model]`: the model file and its infos pickle.
    private static func readModel(_ reader: SectionReader, folder: URL, into settings: inout PipelineSettings) throws {
        settings.modelPath = try reader.string("path").map { resolve($0, against: folder) }
        settings.infosPath = try reader.string("infos").map { resolve($0, against: folder) }
        settings.vocabPath = try reader.string("vocab").map { resolve($0, against: folder) }
        if let heads = try reader.int("heads") {
            guard heads >= 1 else { throw reader.error("heads", "expected a head count of at least 1") }
            settings.heads = heads
        }
    }

    /// `[references]`: the file, its format and split.
    private static func readReferences(_ reader: SectionReader, folder: URL, into settings: inout PipelineSettings) throws {
        settings.referencesPath = try reader.string("path").map { resolve($0, against: folder) }
        if let format = try reader.string("format") {
            guard let value = ReferenceFormat(rawValue: format) else {
                throw reader.error("format", "unknown references format \"\(format)\"; use coco or karpathy")
            }
            settings.referencesFormat = value
        }
        settings.referencesSplit = try reader.string("split")
    }

    /// `[decode]`: the search settings.
    private static func readDecode(_ reader: SectionReader, into settings: inout PipelineSettings) throws {
        if let value = try reader.int("beam_size") { settings.beamSize = value }
        if let value = try reader.int("max_length") { settings.maxLength = value }
        if let text = try reader.string(orNumber: "length_penalty") {
            guard let (rule, alpha) = PipelineSettings.lengthPenalty(from: text) else {
                throw reader.error("length_penalty", "expected a number, \"wu_A\" or \"avg_A\" (A a number), not \"\(text)\"")
            }
            (settings.lengthPenaltyRule, settings.lengthPenalty) = (rule, alpha)
        }
        if let value = try reader.bool("remove_bad_endings") { settings.removeBadEndings = value }
        if let value = try reader.bool("suppress_unk") { settings.suppressUnknown = value }
    }

    /// `[run]`: name, shard size, threads and attention storage.
    private static func readRun(_ reader: SectionReader, into settings: inout PipelineSettings) throws {
        settings.name = try reader.string("name")
        settings.series = try reader.string("series")
        if let value = try reader.int("shard_size") { settings.shardSize = value }
        if let value = try reader.int("threads") { settings.threads = value == 0 ? nil : value }
        if let text = try reader.string("attention") {
            guard let value = AttentionStorage(text: text) else {
                throw reader.error("attention", "unknown attention storage \"\(text)\"; use full, top-K (e.g. top-5) or none")
            }
            settings.attention = value
        }
    }

    /// `[output]`: the results database.
    private static func readOutput(_ reader: SectionReader, folder: URL, into settings: inout PipelineSettings) throws {
        settings.databasePath = try reader.string("database").map { resolve($0, against: folder) }
    }

    /// `value` as an absolute path, relative ones taken against `folder`.
    public static func resolve(_ value: String, against folder: URL) -> String {
        let expanded = (value as NSString).expandingTildeInPath
        if expanded.hasPrefix("/") { return URL(fileURLWithPath: expanded).standardizedFileURL.path }
        return folder.appendingPathComponent(expanded).standardizedFileURL.path
    }

    /// The 1-based line of `key` (inside `[section]` when given), or the first line when not found.
    static func line(of key: String, section: String?, in lines: [String]) -> Int {
        var inSection = section == nil
        for (index, raw) in lines.enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("[") {
                let name = line.trimmingCharacters(in: CharacterSet(charactersIn: "[] "))
                if section == nil, name == key { return index + 1 }
                inSection = section.map { name == $0 } ?? false
                continue
            }
            if inSection, line.hasPrefix(key) {
                let rest = line.dropFirst(key.count).trimmingCharacters(in: .whitespaces)
                if rest.hasPrefix("=") || rest.hasPrefix(".") { return index + 1 }
            }
        }
        return 1
    }

    struct SectionReader {
        let section: TOMLTable
        let name: String
        let path: String
        let lines: [String]

        func error(_ key: String, _ message: String) -> PipelineError {
            PipelineError(.configuration, "\(path):\(PipelineFile.line(of: key, section: name, in: lines)): [\(name)] \(key): \(message)")
        }

        func string(_ key: String) throws -> String? {
            guard let value = section[key] else { return nil }
            guard let text = value.string else { throw error(key, "expected a string in quotes") }
            return text
        }

        func int(_ key: String) throws -> Int? {
            guard let value = section[key] else { return nil }
            guard let number = value.int else { throw error(key, "expected a whole number") }
            return number
        }

        func bool(_ key: String) throws -> Bool? {
            guard let value = section[key] else { return nil }
            guard let flag = value.bool else { throw error(key, "expected true or false") }
            return flag
        }

        /// A string, or a number given as its text.
        func string(orNumber key: String) throws -> String? {
            guard let value = section[key] else { return nil }
            if let text = value.string { return text }
            if let number = value.double { return "\(number)" }
            if let number = value.int { return "\(number)" }
            throw error(key, "expected a number or a string in quotes")
        }

        func double(_ key: String) throws -> Double? {
            guard let value = section[key] else { return nil }
            if let number = value.double { return number }
            if let number = value.int { return Double(number) }
            throw error(key, "expected a number")
        }
    }
}
