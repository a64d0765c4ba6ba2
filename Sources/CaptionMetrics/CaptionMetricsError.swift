import Foundation

/// A failure reading caption files or evaluating them; `description` says what, where and what to do.
public struct CaptionMetricsError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Kind: String, Sendable {
        case unreadableFile, malformedJSON, unexpectedStructure, unknownFormat, duplicateResult
        case imageIDTypeMismatch, noCommonImages, emptySplit
        case meteorDataMissing, meteorDataDamaged
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}
