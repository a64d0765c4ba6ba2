import CDeflate
import Foundation
import PythonFiles

/// Reads text entries from meteor-1.5.jar: a zip archive (PythonFiles' `ZipArchive` finds the
/// entries) whose entries are deflated (inflated here with libdeflate).
enum MeteorJar {
    /// The named entries, inflated. A missing entry is left out (the caller names it); a damaged
    /// archive or entry throws.
    static func read(_ path: String, entries names: [String]) throws(MeteorDataProblem) -> [String: Data] {
        guard let data = try? Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) else {
            throw .unreadable(path, "no such file or not readable")
        }
        let archive: ZipArchive
        do {
            archive = try ZipArchive(data: data, path: path)
        } catch {
            throw .damaged(path, "\(error)")
        }
        var out: [String: Data] = [:]
        for name in names {
            guard let entry = archive.entry(name) else { continue }
            let raw = archive.contents(of: entry)
            out[name] = entry.isCompressed ? try inflate(raw, entry: name, jar: path) : raw
        }
        return out
    }

    /// Inflates a raw deflate stream whose size the caller does not know: grows the buffer until
    /// libdeflate reports the stream's end.
    static func inflate(_ raw: Data, entry: String, jar: String) throws(MeteorDataProblem) -> Data {
        guard let decompressor = libdeflate_alloc_decompressor() else { throw .damaged(jar, "out of memory inflating \(entry)") }
        defer { libdeflate_free_decompressor(decompressor) }
        var capacity = max(4096, raw.count * 4)
        while true {
            var out = Data(count: capacity)
            var produced = 0
            let result = raw.withUnsafeBytes { input in
                out.withUnsafeMutableBytes { output in
                    libdeflate_deflate_decompress(decompressor, input.baseAddress, input.count, output.baseAddress, capacity, &produced)
                }
            }
            switch result {
            case LIBDEFLATE_SUCCESS:
                out.count = produced
                return out
            case LIBDEFLATE_INSUFFICIENT_SPACE where capacity < 1 << 30:
                capacity *= 4
            default:
                throw .malformed(entry, "its compressed data is damaged (libdeflate result \(result.rawValue))")
            }
        }
    }
}
