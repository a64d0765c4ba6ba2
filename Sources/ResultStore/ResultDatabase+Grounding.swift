import GRDB

/// How often the words that name an object were looking at that object.
public struct GroundingSummary: Sendable, Hashable {
    /// Caption words equal to the label of a (non-background) region of their own image.
    public var objectWords: Int
    /// Of those, the words whose most-attended region carries that label.
    public var grounded: Int

    public var rate: Double { objectWords == 0 ? 0 : Double(grounded) / Double(objectWords) }
}

extension ResultDatabase {
    /// The grounding query of the README: over the words of a run that name a labelled object of
    /// their image (the word equals a region's label, `background` excluded), the share whose
    /// `top_region` has that label.
    public static let groundingSQL = """
        SELECT count(*) AS object_words,
               coalesce(sum(r.label = a.word), 0) AS grounded
        FROM attention AS a
        JOIN regions AS r
          ON r.run_id = a.run_id AND r.image_id = a.image_id AND r.region = a.top_region
        WHERE a.run_id = :run
          AND a.word IN (SELECT o.label FROM regions AS o
                         WHERE o.run_id = a.run_id AND o.image_id = a.image_id
                           AND o.label <> 'background')
        """

    /// The grounding of a run, or nil when its regions have no labels (nothing to ground against).
    public func grounding(runID: Int64) throws -> GroundingSummary? {
        try read("measuring the attention grounding of run \(runID)") { db in
            let labelled = try Bool.fetchOne(
                db, sql: "SELECT EXISTS (SELECT 1 FROM regions WHERE run_id = ? AND label IS NOT NULL AND label <> '')",
                arguments: [runID]) ?? false
            guard labelled else { return nil }
            return try GroundingSummary.fetchOne(db, sql: Self.groundingSQL, arguments: ["run": runID])
                ?? GroundingSummary(objectWords: 0, grounded: 0)
        }
    }
}
