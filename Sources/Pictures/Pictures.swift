import CPNG
import CTurboJPEG
import Foundation

/// A picture made small for embedding: JPEG bytes (or the original bytes when the picture was
/// already small enough), with both its original and its embedded pixel size.
public struct SmallPicture: Sendable, Hashable {
    /// The bytes to embed.
    public var data: Data
    public var mimeType: String
    /// The original picture's size in pixels: the coordinate system of boxes drawn over it.
    public var originalWidth: Int
    public var originalHeight: Int
    /// The size of the embedded bytes' picture.
    public var width: Int
    public var height: Int
}

/// Why a picture's bytes could not be used.
public struct PictureError: Error, CustomStringConvertible, Sendable, Equatable {
    public var description: String
    init(_ description: String) { self.description = description }
}

/// Decoding, scaling and JPEG encoding of pictures, through libjpeg-turbo (TurboJPEG API) and libpng.
/// The C types stay in this file; callers see bytes, sizes and `PictureError`.
public enum Pictures {
    /// Pictures larger than this are refused rather than decoded (a mutated header can claim any size).
    public static let maximumPixels = 64_000_000

    /// The picture in `data` (JPEG or PNG) with its longest side at most `maxSide` pixels: the
    /// original bytes when it already fits, else decoded (JPEG: in the DCT domain at 1/2, 1/4 or 1/8
    /// when that stays at least as large as the target), shrunk by area averaging to the target
    /// and encoded as JPEG at `quality`. PNG transparency is composited on white. Throws
    /// `PictureError` for anything that is not a whole, decodable JPEG or PNG.
    public static func scaled(_ data: Data, maxSide: Int, quality: Int = 80) throws -> SmallPicture {
        precondition(maxSide > 0 && (1...100).contains(quality))
        let isPNG = data.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        let isJPEG = data.starts(with: [0xFF, 0xD8])
        guard isPNG || isJPEG else { throw PictureError("neither a JPEG nor a PNG file") }
        let (width, height) = isPNG ? try pngSize(data) : try jpegSize(data)
        guard width.multipliedReportingOverflow(by: height).partialValue <= maximumPixels,
            width <= maximumPixels, height <= maximumPixels
        else { throw PictureError("\(width)×\(height) pixels is larger than the \(maximumPixels / 1_000_000) megapixels accepted") }
        let (targetWidth, targetHeight) = targetSize(width: width, height: height, maxSide: maxSide)
        let decoded = isPNG ? try decodePNG(data) : try decodeJPEG(data, atLeast: (targetWidth, targetHeight))
        if targetWidth == width && targetHeight == height {
            // Already small enough: the bytes decode, keep them as they are (no second JPEG loss).
            return SmallPicture(
                data: data, mimeType: isPNG ? "image/png" : "image/jpeg", originalWidth: width, originalHeight: height,
                width: width, height: height)
        }
        let small = areaAverage(decoded, toWidth: targetWidth, height: targetHeight)
        return SmallPicture(
            data: try encodeJPEG(small, quality: quality), mimeType: "image/jpeg", originalWidth: width,
            originalHeight: height, width: targetWidth, height: targetHeight)
    }

    /// The size with the longest side at most `maxSide`, keeping the aspect ratio (each side at least 1).
    public static func targetSize(width: Int, height: Int, maxSide: Int) -> (width: Int, height: Int) {
        let longest = max(width, height)
        guard longest > maxSide else { return (width, height) }
        let scale = Double(maxSide) / Double(longest)
        return (max(1, min(maxSide, Int((Double(width) * scale).rounded()))), max(1, min(maxSide, Int((Double(height) * scale).rounded()))))
    }

    /// Interleaved 8-bit RGB pixels.
    public struct RGBImage: Sendable, Equatable {
        public var width: Int
        public var height: Int
        public var pixels: [UInt8]

        public init(width: Int, height: Int, pixels: [UInt8]) {
            precondition(pixels.count == width * height * 3)
            self.width = width
            self.height = height
            self.pixels = pixels
        }
    }

