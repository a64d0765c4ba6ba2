/// Interns tokens to dense `Int32` ids so n-grams can be hashed as integers.
public struct TokenVocabulary: Sendable {
    private var ids: [String: Int32] = [:]
    /// The tokens in id order.
    public private(set) var tokens: [String] = []

    public init() {}

    /// The number of distinct tokens seen.
    public var count: Int { ids.count }

    /// The id of `token`, assigning the next id to a new token.
    public mutating func id(_ token: String) -> Int32 {
        if let id = ids[token] { return id }
        let id = Int32(ids.count)
        ids[token] = id
        tokens.append(token)
        return id
    }

    /// The ids of `tokens`, in order.
    public mutating func ids(_ tokens: [String]) -> [Int32] {
        tokens.map { id($0) }
    }
}
