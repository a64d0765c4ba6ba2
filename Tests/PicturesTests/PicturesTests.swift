import Foundation
import Pictures
import Testing
import TestSupport

/// A picture whose left half is red and right half blue (a smooth gradient in green top to bottom),
/// so that scaling keeps known colours at known places.
func twoHalves(width: Int, height: Int) -> Pictures.RGBImage {
    var pixels = [UInt8](repeating: 0, count: width * height * 3)
    for y in 0..<height {
        for x in 0..<width {
            let p = (y * width + x) * 3
            pixels[p] = x < width / 2 ? 220 : 20
            pixels[p + 1] = UInt8(y * 100 / height)
            pixels[p + 2] = x < width / 2 ? 20 : 220
        }
    }
    return Pictures.RGBImage(width: width, height: height, pixels: pixels)
}

func pixel(_ image: Pictures.RGBImage, _ x: Int, _ y: Int) -> [Int] {
    let p = (y * image.width + x) * 3
    return image.pixels[p..<(p + 3)].map(Int.init)
}

func near(_ a: [Int], _ b: [Int], within tolerance: Int) -> Bool {
    zip(a, b).allSatisfy { abs($0 - $1) <= tolerance }
}

@Suite struct PicturesTests {
    @Test func targetSizeKeepsTheAspectRatio() {
        #expect(Pictures.targetSize(width: 640, height: 427, maxSide: 480) == (480, 320))
        #expect(Pictures.targetSize(width: 427, height: 640, maxSide: 480) == (320, 480))
        #expect(Pictures.targetSize(width: 300, height: 200, maxSide: 480) == (300, 200))
        #expect(Pictures.targetSize(width: 4000, height: 3, maxSide: 100) == (100, 1))
    }

    /// Area averaging: an exact 2:1 box filter, and a 3:2 shrink where the middle pixel is split.
    @Test func areaAveragingIsTheMeanOfTheCoveredArea() throws {
        let row = Pictures.RGBImage(width: 3, height: 1, pixels: [0, 0, 0, 90, 90, 90, 180, 180, 180])
        let shrunk = Pictures.areaAverage(row, toWidth: 2, height: 1)
        #expect(shrunk.pixels == [30, 30, 30, 150, 150, 150])
        let square = Pictures.RGBImage(width: 2, height: 2, pixels: [0, 10, 20, 40, 50, 60, 80, 90, 100, 120, 130, 140])
        #expect(Pictures.areaAverage(square, toWidth: 1, height: 1).pixels == [60, 70, 80])
    }

    @Test func aLargeJPEGIsScaledDownAndSmaller() throws {
        let original = try Pictures.encodeJPEG(twoHalves(width: 2000, height: 1500), quality: 95)
        let small = try Pictures.scaled(original, maxSide: 480)
        #expect(small.mimeType == "image/jpeg")
        #expect([small.originalWidth, small.originalHeight] as [Int] == [2000, 1500])
        #expect([small.width, small.height] as [Int] == [480, 360])
        #expect(small.data.count * 5 < original.count)
        let decoded = try Pictures.decode(small.data)
        #expect([decoded.width, decoded.height] as [Int] == [480, 360])
        // The halves stay where they were (JPEG loses a little; 4:2:0 a little more at the edge).
        #expect(near(pixel(decoded, 100, 180), [220, 50, 20], within: 12))
        #expect(near(pixel(decoded, 380, 180), [20, 50, 220], within: 12))
        #expect(near(pixel(decoded, 100, 5), [220, 1, 20], within: 12))
    }

    @Test func aPNGWithTransparencyIsCompositedOnWhiteAndScaled() throws {
        // 1000x500 RGBA: the left half transparent, the right half opaque green.
        var pixels = [UInt8](repeating: 0, count: 1000 * 500 * 4)
        for y in 0..<500 {
            for x in 500..<1000 { pixels.replaceSubrange(((y * 1000 + x) * 4)..<((y * 1000 + x) * 4 + 4), with: [30, 160, 60, 255]) }
        }
        let png = TestPNG.encode(width: 1000, height: 500, channels: 4, pixels: pixels)
        let small = try Pictures.scaled(png, maxSide: 200)
        #expect(small.mimeType == "image/jpeg")
        #expect([small.originalWidth, small.originalHeight, small.width, small.height] as [Int] == [1000, 500, 200, 100])
        #expect(small.data.count * 20 < png.count)
        let decoded = try Pictures.decode(small.data)
        #expect(near(pixel(decoded, 40, 50), [255, 255, 255], within: 6))
        #expect(near(pixel(decoded, 160, 50), [30, 160, 60], within: 8))
    }

