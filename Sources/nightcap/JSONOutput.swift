import CaptionMetrics
import Foundation

/// The `--json` output of `run`, `runs`, `show` and `compare`: one JSON document on standard output,
/// keys sorted, `null` for a value that is not known. The keys are documented in docs/database.md.
enum JSONOutput {
    /// The text of `object`: dictionaries, arrays, strings, numbers, booleans and `NSNull()`.
    static func render(_ object: Any) -> String {
        // Every value put in comes from the types above, which JSONSerialization takes; a failure is a
        // programming error, not a user's.
        guard JSONSerialization.isValidJSONObject(object),
            let data = try? JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        else {
            preconditionFailure("--json output is not a JSON object: \(object)")
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// `value`, or JSON's `null`.
    static func orNull(_ value: Any?) -> Any { value ?? NSNull() }

    /// Metric values by pycocoevalcap's names.
    static func metrics(_ values: [Metric: Double]) -> [String: Any] {
        Dictionary(uniqueKeysWithValues: values.map { ($0.key.rawValue, $0.value as Any) })
    }
}
