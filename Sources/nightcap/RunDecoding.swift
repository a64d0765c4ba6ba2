import Foundation
import ResultStore

/// How a run was decoded, read from its stored configuration (`runs.config`), for `runs` and `show`.
/// A value a run of an older nightcap did not record (the family) is nil.
struct RunDecoding {
    var family: String?
    var modelPath: String?
    var beamSize: Int?
    var maxLength: Int?
    /// As configured: `0.0`, `wu_0.7`, `avg_0`.
    var lengthPenalty: String?
    var split: String?

    init(configJSON: String) {
        let object = (try? JSONSerialization.jsonObject(with: Data(configJSON.utf8))) as? [String: Any] ?? [:]
        family = object["modelFamily"] as? String
        modelPath = object["modelPath"] as? String
        beamSize = (object["beamSize"] as? NSNumber)?.intValue
        maxLength = (object["maxLength"] as? NSNumber)?.intValue
        split = object["referencesSplit"] as? String
        if let alpha = (object["lengthPenalty"] as? NSNumber)?.doubleValue {
            switch object["lengthPenaltyRule"] as? String {
            case "wu": lengthPenalty = "wu_\(alpha)"
            case "average": lengthPenalty = "avg_\(alpha)"
            default: lengthPenalty = "\(alpha)"
            }
        }
    }

    /// The model file as its folder and name (`log_updown/model-best.pth`), short enough for a table.
    static func shortModel(_ path: String?) -> String? {
        guard let path else { return nil }
        let url = URL(fileURLWithPath: path)
        let folder = url.deletingLastPathComponent().lastPathComponent
        return folder.isEmpty || folder == "/" ? url.lastPathComponent : "\(folder)/\(url.lastPathComponent)"
    }
}
