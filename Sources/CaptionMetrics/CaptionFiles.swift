import Foundation

/// Reference captions per image, in the order the file lists the images.
public struct CaptionReferences: Sendable {
    /// Image ids in file order (the `images` list, else first appearance), each with at least one caption.
    public var imageIDs: [ImageID]
    public var captions: [ImageID: [String]]
    /// Where the references came from, for messages.
    public var source: String

    public init(imageIDs: [ImageID], captions: [ImageID: [String]], source: String) {
        self.imageIDs = imageIDs
        self.captions = captions
        self.source = source
    }
}

/// One generated caption per image, in file order.
public struct CaptionResults: Sendable {
    public var imageIDs: [ImageID]
    public var captions: [ImageID: String]
    public var source: String

    public init(imageIDs: [ImageID], captions: [ImageID: String], source: String) {
        self.imageIDs = imageIDs
        self.captions = captions
        self.source = source
    }
}

/// The layouts a references file can have.
public enum ReferenceFormat: String, Sendable, CaseIterable {
    /// COCO caption annotations: `{"images": [...], "annotations": [{"image_id", "caption"}]}`.
    case coco
    /// Karpathy's split file: `{"images": [{"cocoid"|"imgid"|"filename", "split", "sentences": [{"raw"}]}]}`.
    case karpathy
}

/// Readers for COCO annotation, Karpathy split and COCO results files.
public enum CaptionFileReader {
    /// Reads a references file; `format` nil detects it from the top-level keys.
    public static func references(at path: String, format: ReferenceFormat? = nil, split: String? = nil) throws
        -> CaptionReferences
    {
        try references(json: try read(path), source: path, format: format, split: split)
    }

    /// Reads a COCO results file (`[{"image_id", "caption"}]`).
    public static func results(at path: String) throws -> CaptionResults {
        try results(json: try read(path), source: path)
    }

    static func read(_ path: String) throws -> Data {
        do {
            return try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw CaptionMetricsError(
                .unreadableFile,
                "\(path): cannot read the file (\(error.localizedDescription)). Check the path and its permissions.")
        }
    }

    static func parse(_ data: Data, source: String) throws -> JSONValue {
        do {
            return try JSONReader.parse(data)
        } catch {
            throw CaptionMetricsError(
                .malformedJSON, "\(source): not valid JSON: \(error.message). Fix the file or regenerate it.")
        }
    }

    public static func references(json data: Data, source: String, format: ReferenceFormat? = nil, split: String? = nil)
        throws -> CaptionReferences
    {
        let root = try parse(data, source: source)
        guard case .object = root else {
            throw CaptionMetricsError(
                .unexpectedStructure,
                "\(source): expected a JSON object with \"annotations\" (COCO) or \"images\" with \"sentences\" (Karpathy) at the top level, found \(root.typeName). Is this a results file passed as --references?"
            )
        }
        let detected: ReferenceFormat
        if let format {
            detected = format
        } else if root["annotations"] != nil {
            detected = .coco
        } else if case .array(let images)? = root["images"], images.first?["sentences"] != nil {
            detected = .karpathy
        } else {
            throw CaptionMetricsError(
                .unknownFormat,
                "\(source): cannot tell the references format: no \"annotations\" (COCO) and no \"images[].sentences\" (Karpathy). Pass --references-format coco or karpathy."
            )
        }
        switch detected {
        case .coco:
            if let split {
                throw CaptionMetricsError(
                    .emptySplit,
                    "\(source): COCO caption annotations have no splits; drop --split \(split), or pass a Karpathy split file.")
            }
            return try cocoReferences(root, source: source)
        case .karpathy: return try karpathyReferences(root, source: source, split: split)
        }
    }

    static func cocoReferences(_ object: JSONValue, source: String) throws -> CaptionReferences {
        guard case .array(let annotations)? = object["annotations"] else {
            throw CaptionMetricsError(
                .unexpectedStructure, "\(source): \"annotations\" must be an array of {\"image_id\", \"caption\"}.")
        }
        var captions: [ImageID: [String]] = [:]
        var firstSeen: [ImageID] = []
        for (index, element) in annotations.enumerated() {
            let path = "annotations[\(index)]"
            guard case .object = element else {
                throw CaptionMetricsError(.unexpectedStructure, "\(source): \(path) must be an object, found \(element.typeName).")
            }
            let id = try imageID(element["image_id"], source: source, path: path + ".image_id")
            let caption = try string(element["caption"], source: source, path: path + ".caption")
            if captions[id] == nil { firstSeen.append(id) }
            captions[id, default: []].append(caption)
        }
        // pycocoevalcap orders images as the "images" list does; fall back to first appearance.
        var order: [ImageID] = []
        if case .array(let images)? = object["images"] {
            var listed = Set<ImageID>()
            for (index, image) in images.enumerated() {
                guard let raw = image["id"] else { continue }
                let id = try imageID(raw, source: source, path: "images[\(index)].id")
                if captions[id] != nil, listed.insert(id).inserted { order.append(id) }
            }
            for id in firstSeen where !listed.contains(id) { order.append(id) }
        } else {
            order = firstSeen
        }
        return CaptionReferences(imageIDs: order, captions: captions, source: source)
    }