    /// Decodes a PNG or JPEG to RGB at full size (PNG alpha composited on white).
    public static func decode(_ data: Data) throws -> RGBImage {
        if data.starts(with: [0x89, 0x50, 0x4E, 0x47]) {
            let (width, height) = try pngSize(data)
            guard width * height <= maximumPixels else { throw PictureError("\(width)×\(height) pixels is too large") }
            return try decodePNG(data)
        }
        let (width, height) = try jpegSize(data)
        guard width * height <= maximumPixels else { throw PictureError("\(width)×\(height) pixels is too large") }
        return try decodeJPEG(data, atLeast: (width, height))
    }

    // MARK: - JPEG (TurboJPEG)

    static func jpegSize(_ data: Data) throws -> (Int, Int) {
        guard let handle = tjInitDecompress() else { throw PictureError("cannot start the JPEG decoder") }
        defer { tjDestroy(handle) }
        var width: Int32 = 0, height: Int32 = 0, subsampling: Int32 = 0, colorspace: Int32 = 0
        let status = data.withUnsafeBytes { buffer in
            tjDecompressHeader3(
                handle, buffer.bindMemory(to: UInt8.self).baseAddress, UInt(buffer.count), &width, &height, &subsampling,
                &colorspace)
        }
        guard status == 0, width > 0, height > 0 else { throw PictureError("not a readable JPEG (\(message(handle)))") }
        return (Int(width), Int(height))
    }

    /// Decodes at the smallest DCT scaling factor (1/8 up to 1) that keeps both sides at least `atLeast`.
    static func decodeJPEG(_ data: Data, atLeast target: (Int, Int)) throws -> RGBImage {
        guard let handle = tjInitDecompress() else { throw PictureError("cannot start the JPEG decoder") }
        defer { tjDestroy(handle) }
        let (width, height) = try jpegSize(data)
        var count: Int32 = 0
        var chosen = (width, height)
        if let factors = tjGetScalingFactors(&count) {
            for factor in UnsafeBufferPointer(start: factors, count: Int(count)) where factor.num <= factor.denom {
                let num = Int(factor.num), denom = Int(factor.denom)
                let scaled = ((width * num + denom - 1) / denom, (height * num + denom - 1) / denom)
                if scaled.0 >= target.0, scaled.1 >= target.1, scaled.0 * scaled.1 < chosen.0 * chosen.1 { chosen = scaled }
            }
        }
        var pixels = [UInt8](repeating: 0, count: chosen.0 * chosen.1 * 3)
        let status = data.withUnsafeBytes { buffer in
            pixels.withUnsafeMutableBufferPointer { output in
                tjDecompress2(
                    handle, buffer.bindMemory(to: UInt8.self).baseAddress, UInt(buffer.count), output.baseAddress,
                    Int32(chosen.0), 0, Int32(chosen.1), Int32(TJPF_RGB.rawValue), 0)
            }
        }
        if status != 0 {
            let text = message(handle)
            // Warnings leave a whole picture (libjpeg repairs small damage), except a file cut short,
            // whose missing part would be drawn grey.
            if tjGetErrorCode(handle) != Int32(TJERR_WARNING.rawValue) || text.contains("Premature end") {
                throw PictureError("the JPEG data cannot be decoded (\(text))")
            }
        }
        return RGBImage(width: chosen.0, height: chosen.1, pixels: pixels)
    }

    /// JPEG bytes of `image` at `quality` (4:2:0 chroma subsampling).
    public static func encodeJPEG(_ image: RGBImage, quality: Int) throws -> Data {
        guard let handle = tjInitCompress() else { throw PictureError("cannot start the JPEG encoder") }
        defer { tjDestroy(handle) }
        var output: UnsafeMutablePointer<UInt8>? = nil
        var size: UInt = 0
        let status = image.pixels.withUnsafeBufferPointer { input in
            tjCompress2(
                handle, input.baseAddress, Int32(image.width), 0, Int32(image.height), Int32(TJPF_RGB.rawValue), &output,
                &size, Int32(TJSAMP_420.rawValue), Int32(quality), 0)
        }
        defer { tjFree(output) }
        guard status == 0, let output else { throw PictureError("cannot encode the JPEG (\(message(handle)))") }
        return Data(bytes: output, count: Int(size))
    }

    static func message(_ handle: tjhandle) -> String {
        tjGetErrorStr2(handle).map { String(cString: $0) } ?? "unknown error"
    }

    // MARK: - PNG (libpng simplified API)

