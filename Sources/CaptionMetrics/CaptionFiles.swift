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

    static func parse(_ data: Data, source: String) throws -> Any {
        do {
            return try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
        } catch {
            let detail = (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String ?? "\(error)"
            throw CaptionMetricsError(
                .malformedJSON, "\(source): not valid JSON: \(detail). Fix the file or regenerate it.")
        }
    }

    public static func references(json data: Data, source: String, format: ReferenceFormat? = nil, split: String? = nil)
        throws -> CaptionReferences
    {
        let root = try parse(data, source: source)
        guard let object = root as? [String: Any] else {
            throw CaptionMetricsError(
                .unexpectedStructure,
                "\(source): expected a JSON object with \"annotations\" (COCO) or \"images\" with \"sentences\" (Karpathy) at the top level, found \(typeName(root)). Is this a results file passed as --references?"
            )
        }
        let detected: ReferenceFormat
        if let format {
            detected = format
        } else if object["annotations"] != nil {
            detected = .coco
        } else if let images = object["images"] as? [Any], images.first.map({ ($0 as? [String: Any])?["sentences"] != nil }) ?? false {
            detected = .karpathy
        } else {
            throw CaptionMetricsError(
                .unknownFormat,
                "\(source): cannot tell the references format: no \"annotations\" (COCO) and no \"images[].sentences\" (Karpathy). Pass --references-format coco or karpathy."
            )
        }
        switch detected {
        case .coco: return try cocoReferences(object, source: source)
        case .karpathy: return try karpathyReferences(object, source: source, split: split)
        }
    }

    static func cocoReferences(_ object: [String: Any], source: String) throws -> CaptionReferences {
        guard let annotations = object["annotations"] as? [Any] else {
            throw CaptionMetricsError(
                .unexpectedStructure, "\(source): \"annotations\" must be an array of {\"image_id\", \"caption\"}.")
        }
        var captions: [ImageID: [String]] = [:]
        var firstSeen: [ImageID] = []
        for (index, element) in annotations.enumerated() {
            let path = "annotations[\(index)]"
            guard let annotation = element as? [String: Any] else {
                throw CaptionMetricsError(.unexpectedStructure, "\(source): \(path) must be an object, found \(typeName(element)).")
            }
            let id = try imageID(annotation["image_id"], source: source, path: path + ".image_id")
            let caption = try string(annotation["caption"], source: source, path: path + ".caption")
            if captions[id] == nil { firstSeen.append(id) }
            captions[id, default: []].append(caption)
        }
        // pycocoevalcap orders images as the "images" list does; fall back to first appearance.
        var order: [ImageID] = []
        if let images = object["images"] as? [Any] {
            var listed = Set<ImageID>()
            for (index, element) in images.enumerated() {
                guard let image = element as? [String: Any], let raw = image["id"] else { continue }
                let id = try imageID(raw, source: source, path: "images[\(index)].id")
                if captions[id] != nil, listed.insert(id).inserted { order.append(id) }
            }
            for id in firstSeen where !listed.contains(id) { order.append(id) }
        } else {
            order = firstSeen
        }
        return CaptionReferences(imageIDs: order, captions: captions, source: source)
    }

    static func karpathyReferences(_ object: [String: Any], source: String, split: String?) throws -> CaptionReferences {
        guard let images = object["images"] as? [Any] else {
            throw CaptionMetricsError(.unexpectedStructure, "\(source): \"images\" must be an array (Karpathy split file).")
        }
        var captions: [ImageID: [String]] = [:]
        var order: [ImageID] = []
        var splits = Set<String>()
        for (index, element) in images.enumerated() {
            let path = "images[\(index)]"
            guard let image = element as? [String: Any] else {
                throw CaptionMetricsError(.unexpectedStructure, "\(source): \(path) must be an object, found \(typeName(element)).")
            }
            let imageSplit = image["split"] as? String
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
            guard let sentences = image["sentences"] as? [Any] else {
                throw CaptionMetricsError(.unexpectedStructure, "\(source): \(path).sentences must be an array.")
            }
            for (s, sentence) in sentences.enumerated() {
                let raw = try string((sentence as? [String: Any])?["raw"], source: source, path: "\(path).sentences[\(s)].raw")
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
        guard let entries = root as? [Any] else {
            throw CaptionMetricsError(
                .unexpectedStructure,
                "\(source): a results file is a JSON array of {\"image_id\", \"caption\"}, found \(typeName(root)). Is this a references file passed as --results?"
            )
        }
        var captions: [ImageID: String] = [:]
        var firstIndex: [ImageID: Int] = [:]
        var order: [ImageID] = []
        for (index, element) in entries.enumerated() {
            let path = "[\(index)]"
            guard let entry = element as? [String: Any] else {
                throw CaptionMetricsError(.unexpectedStructure, "\(source): \(path) must be an object, found \(typeName(element)).")
            }
            let id = try imageID(entry["image_id"], source: source, path: path + ".image_id")
            let caption = try string(entry["caption"], source: source, path: path + ".caption")
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

    static func imageID(_ value: Any?, source: String, path: String) throws -> ImageID {
        if let text = value as? String { return ImageID(text) }
        if let number = value as? NSNumber, !(value is String) {
            let double = number.doubleValue
            if double.rounded() == double, abs(double) < 9e15 { return ImageID(Int(double)) }
            throw CaptionMetricsError(
                .unexpectedStructure, "\(source): \(path) is \(number), but an image id must be an integer or a string.")
        }
        throw CaptionMetricsError(
            .unexpectedStructure,
            "\(source): \(path) is \(value == nil ? "missing" : typeName(value!)); an image id must be an integer or a string.")
    }

    static func string(_ value: Any?, source: String, path: String) throws -> String {
        if let text = value as? String { return text }
        throw CaptionMetricsError(
            .unexpectedStructure,
            "\(source): \(path) is \(value == nil ? "missing" : typeName(value!)); a caption must be a string.")
    }

    static func typeName(_ value: Any) -> String {
        switch value {
        case is String: return "a string"
        case is NSNumber: return "a number"
        case is [Any]: return "an array"
        case is [String: Any]: return "an object"
        case is NSNull: return "null"
        default: return "\(type(of: value))"
        }
    }
}