    static func karpathyReferences(_ object: JSONValue, source: String, split: String?) throws -> CaptionReferences {
        guard case .array(let images)? = object["images"] else {
            throw CaptionMetricsError(.unexpectedStructure, "\(source): \"images\" must be an array (Karpathy split file).")
        }
        var captions: [ImageID: [String]] = [:]
        var order: [ImageID] = []
        var splits = Set<String>()
        for (index, image) in images.enumerated() {
            let path = "images[\(index)]"
            guard case .object = image else {
                throw CaptionMetricsError(.unexpectedStructure, "\(source): \(path) must be an object, found \(image.typeName).")
            }
            var imageSplit: String? = nil
            if case .string(let value)? = image["split"] { imageSplit = value }
            if let imageSplit { splits.insert(imageSplit) }
            if let split, imageSplit != split { continue }
            let id: ImageID
            if let raw = image["cocoid"] {
                id = try imageID(raw, source: source, path: path + ".cocoid")
            } else if let raw = image["imgid"] {
                id = try imageID(raw, source: source, path: path + ".imgid")
            } else if let raw = image["filename"] {
                id = try imageID(raw, source: source, path: path + ".filename")
            } else {
                throw CaptionMetricsError(
                    .unexpectedStructure, "\(source): \(path) has no \"cocoid\", \"imgid\" or \"filename\" to identify the image.")
            }
            guard case .array(let sentences)? = image["sentences"] else {
                throw CaptionMetricsError(.unexpectedStructure, "\(source): \(path).sentences must be an array.")
            }
            for (s, sentence) in sentences.enumerated() {
                let raw = try string(sentence["raw"], source: source, path: "\(path).sentences[\(s)].raw")
                if captions[id] == nil { order.append(id) }
                captions[id, default: []].append(raw)
            }
        }
        if let split, order.isEmpty {
            throw CaptionMetricsError(
                .emptySplit,
                "\(source): no images with split \"\(split)\"; the file has \(splits.sorted().map { "\"\($0)\"" }.joined(separator: ", ")).")
        }
        return CaptionReferences(imageIDs: order, captions: captions, source: source)
    }

    public static func results(json data: Data, source: String) throws -> CaptionResults {
        let root = try parse(data, source: source)
        guard case .array(let entries) = root else {
            throw CaptionMetricsError(
                .unexpectedStructure,
                "\(source): a results file is a JSON array of {\"image_id\", \"caption\"}, found \(root.typeName). Is this a references file passed as --results?"
            )
        }
        var captions: [ImageID: String] = [:]
        var firstIndex: [ImageID: Int] = [:]
        var order: [ImageID] = []
        for (index, element) in entries.enumerated() {
            let path = "[\(index)]"
            guard case .object = element else {
                throw CaptionMetricsError(.unexpectedStructure, "\(source): \(path) must be an object, found \(element.typeName).")
            }
            let id = try imageID(element["image_id"], source: source, path: path + ".image_id")
            let caption = try string(element["caption"], source: source, path: path + ".caption")
            if let first = firstIndex[id] {
                throw CaptionMetricsError(
                    .duplicateResult,
                    "\(source): image \(id) has more than one caption (entries [\(first)] and [\(index)]); pycocoevalcap scores exactly one caption per image. Keep one entry per image_id."
                )
            }
            firstIndex[id] = index
            captions[id] = caption
            order.append(id)
        }
        return CaptionResults(imageIDs: order, captions: captions, source: source)
    }

    static func imageID(_ value: JSONValue?, source: String, path: String) throws -> ImageID {
        switch value {
        case .string(let text)?:
            return ImageID(text)
        case .number(let text, true)?:
            if let integer = Int(text) { return ImageID(integer) }
            throw CaptionMetricsError(.unexpectedStructure, "\(source): \(path) is \(text), too large for an image id.")
        case .number(let text, false)?:
            throw CaptionMetricsError(
                .unexpectedStructure, "\(source): \(path) is \(text), but an image id must be an integer or a string.")
        case nil:
            throw CaptionMetricsError(
                .unexpectedStructure, "\(source): \(path) is missing; an image id must be an integer or a string.")
        case let other?:
            throw CaptionMetricsError(
                .unexpectedStructure, "\(source): \(path) is \(other.typeName); an image id must be an integer or a string.")
        }
    }

    static func string(_ value: JSONValue?, source: String, path: String) throws -> String {
        if case .string(let text)? = value { return text }
        throw CaptionMetricsError(
            .unexpectedStructure,
            "\(source): \(path) is \(value?.typeName ?? "missing"); a caption must be a string.")
    }
}
