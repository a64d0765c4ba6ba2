extension DeltaInterval {
    /// What `compare` and the report print beside the interval: `better` or `worse` when it excludes
    /// zero by more than rounding noise, `no difference` when the delta and both bounds are zero (two
    /// runs with the same per-image scores), else `within noise`.
    ///
    /// Sums of the same per-image scores in another order can differ in the last bits (1e-16), so
    /// an interval of `[+1e-17, +3e-17]` is no difference, not `better`.
    public var verdict: String {
        let noise = 1e-9
        if abs(delta) <= noise && abs(lower) <= noise && abs(upper) <= noise { return "no difference" }
        if lower > noise { return "better" }
        if upper < -noise { return "worse" }
        return "within noise"
    }
}
