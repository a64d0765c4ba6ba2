import Foundation
import RegionFeatures
import TestSupport
import Testing

/// Ids from an `*_imgid2idx.pkl` id map name the rows of packed and ragged files without ids.
@Suite struct ExternalImageIDTests {
    let folder = TemporaryDirectory()
    let set = SyntheticImageSet(regionCounts: [3, 1, 5, 2], dimension: 4)
    let ids = ExternalImageIDs(ids: ["391895", "522418", "184613", "318219"], source: "/data/val36_imgid2idx.pkl")

    func message(_ body: () throws -> Void) -> String? {
        do {
            try body()
            return nil
        } catch {
            return "\(error)"
        }
    }

    @Test func packedRowsTakeTheMapsIDs() throws {
        let path = folder.path("packed.h5")
        try set.writePacked(to: path, ids: .none)
        let file = try RegionFeatureFile(path: path, externalIDs: ids)
        #expect(file.imageIDs == ids.ids)
        #expect(try file.read(1..<3).imageIDs == ["522418", "184613"])
        #expect(try file.read(1..<3).regionCounts == [1, 5])
    }

    @Test func raggedRowsTakeTheMapsIDs() throws {
        let path = folder.path("ragged.h5")
        try set.writeRagged(to: path, ids: .none)
        let file = try RegionFeatureFile(path: path, externalIDs: ids)
        #expect(try file.read(0..<4).imageIDs == ids.ids)
    }

    @Test func aMapOfAnotherSizeIsRefused() throws {
        let path = folder.path("packed3.h5")
        try SyntheticImageSet(regionCounts: [2, 2, 2], dimension: 4).writePacked(to: path, ids: .none)
        #expect(message { _ = try RegionFeatureFile(path: path, externalIDs: ids) }
            == "\(path): holds 3 images but the id map /data/val36_imgid2idx.pkl has 4 rows; use the id map written with this features file (same split)")
    }

    @Test func aFileWithItsOwnIDsIsRefused() throws {
        let path = folder.path("withids.h5")
        try set.writePacked(to: path, ids: .integers)
        let text = try #require(message { _ = try RegionFeatureFile(path: path, externalIDs: ids) })
        #expect(text.contains("the file has its own image ids and an id map /data/val36_imgid2idx.pkl is given too"))
    }

    @Test func aPerImageFileIsRefused() throws {
        let path = folder.path("perimage.h5")
        try set.writePerImage(to: path)
        let text = try #require(message { _ = try RegionFeatureFile(path: path, externalIDs: ids) })
        #expect(text.contains("a per-image file names its images by its datasets"))
    }
}
