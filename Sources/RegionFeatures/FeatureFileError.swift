/// A features file that cannot be used as it is: what is wrong, where, and what to do.
public struct FeatureFileError: Error, CustomStringConvertible, Sendable, Equatable {
    public var file: String
    /// The dataset or group the problem is in, if it is in one.
    public var dataset: String?
    public var message: String

    public init(file: String, dataset: String? = nil, message: String) {
        self.file = file
        self.dataset = dataset
        self.message = message
    }

    public var description: String {
        if let dataset { return "\(file), dataset \(dataset): \(message)" }
        return "\(file): \(message)"
    }
}
