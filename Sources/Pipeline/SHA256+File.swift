import CaptionMetrics
import Foundation

extension SHA256 {
    /// The digest of a whole file, read in 1 MiB pieces.
    static func file(_ path: String) throws -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw PipelineError(.validation, "\(path): cannot read the file to fingerprint it")
        }
        defer { try? handle.close() }
        var digest = SHA256()
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty { digest.update(chunk) }
        return digest.finalize()
    }
}
