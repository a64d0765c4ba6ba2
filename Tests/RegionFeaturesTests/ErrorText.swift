/// The description of the error `body` throws, or "no error": what a user of the features file sees.
func errorText(_ body: () throws -> Void) -> String {
    do {
        try body()
        return "no error"
    } catch {
        return "\(error)"
    }
}
