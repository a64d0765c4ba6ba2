import Foundation

/// A picture to draw the boxes over: its bytes, type and pixel size.
public struct ReportPicture: Sendable, Hashable {
    public var data: Data
    public var mimeType: String
    public var width: Int
    public var height: Int
}

/// Finds an image's picture in the `--images` directory.
///
/// For an image id, the names tried in order are `<id>.jpg`, `<id>.jpeg`, `<id>.png`, and for a
/// numeric id the COCO names `COCO_val2014_<id, 12 digits>.jpg`, `COCO_train2014_...`,
/// `COCO_test2014_...`, `COCO_test2015_...` and the COCO 2017 name `<id, 12 digits>.jpg`
/// (`COCO_val2014_000000391895.jpg` for 391895). The first that exists is used. A picture's size
/// comes from its PNG or JPEG header (boxes are drawn in its pixel coordinates).
public struct ImageDirectory: Sendable {
    public var path: String

    public init(path: String) { self.path = path }

    /// The file names tried for an image id, in order.
    public static func candidateNames(for imageID: String) -> [String] {
        var names = ["\(imageID).jpg", "\(imageID).jpeg", "\(imageID).png"]
        if !imageID.isEmpty, imageID.allSatisfy({ $0.isASCII && $0.isNumber }), imageID.count <= 12 {
            let padded = String(repeating: "0", count: 12 - imageID.count) + imageID
            names += ["val2014", "train2014", "test2014", "test2015"].map { "COCO_\($0)_\(padded).jpg" }
            names.append("\(padded).jpg")
        }
        return names
    }

    /// The picture of an image, or nil when no candidate file exists or none can be read as PNG/JPEG.
    public func picture(for imageID: String) -> ReportPicture? {
        for name in Self.candidateNames(for: imageID) {
            let file = (path as NSString).appendingPathComponent(name)
            guard FileManager.default.fileExists(atPath: file),
                let data = FileManager.default.contents(atPath: file)
            else { continue }
            if let size = Self.pngSize(data) { return ReportPicture(data: data, mimeType: "image/png", width: size.0, height: size.1) }
            if let size = Self.jpegSize(data) { return ReportPicture(data: data, mimeType: "image/jpeg", width: size.0, height: size.1) }
        }
        return nil
    }

    /// Width and height from a PNG's IHDR chunk.
    static func pngSize(_ data: Data) -> (Int, Int)? {
        let bytes = [UInt8](data.prefix(24))
        guard bytes.count == 24, bytes[0..<8] == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A],
            bytes[12..<16] == [0x49, 0x48, 0x44, 0x52]
        else { return nil }
        let width = bytes[16..<20].reduce(0) { $0 << 8 | Int($1) }, height = bytes[20..<24].reduce(0) { $0 << 8 | Int($1) }
        return width > 0 && height > 0 ? (width, height) : nil
    }

    /// Width and height from a JPEG's first start-of-frame marker.
    static func jpegSize(_ data: Data) -> (Int, Int)? {
        let bytes = [UInt8](data)
        guard bytes.count > 4, bytes[0] == 0xFF, bytes[1] == 0xD8 else { return nil }
        var i = 2
        while i + 9 < bytes.count {
            guard bytes[i] == 0xFF else { return nil }
            let marker = bytes[i + 1]
            if marker == 0xFF { i += 1; continue }
            if marker == 0xD8 || marker == 0x01 || (0xD0...0xD7).contains(marker) { i += 2; continue }
            let length = Int(bytes[i + 2]) << 8 | Int(bytes[i + 3])
            // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC) carry the frame size.
            if (0xC0...0xCF).contains(marker) && ![0xC4, 0xC8, 0xCC].contains(marker) {
                let height = Int(bytes[i + 5]) << 8 | Int(bytes[i + 6]), width = Int(bytes[i + 7]) << 8 | Int(bytes[i + 8])
                return width > 0 && height > 0 ? (width, height) : nil
            }
            guard length >= 2 else { return nil }
            i += 2 + length
        }
        return nil
    }
}