    @Test func aPictureThatFitsIsKeptAsItIs() throws {
        let png = TestPNG.encode(width: 40, height: 30, channels: 3, pixels: [UInt8](repeating: 77, count: 40 * 30 * 3))
        let kept = try Pictures.scaled(png, maxSide: 480)
        #expect(kept.data == png && kept.mimeType == "image/png")
        #expect([kept.width, kept.height, kept.originalWidth, kept.originalHeight] as [Int] == [40, 30, 40, 30])
        let jpeg = try Pictures.encodeJPEG(twoHalves(width: 480, height: 320), quality: 80)
        let keptJPEG = try Pictures.scaled(jpeg, maxSide: 480)
        #expect(keptJPEG.data == jpeg && keptJPEG.mimeType == "image/jpeg")
    }

    @Test func badPicturesNameWhatIsWrong() throws {
        #expect(throws: PictureError.self) { try Pictures.scaled(Data("GIF89a".utf8), maxSide: 480) }
        do {
            _ = try Pictures.scaled(Data("GIF89a".utf8), maxSide: 480)
        } catch let error as PictureError {
            #expect(error.description == "neither a JPEG nor a PNG file")
        }
        let jpeg = try Pictures.encodeJPEG(twoHalves(width: 800, height: 600), quality: 80)
        do {
            _ = try Pictures.scaled(jpeg.prefix(jpeg.count / 2), maxSide: 480)
            Issue.record("a JPEG cut in half decoded")
        } catch let error as PictureError {
            #expect(error.description.hasPrefix("the JPEG data cannot be decoded ("))
            #expect(error.description.contains("Premature end"))
        }
        let png = TestPNG.encode(width: 600, height: 600, channels: 3, pixels: [UInt8](repeating: 9, count: 600 * 600 * 3))
        do {
            _ = try Pictures.scaled(png.prefix(png.count / 2), maxSide: 480)
            Issue.record("a PNG cut in half decoded")
        } catch let error as PictureError {
            #expect(error.description.hasPrefix("the PNG data cannot be decoded ("))
        }
    }

    /// Mutated JPEG and PNG bytes (flipped bytes, cuts, inserted garbage) either decode to a
    /// picture within the bound or throw `PictureError`; never a crash.
    @Test func mutatedPicturesNeverCrash() throws {
        let jpeg = [UInt8](try Pictures.encodeJPEG(twoHalves(width: 160, height: 120), quality: 80))
        var rgba = [UInt8](repeating: 200, count: 96 * 64 * 4)
        for i in stride(from: 3, to: rgba.count, by: 8) { rgba[i] = 0 }
        let png = [UInt8](TestPNG.encode(width: 96, height: 64, channels: 4, pixels: rgba))
        var random = SeededGenerator(seed: 13)
        var decoded = 0, refused = 0
        for trial in 0..<400 {
            var bytes = trial % 2 == 0 ? jpeg : png
            switch trial % 8 {
            case 0, 1:  // cut short
                bytes = Array(bytes.prefix(Int(random.next() % UInt64(bytes.count))))
            case 2, 3:  // a few bytes changed
                for _ in 0..<(1 + Int(random.next() % 4)) {
                    bytes[Int(random.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: random.next())
                }
            case 4, 5:  // garbage inserted
                let at = Int(random.next() % UInt64(bytes.count))
                bytes.insert(contentsOf: (0..<(1 + Int(random.next() % 32))).map { _ in UInt8(truncatingIfNeeded: random.next()) }, at: at)
            default:  // a changed byte in the header, where the sizes and tables are
                bytes[Int(random.next() % UInt64(min(200, bytes.count)))] = UInt8(truncatingIfNeeded: random.next())
            }
            do {
                let small = try Pictures.scaled(Data(bytes), maxSide: 64)
                #expect(small.width > 0 && small.height > 0 && max(small.width, small.height) <= 64 || small.data == Data(bytes))
                decoded += 1
            } catch is PictureError {
                refused += 1
            }
        }
        #expect(decoded + refused == 400)
        #expect(decoded > 20 && refused > 100)
    }
}
