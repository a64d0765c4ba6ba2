/// Stored by raw value in a run's resolved configuration.
extension ReferenceFormat: Codable {}