    static func pngSize(_ data: Data) throws -> (Int, Int) {
        var image = png_image()
        image.version = png_uint_32(PNG_IMAGE_VERSION)
        defer { png_image_free(&image) }
        let ok = data.withUnsafeBytes { png_image_begin_read_from_memory(&image, $0.baseAddress, $0.count) }
        guard ok != 0 else { throw PictureError("not a readable PNG (\(message(image)))") }
        return (Int(image.width), Int(image.height))
    }

    static func decodePNG(_ data: Data) throws -> RGBImage {
        var image = png_image()
        image.version = png_uint_32(PNG_IMAGE_VERSION)
        defer { png_image_free(&image) }
        guard data.withUnsafeBytes({ png_image_begin_read_from_memory(&image, $0.baseAddress, $0.count) }) != 0 else {
            throw PictureError("not a readable PNG (\(message(image)))")
        }
        image.format = png_uint_32(PNG_FORMAT_RGB)
        let width = Int(image.width), height = Int(image.height)
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        var white = png_color(red: 255, green: 255, blue: 255)
        let ok = pixels.withUnsafeMutableBytes { png_image_finish_read(&image, &white, $0.baseAddress, Int32(width * 3), nil) }
        guard ok != 0 else { throw PictureError("the PNG data cannot be decoded (\(message(image)))") }
        return RGBImage(width: width, height: height, pixels: pixels)
    }

    static func message(_ image: png_image) -> String {
        var text = image.message
        return withUnsafeBytes(of: &text) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
    }

    // MARK: - Area averaging

    /// Shrinks `image` to `toWidth`×`height`: each output pixel is the mean of the source area it
    /// covers (partly covered source pixels weigh by their covered fraction). Separable: rows, then columns.
    public static func areaAverage(_ image: RGBImage, toWidth width: Int, height: Int) -> RGBImage {
        if image.width == width && image.height == height { return image }
        let columns = weights(from: image.width, to: width), rows = weights(from: image.height, to: height)
        // Horizontal pass: height of the source, width of the target.
        var horizontal = [Float](repeating: 0, count: image.height * width * 3)
        image.pixels.withUnsafeBufferPointer { source in
            horizontal.withUnsafeMutableBufferPointer { target in
                for y in 0..<image.height {
                    let sourceRow = y * image.width * 3, targetRow = y * width * 3
                    for x in 0..<width {
                        var r: Float = 0, g: Float = 0, b: Float = 0
                        for (index, weight) in columns[x] {
                            let p = sourceRow + index * 3
                            r += weight * Float(source[p]); g += weight * Float(source[p + 1]); b += weight * Float(source[p + 2])
                        }
                        target[targetRow + x * 3] = r; target[targetRow + x * 3 + 1] = g; target[targetRow + x * 3 + 2] = b
                    }
                }
            }
        }
        // Vertical pass.
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        let rowLength = width * 3
        var sums = [Float](repeating: 0, count: rowLength)
        horizontal.withUnsafeBufferPointer { source in
            pixels.withUnsafeMutableBufferPointer { target in
                sums.withUnsafeMutableBufferPointer { sums in
                    for y in 0..<height {
                        for i in 0..<rowLength { sums[i] = 0 }
                        for (index, weight) in rows[y] {
                            let start = index * rowLength
                            for i in 0..<rowLength { sums[i] += weight * source[start + i] }
                        }
                        for i in 0..<rowLength { target[y * rowLength + i] = UInt8(max(0, min(255, sums[i].rounded()))) }
                    }
                }
            }
        }
        return RGBImage(width: width, height: height, pixels: pixels)
    }

    /// For each of `to` output cells, the source cells it covers with their weights (summing to 1).
    static func weights(from: Int, to: Int) -> [[(Int, Float)]] {
        let step = Double(from) / Double(to)
        return (0..<to).map { index in
            let start = Double(index) * step, end = Double(index + 1) * step
            var cells: [(Int, Float)] = []
            var cell = Int(start.rounded(.down))
            while Double(cell) < end && cell < from {
                let covered = min(end, Double(cell + 1)) - max(start, Double(cell))
                if covered > 1e-9 { cells.append((cell, Float(covered / step))) }
                cell += 1
            }
            return cells
        }
    }
}
