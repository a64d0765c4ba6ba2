import CaptionMetrics
import Foundation
import ResultStore

/// What goes into a report besides the run itself.
public struct ReportOptions: Sendable {
    /// How many of the lowest-CIDEr images to show (with a second run: the most worsened).
    public var worst: Int
    /// How many of the highest-CIDEr images to show (with a second run: the most improved).
    public var best: Int
    /// Show exactly these images, in this order, instead of the worst and best.
    public var imageIDs: [String]?
    /// Where the pictures are; nil draws the boxes over a plain frame.
    public var images: ImageDirectory?
    public var bootstrap: PairedBootstrap

    public init(
        worst: Int = 20, best: Int = 20, imageIDs: [String]? = nil, images: ImageDirectory? = nil,
        bootstrap: PairedBootstrap = PairedBootstrap()
    ) {
        self.worst = worst
        self.best = best
        self.imageIDs = imageIDs
        self.images = images
        self.bootstrap = bootstrap
    }
}

/// A user error in what the report was asked to show.
public struct ReportError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// A self-contained HTML page of a run (or of two runs side by side): summary, metric
/// distributions, and the chosen images with their captions, references, scores and the attention
/// of every word over the image's regions. Inline CSS, JavaScript and SVG; no network request.
public enum RunReport {
    /// Renders the report of `run`, compared with `versus` when given (A = `run`, B = `versus`).
    public static func html(
        database: ResultDatabase, run: RunRecord, versus: RunRecord? = nil, options: ReportOptions = ReportOptions()
    ) throws -> String {
        let a = try RunSide(database: database, run: run, imageSizes: options.images != nil)
        let b = try versus.map { try RunSide(database: database, run: $0, imageSizes: options.images != nil) }
        let comparison = try versus.map {
            try RunComparison(database: database, runA: run, runB: $0, bootstrap: options.bootstrap)
        }
        let sections = try chooseSections(a: a, b: b, options: options)

        var page = HTMLPage()
        let title = b.map { "nightcap: run \(a.run.runID) (\(a.run.name)) vs run \($0.run.runID) (\($0.run.name))" }
            ?? "nightcap: run \(a.run.runID) (\(a.run.name))"
        page.begin(title: title)
        page.summary(a: a, b: b, comparison: comparison)
        var pictures: [String: PictureLookup] = [:]
        var cardNumber = 0
        for section in sections {
            page.raw("<section class=\"images\"><h2>\(escape(section.title))</h2>")
            if let note = section.note { page.raw("<p class=\"note\">\(escape(note))</p>") }
            let detailsA = Dictionary(
                uniqueKeysWithValues: try database.imageDetails(runID: a.run.runID, imageIDs: section.imageIDs)
                    .map { ($0.caption.imageID, $0) })
            let detailsB = try b.map { side in
                Dictionary(
                    uniqueKeysWithValues: try database.imageDetails(runID: side.run.runID, imageIDs: section.imageIDs)
                        .map { ($0.caption.imageID, $0) })
            }
            for imageID in section.imageIDs {
                if pictures[imageID] == nil { pictures[imageID] = options.images?.picture(for: imageID) ?? .missing }
                cardNumber += 1
                page.imageCard(
                    number: cardNumber, imageID: imageID, a: detailsA[imageID], b: detailsB.map { $0[imageID] },
                    labels: (a.run.name, b?.run.name), references: a.references[imageID] ?? b?.references[imageID],
                    picture: pictures[imageID] ?? .missing, originalSize: a.imageSizes[imageID] ?? b?.imageSizes[imageID])
            }
            page.raw("</section>")
        }
        page.end()
        return page.text
    }

    struct Section {
        var title: String
        var note: String?
        var imageIDs: [String]
    }

