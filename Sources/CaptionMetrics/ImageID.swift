/// An image id as written in a caption file: COCO uses integers, other sets use strings.
///
/// Ids keep their JSON type: the integer `42` and the string `"42"` are different ids, and an
/// evaluation whose files disagree on the type fails with `imageIDTypeMismatch` instead of
/// silently scoring nothing.
public struct ImageID: Hashable, Sendable, Comparable, CustomStringConvertible, Codable {
    public enum Kind: String, Sendable, Codable { case integer, string }

    public var value: String
    public var kind: Kind

    public init(_ value: Int) {
        self.value = String(value)
        kind = .integer
    }

    public init(_ value: String) {
        self.value = value
        kind = .string
    }

    /// How the id reads in JSON: `42` or `"42"`.
    public var description: String { kind == .integer ? value : "\"\(value)\"" }

    public static func < (a: ImageID, b: ImageID) -> Bool {
        if a.kind != b.kind { return a.kind == .integer }
        if a.kind == .integer, let x = Int(a.value), let y = Int(b.value) { return x < y }
        return a.value < b.value
    }
}
