// The rows and outcomes of the `runs` table.

/// The state of a run, as stored in `runs.status`.
public enum RunStatus: String, Sendable, Hashable, CaseIterable {
    case running, interrupted, failed, completed
}

/// What the pipeline knows about a run when it starts it.
public struct NewRun: Sendable, Hashable {
    public var name: String
    /// Hash of everything that determines the results; a resumed run has the same one.
    public var fingerprint: String
    /// The resolved configuration, as JSON text.
    public var configJSON: String
    public var imageCount: Int
    public var shardSize: Int
    public var shardCount: Int
    public var featuresPath: String?
    public var modelPath: String?
    public var referencesPath: String?
    /// SHA-256 of the references (bytes, format, split); nil for a run without references.
    public var referencesDigest: String?
    public var nightcapVersion: String?
    public var ownerPID: Int32
    public var ownerHost: String
    /// The part of a partitioned run this run does (`run_parts`), or nil for a whole run.
    public var part: RunPart?
    /// The Slurm task of the owner (`run_slurm_owners`), when it runs under Slurm.
    public var slurmTask: SlurmTask?

    public init(
        name: String, fingerprint: String, configJSON: String, imageCount: Int, shardSize: Int,
        shardCount: Int, featuresPath: String? = nil, modelPath: String? = nil, referencesPath: String? = nil,
        referencesDigest: String? = nil, nightcapVersion: String? = nil, ownerPID: Int32, ownerHost: String, part: RunPart? = nil,
        slurmTask: SlurmTask? = nil
    ) {
        self.part = part
        self.slurmTask = slurmTask
        self.name = name
        self.fingerprint = fingerprint
        self.configJSON = configJSON
        self.imageCount = imageCount
        self.shardSize = shardSize
        self.shardCount = shardCount
        self.featuresPath = featuresPath
        self.modelPath = modelPath
        self.referencesPath = referencesPath
        self.referencesDigest = referencesDigest
        self.nightcapVersion = nightcapVersion
        self.ownerPID = ownerPID
        self.ownerHost = ownerHost
    }
}

/// A row of `runs`.
public struct RunRecord: Sendable, Hashable {
    public var runID: Int64
    public var name: String
    public var status: RunStatus
    public var statusMessage: String?
    public var fingerprint: String
    public var configJSON: String
    public var imageCount: Int
    public var shardSize: Int
    public var shardCount: Int
    public var featuresPath: String?
    public var modelPath: String?
    public var referencesPath: String?
    /// SHA-256 of the references the metrics were computed against; nil when not scored, or for
    /// runs of schema version 1.
    public var referencesDigest: String?
    public var nightcapVersion: String?
    public var ownerPID: Int32?
    public var ownerHost: String?
    public var heartbeatAt: String?
    /// ISO-8601 UTC, e.g. `2026-11-24T22:39:40.123Z`.
    public var createdAt: String
    public var finishedAt: String?
    public var finalizeSeconds: Double?

    /// Whether the run has references (from its start, or scored later): a run without them has
    /// captions, attention and regions but no metrics.
    public var isScored: Bool { referencesPath != nil || referencesDigest != nil }
}

/// One line of `nightcap runs`.
public struct RunSummary: Sendable, Hashable {
    public var runID: Int64
    public var name: String
    public var status: RunStatus
    public var createdAt: String
    public var finishedAt: String?
    public var imageCount: Int
    public var imagesDone: Int
    public var imagesFailed: Int
    public var shardsDone: Int
    public var shardCount: Int
    public var bleu4: Double?
    public var cider: Double?
    /// False for a run captioned without references and not scored since.
    public var isScored: Bool
    /// The process that owns a `running` run, and its host.
    public var ownerPID: Int32?
    public var ownerHost: String?
    /// The resolved configuration, as JSON text (model, decode settings).
    public var configJSON: String
    /// Images with per-image metric rows (scored images); 0 for a run not scored.
    public var imagesScored: Int
}

/// The result of trying to become a run's owner.
public enum ClaimOutcome: Sendable, Hashable {
    /// This process now owns the run, whose status is `running`.
    case claimed
    /// Another live process owns the run (or a process on another host, whose liveness cannot be
    /// checked); nothing changed.
    case ownedBy(pid: Int32, host: String)
}