    static func chooseSections(a: RunSide, b: RunSide?, options: ReportOptions) throws -> [Section] {
        if let ids = options.imageIDs {
            let known = Set(a.images.map(\.imageID)).union(b.map { Set($0.images.map(\.imageID)) } ?? [])
            let missing = ids.filter { !known.contains($0) }
            if !missing.isEmpty {
                let list = missing.prefix(5).joined(separator: ", ") + (missing.count > 5 ? " and \(missing.count - 5) more" : "")
                throw ReportError(
                    "image \(list) \(missing.count == 1 ? "is" : "are") not captioned in run \(a.run.runID) (\(a.run.name))"
                        + (b.map { " nor in run \($0.run.runID) (\($0.run.name))" } ?? "")
                        + "; list ids as the captions table stores them (nightcap export gives them)")
            }
            return [Section(title: "Selected images (\(ids.count))", note: nil, imageIDs: ids)]
        }
        if let b {
            let ciderB = Dictionary(uniqueKeysWithValues: b.images.compactMap { i in i.metrics[.cider].map { (i.imageID, $0) } })
            let changes = a.images.compactMap { image -> (id: String, index: Int, delta: Double)? in
                guard let before = image.metrics[.cider], let after = ciderB[image.imageID] else { return nil }
                return (image.imageID, image.imageIndex, after - before)
            }
            guard !changes.isEmpty else {
                return [Section(
                    title: "Images", note: "No image has CIDEr in both runs (a run is not finalized, or they share no image).",
                    imageIDs: [])]
            }
            let improved = changes.filter { $0.delta > 0 }.sorted { ($1.delta, $0.index) < ($0.delta, $1.index) }
            let worsened = changes.filter { $0.delta < 0 }.sorted { ($0.delta, $0.index) < ($1.delta, $1.index) }
            // "Changed" means what `nightcap compare` counts: a different caption or a different CIDEr.
            // Captions that changed while CIDEr tied (both 0, say) are a section of their own.
            let captionB = Dictionary(uniqueKeysWithValues: b.images.map { ($0.imageID, $0.caption) })
            let captionA = Dictionary(uniqueKeysWithValues: a.images.map { ($0.imageID, $0.caption) })
            let reworded = changes.filter { $0.delta == 0 && captionA[$0.id] != captionB[$0.id] }.sorted { $0.index < $1.index }
            let changed = improved.count + worsened.count + reworded.count
            let note = "\(changed) of \(changes.count) images scored in both runs changed (a different caption or a different CIDEr), as `nightcap compare` counts them."
            var sections = [
                Section(
                    title: "Most worsened by CIDEr (\(min(options.worst, worsened.count)) of \(worsened.count) worse in B)",
                    note: note, imageIDs: worsened.prefix(options.worst).map(\.id)),
                Section(
                    title: "Most improved by CIDEr (\(min(options.best, improved.count)) of \(improved.count) better in B)",
                    note: nil, imageIDs: improved.prefix(options.best).map(\.id)),
            ]
            if !reworded.isEmpty {
                let shown = min(max(options.worst, options.best), reworded.count)
                sections.append(Section(
                    title: "Caption changed, CIDEr equal (\(shown) of \(reworded.count))", note: nil,
                    imageIDs: reworded.prefix(shown).map(\.id)))
            }
            return sections
        }
        let scored = a.images.compactMap { image in image.metrics[.cider].map { (id: image.imageID, index: image.imageIndex, cider: $0) } }
        if scored.isEmpty {
            return [Section(
                title: "First images (\(min(options.worst + options.best, a.images.count)))",
                note: "CIDEr is not computed for this run (it is written when the run is finalized): images in file order.",
                imageIDs: a.images.prefix(options.worst + options.best).map(\.imageID))]
        }
        let ascending = scored.sorted { ($0.cider, $0.index) < ($1.cider, $1.index) }
        let worst = Array(ascending.prefix(options.worst).map(\.id))
        // With fewer images than --worst + --best the lists would overlap: an image is in one only.
        let shownWorst = Set(worst)
        let descending = scored.sorted { ($1.cider, $0.index) < ($0.cider, $1.index) }
        let best = Array(descending.lazy.filter { !shownWorst.contains($0.id) }.prefix(options.best).map(\.id))
        return [
            Section(title: "Worst \(worst.count) by CIDEr", note: nil, imageIDs: worst),
            Section(title: "Best \(best.count) by CIDEr", note: nil, imageIDs: best),
        ]
    }
}

/// What the report needs of one run beyond the images it shows.
struct RunSide {
    var run: RunRecord
    var metrics: [Metric: Double]
    var images: [CaptionWithMetrics]
    var progress: ShardProgress
    var grounding: GroundingSummary?
    var failures: [FailedImage]
    /// Where and on which kernels its shards were decoded (the last float bits depend on them).
    var origins: [ShardOrigin]
    /// Reference captions by image id, read from the run's references file; empty when the file is
    /// gone or unreadable (`referencesNote` says why).
    var references: [String: [String]]
    var referencesNote: String?
    /// Width and height of the original images, from a COCO references file's `images` (the boxes'
    /// coordinate system); read only when pictures are drawn.
    var imageSizes: [String: (width: Int, height: Int)] = [:]

    init(database: ResultDatabase, run: RunRecord, imageSizes readSizes: Bool = false) throws {
        self.run = run
        metrics = try database.runMetrics(runID: run.runID)
        images = try database.captionsWithMetrics(runID: run.runID)
        progress = try database.shardProgress(runID: run.runID)
        grounding = try database.grounding(runID: run.runID)
        failures = try database.failures(runID: run.runID)
        origins = try database.shardOrigins(runID: run.runID)
        references = [:]
        if let path = run.referencesPath {
            let config = (try? JSONSerialization.jsonObject(with: Data(run.configJSON.utf8))) as? [String: Any]
            let format = (config?["referencesFormat"] as? String).flatMap(ReferenceFormat.init(rawValue:))
            let split = config?["referencesSplit"] as? String
            do {
                let loaded = try CaptionFileReader.references(at: path, format: format, split: split)
                for id in loaded.imageIDs { references[id.value] = loaded.captions[id] }
            } catch {
                referencesNote = "references not shown: \(error)"
            }
            if readSizes { imageSizes = Self.imageSizes(referencesPath: path) }
        } else {
            referencesNote = "references not shown: the run has no references path"
        }
    }

    /// `images[].width/height` of a COCO annotations file by image id; empty for other files.
    static func imageSizes(referencesPath: String) -> [String: (width: Int, height: Int)] {
        guard let data = FileManager.default.contents(atPath: referencesPath),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let images = object["images"] as? [[String: Any]]
        else { return [:] }
        var sizes: [String: (width: Int, height: Int)] = [:]
        for image in images {
            guard let width = (image["width"] as? NSNumber)?.intValue, let height = (image["height"] as? NSNumber)?.intValue,
                width > 0, height > 0, let id = image["id"]
            else { continue }
            sizes["\(id)"] = (width, height)
        }
        return sizes
    }
}
