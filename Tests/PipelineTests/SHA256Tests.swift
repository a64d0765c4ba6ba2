import CaptionMetrics
import Foundation
@testable import Pipeline
import TestSupport
import Testing

/// `SHA256`, the digest of the run fingerprint's inputs: FIPS 180-4's vectors, and the CPU's SHA
/// extensions (CKernels' `nightcap_sha256_blocks`) against the Swift loop.
@Suite struct SHA256Tests {
    /// With the CPU's SHA extensions (where it has them) and with the Swift loop.
    @Test(arguments: SHA256.hardware ? [false, true] : [false])
    func knownVectors(hardware: Bool) throws {
        func fresh() -> SHA256 {
            var digest = SHA256()
            digest.useHardware = hardware
            return digest
        }
        var empty = fresh()
        #expect(empty.finalize() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        var abc = fresh()
        abc.update("abc")
        #expect(abc.finalize() == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        var long = fresh()
        long.update(Data(String(repeating: "a", count: 1_000_000).utf8))
        #expect(long.finalize() == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
        var pieces = fresh()
        pieces.update("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")
        #expect(pieces.finalize() == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }

    /// The CPU's SHA extensions and the Swift loop give the same digests for every length around
    /// block boundaries and for data fed in uneven pieces.
    @Test(.enabled(if: SHA256.hardware, "this CPU has no SHA extensions"))
    func hardwareEqualsTheLoop() throws {
        var random = SeededGenerator(seed: 5)
        let bytes = (0..<20_000).map { _ in UInt8.random(in: 0...255, using: &random) }
        for length in Array(0...200) + [511, 512, 513, 4095, 4096, 4097, 19_999, 20_000] {
            var software = SHA256(), hardware = SHA256()
            software.useHardware = false
            hardware.useHardware = true
            var offset = 0, piece = 1
            while offset < length {
                let end = min(length, offset + piece)
                software.update(Data(bytes[offset..<end]))
                hardware.update(Data(bytes[offset..<end]))
                offset = end
                piece = piece * 3 + 1
            }
            #expect(software.finalize() == hardware.finalize(), "length \(length)")
        }
    }
}
