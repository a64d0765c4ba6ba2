import Foundation

extension RunStatus {
    /// The status as a user should read it: a `running` run whose owner process on this host no
    /// longer exists (killed, or stopped by a second Ctrl-C before it could mark itself) reads
    /// `interrupted (process gone)`; the next `nightcap run` of it takes it over and resumes.
    ///
    /// A run owned from another host keeps `running`: its process cannot be checked from here.
    public func described(
        ownerPID: Int32?, ownerHost: String?, host: String = ProcessInfo.processInfo.hostName,
        isAlive: (Int32) -> Bool = ProcessLiveness.isAlive
    ) -> String {
        isOwnerGone(ownerPID: ownerPID, ownerHost: ownerHost, host: host, isAlive: isAlive)
            ? "interrupted (process gone)" : rawValue
    }

    /// Whether this is a `running` status whose owner, a process of this host, is gone.
    public func isOwnerGone(
        ownerPID: Int32?, ownerHost: String?, host: String = ProcessInfo.processInfo.hostName,
        isAlive: (Int32) -> Bool = ProcessLiveness.isAlive
    ) -> Bool {
        guard self == .running, let ownerPID, ownerHost == host else { return false }
        return !isAlive(ownerPID)
    }
}
