import ArgumentParser
import CaptionMetrics
import Foundation
import ResultStore
import RunReport

extension Nightcap {
    /// `nightcap report RUN`: one self-contained HTML page of a run, or of two runs side by side.
    struct Report: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a self-contained HTML report of a run: summary, distributions, and images with what each word looked at.",
            discussion: """
                The page has no external resource: open it from disk, mail it, attach it to a nightly job. \
                Without --ids it shows the --worst and --best images by CIDEr; with --vs, the images whose CIDEr \
                fell (--worst) and rose (--best) most from RUN to RUN_B, and the metric deltas with paired bootstrap \
                confidence intervals. With --images DIR the boxes are drawn over the pictures, found as <id>.jpg, \
                <id>.jpeg, <id>.png, or for numeric ids COCO_val2014_<12 digits>.jpg (also train2014, test2014, \
                test2015) and <12 digits>.jpg; each is embedded scaled down to --image-size pixels on its longest \
                side and re-encoded as JPEG (quality 80), or as it is when it already fits. A picture that is not \
                a whole JPEG or PNG is left out with a note on its card. \
                With --history (and no RUN): the page of a series instead, one line chart per metric over its runs \
                (`nightcap history` lists them), the best point marked and each drop beyond its bootstrap noise flagged.
                """)

        @Argument(help: "The run (id or name); not with --history.") var runReference: String?
        @Flag(help: "Write the page of a series of runs (`nightcap history`) instead of a run's.") var history = false
        @Option(help: "With --history: the series (default: the file's only series).") var series: String?
        @Option(name: .customLong("vs"), help: "A second run to compare with (id or name): B in the deltas.")
        var versus: String?
        @Option(help: "A directory with the pictures, to draw the boxes over them.") var images: String?
        @Option(help: "The longest side of an embedded picture, in pixels (default 480).")
        var imageSize = ImageDirectory.defaultMaxSide
        @Option(help: "Show this many lowest-CIDEr images (with --vs: most worsened; default 20).") var worst = 20
        @Option(help: "Show this many highest-CIDEr images (with --vs: most improved; default 20).") var best = 20
        @Option(help: "A file of image ids, one per line: show these images instead of the worst and best.")
        var ids: String?
        @Option(name: .customLong("out"), help: "The HTML file to write.") var output: String
        @OptionGroup var bootstrapOptions: BootstrapOptions
        @OptionGroup var database: DatabaseOption

        func validate() throws {
            try validateHistory()
            guard worst >= 0, best >= 0 else { throw ValidationError("Please give --worst and --best as counts of 0 or more.") }
            guard imageSize >= 16, imageSize <= 4096 else {
                throw ValidationError("Please give --image-size as a number of pixels from 16 to 4096 (default 480).")
            }
        }

        func run() throws {
            if history { return try writeHistory() }
            guard let runReference else { return }
            let imageIDs = try ids.map(Self.readIDs)
            if let images {
                var isDirectory: ObjCBool = false
                guard FileManager.default.fileExists(atPath: images, isDirectory: &isDirectory), isDirectory.boolValue else {
                    throw CommandFailure("\(images): no such directory; pass --images the directory that holds the pictures")
                }
            }
            let results = try openResults(database)
            defer { try? results.close() }
            let run = try results.run(reference: runReference)
            let other = try versus.map { try results.run(reference: $0) }
            let options = ReportOptions(
                worst: worst, best: best, imageIDs: imageIDs, images: images.map { ImageDirectory(path: $0, maxSide: imageSize) },
                bootstrap: bootstrapOptions.pairedBootstrap)
            let html: String
            do {
                html = try RunReport.html(database: results, run: run, versus: other, options: options)
            } catch let error as ReportError {
                throw CommandFailure(ids.map { "\($0): \(error.description)" } ?? error.description)
            } catch let error as IncomparableRuns {
                throw refusal(error)
            }
            do {
                try html.write(toFile: output, atomically: true, encoding: .utf8)
            } catch {
                throw CommandFailure("\(output): cannot write the report (\(error.localizedDescription))")
            }
            print(output)
        }

        /// The first 40 characters of `text` on one line, quoted, with `...` when there is more.
        static func excerpt(_ text: String) -> String {
            let start = text.drop(while: \.isWhitespace)
            let head = String(start.prefix(40)).replacingOccurrences(of: "\n", with: " ")
            return "'\(head)\(start.count > 40 ? "..." : "")'"
        }

        /// Image ids, one per line; blank lines and lines starting with # are skipped.
        static func readIDs(_ path: String) throws -> [String] {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw CommandFailure("\(path): cannot read the ids file; pass --ids a text file with one image id per line")
            }
            let text = String(decoding: data, as: UTF8.self)
            // A JSON file (references, results) given by mistake: its first line can be megabytes,
            // so the message names the file and shows only an excerpt.
            if let first = text.first(where: { !$0.isWhitespace }), first == "{" || first == "[" {
                throw CommandFailure(
                    "\(path) looks like a JSON file (it starts with \(excerpt(text))), not a list of image ids; pass --ids a text file "
                        + "with one image id per line (`nightcap export RUN --format csv` shows the ids a run has)")
            }
            let ids = text.split(whereSeparator: \.isNewline)
                .map { $0.trimmingCharacters(in: .whitespaces) }
                .filter { !$0.isEmpty && !$0.hasPrefix("#") }
            if let long = ids.first(where: { $0.count > 200 }) {
                throw CommandFailure(
                    "\(path): a line of \(long.count) characters (\(excerpt(long))) is not an image id; pass --ids a text file with one image id per line")
            }
            guard !ids.isEmpty else {
                throw CommandFailure("\(path): no image ids in the file; write one image id per line")
            }
            return ids
        }
    }
}
