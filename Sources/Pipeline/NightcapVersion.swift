/// The version recorded with each run.
public enum NightcapVersion {
    public static let current = "0.1.0"
}
