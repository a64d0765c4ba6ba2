import Foundation
import Pictures

/// A picture to draw the boxes over: the bytes to embed (scaled down), their type, the original
/// picture's pixel size (the boxes' coordinates) and the embedded picture's size.
public struct ReportPicture: Sendable, Hashable {
    public var data: Data
    public var mimeType: String
    /// The original picture's size: the frame the boxes are drawn in when the references file gives none.
    public var width: Int
    public var height: Int
    /// The size of the embedded (scaled-down) picture.
    public var embeddedWidth: Int
    public var embeddedHeight: Int
}

/// What the `--images` directory holds for an image.
public enum PictureLookup: Sendable, Hashable {
    /// No candidate file exists.
    case missing
    case found(ReportPicture)
    /// A candidate file exists but is not a whole JPEG or PNG: the page says so and draws the plain frame.
    case unreadable(file: String, reason: String)

    public var picture: ReportPicture? {
        if case .found(let picture) = self { return picture }
        return nil
    }
}

/// Finds an image's picture in the `--images` directory.
///
/// For an image id, the names tried in order are `<id>.jpg`, `<id>.jpeg`, `<id>.png`, and for a
/// numeric id the COCO names `COCO_val2014_<id, 12 digits>.jpg`, `COCO_train2014_...`,
/// `COCO_test2014_...`, `COCO_test2015_...` and the COCO 2017 name `<id, 12 digits>.jpg`
/// (`COCO_val2014_000000391895.jpg` for 391895). The first that exists is used. A picture's size
/// comes from its PNG or JPEG header (boxes are drawn in its pixel coordinates). The embedded copy
/// is scaled down to `maxSide` pixels on its longest side and re-encoded as JPEG (quality 80); a
/// picture that already fits is embedded as it is.
public struct ImageDirectory: Sendable {
    public var path: String
    /// The longest side of an embedded picture, in pixels.
    public var maxSide: Int

    public static let defaultMaxSide = 480

    public init(path: String, maxSide: Int = ImageDirectory.defaultMaxSide) {
        precondition(maxSide > 0)
        self.path = path
        self.maxSide = maxSide
    }

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

    /// The picture of an image: the first candidate file that exists, decoded and scaled down.
    public func picture(for imageID: String) -> PictureLookup {
        for name in Self.candidateNames(for: imageID) {
            let file = (path as NSString).appendingPathComponent(name)
            guard FileManager.default.fileExists(atPath: file) else { continue }
            guard let data = FileManager.default.contents(atPath: file) else {
                return .unreadable(file: name, reason: "the file cannot be read")
            }
            do {
                let small = try Pictures.scaled(data, maxSide: maxSide, quality: 80)
                return .found(
                    ReportPicture(
                        data: small.data, mimeType: small.mimeType, width: small.originalWidth, height: small.originalHeight,
                        embeddedWidth: small.width, embeddedHeight: small.height))
            } catch let error as PictureError {
                return .unreadable(file: name, reason: error.description)
            } catch {
                return .unreadable(file: name, reason: "\(error)")
            }
        }
        return .missing
    }
}
