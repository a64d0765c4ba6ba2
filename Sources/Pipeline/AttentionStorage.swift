import Foundation

/// What to keep of each word's attention.
public enum AttentionStorage: Sendable, Equatable, Codable, CustomStringConvertible {
    /// Every valid region's weight.
    case full
    /// The K largest weights (others stored as 0), `top-K` in configuration.
    case top(Int)
    /// No attention rows.
    case none

    public init?(text: String) {
        switch text.lowercased() {
        case "full": self = .full
        case "none": self = .none
        default:
            let lowered = text.lowercased()
            guard lowered.hasPrefix("top-"), let k = Int(lowered.dropFirst(4)), k >= 1 else { return nil }
            self = .top(k)
        }
    }

    public var description: String {
        switch self {
        case .full: return "full"
        case .none: return "none"
        case .top(let k): return "top-\(k)"
        }
    }
}

extension AttentionStorage {
    enum CodingKeys: CodingKey { case value }
    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let value = AttentionStorage(text: text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "bad attention storage \(text)"))
        }
        self = value
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
