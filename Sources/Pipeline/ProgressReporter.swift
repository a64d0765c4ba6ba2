import Foundation
import Synchronization

/// How a run shows its progress.
public enum ProgressStyle: Sendable {
    /// A live bar redrawn in place (a terminal).
    case bar
    /// A plain line every few seconds (cron logs, CI).
    case log(interval: TimeInterval)
    case quiet

    /// A bar when standard error is a terminal, log lines otherwise.
    public static var automatic: ProgressStyle {
        isatty(STDERR_FILENO) != 0 ? .bar : .log(interval: 5)
    }
}

/// Reports images done, images/s, ETA and shards on standard error. Safe to call from any thread.
public final class ProgressReporter: Sendable {
    private struct State {
        var imagesDone = 0
        var shardsDone = 0
        var startedAt = Date()
        var lastPrinted = Date.distantPast
        var imagesAtStart = 0
        var barShown = false
    }

    private let style: ProgressStyle
    private let totalImages: Int
    private let totalShards: Int
    private let state = Mutex(State())
    private let write: @Sendable (String) -> Void

    public init(
        style: ProgressStyle, totalImages: Int, totalShards: Int,
        write: @escaping @Sendable (String) -> Void = { FileHandle.standardError.write(Data($0.utf8)) }
    ) {
        self.style = style
        self.totalImages = totalImages
        self.totalShards = totalShards
        self.write = write
    }

    /// Sets the starting point of a resumed run: those images do not count towards the rate.
    public func start(imagesDone: Int, shardsDone: Int) {
        state.withLock { state in
            state.imagesDone = imagesDone
            state.imagesAtStart = imagesDone
            state.shardsDone = shardsDone
            state.startedAt = Date()
        }
    }

    /// Called once a shard is committed.
    public func shardCommitted(images: Int) {
        let line: String? = state.withLock { state in
            state.imagesDone += images
            state.shardsDone += 1
            let now = Date()
            switch style {
            case .quiet:
                return nil
            case .bar:
                guard now.timeIntervalSince(state.lastPrinted) >= 0.1 || state.shardsDone == totalShards else { return nil }
                state.lastPrinted = now
                state.barShown = true
                return "\r" + bar(state, now: now)
            case .log(let interval):
                guard now.timeIntervalSince(state.lastPrinted) >= interval || state.shardsDone == totalShards else { return nil }
                state.lastPrinted = now
                return Self.timestamp(now) + " nightcap: " + summary(state, now: now) + "\n"
            }
        }
        if let line { write(line) }
    }

    /// Ends the bar's line so that what follows starts on a new one.
    public func finish() {
        let shown = state.withLock { $0.barShown }
        if shown { write("\n") }
    }

    private func rate(_ state: State, now: Date) -> Double {
        let seconds = max(now.timeIntervalSince(state.startedAt), 1e-3)
        return Double(state.imagesDone - state.imagesAtStart) / seconds
    }

    private func eta(_ state: State, now: Date) -> String {
        let perSecond = rate(state, now: now)
        guard perSecond > 0 else { return "?" }
        return Self.duration(Double(totalImages - state.imagesDone) / perSecond)
    }

    private func summary(_ state: State, now: Date) -> String {
        let percent = totalImages == 0 ? 100 : Double(state.imagesDone) * 100 / Double(totalImages)
        return "\(state.imagesDone)/\(totalImages) images (\(String(format: "%.1f", percent))%), "
            + "\(String(format: "%.1f", rate(state, now: now))) images/s, ETA \(eta(state, now: now)), "
            + "shards \(state.shardsDone)/\(totalShards)"
    }

    private func bar(_ state: State, now: Date) -> String {
        let width = 30
        let fraction = totalImages == 0 ? 1 : Double(state.imagesDone) / Double(totalImages)
        let filled = min(width, Int(fraction * Double(width)))
        let body = String(repeating: "=", count: filled) + (filled < width ? ">" : "") + String(repeating: " ", count: max(0, width - filled - 1))
        return "[\(body)] \(state.imagesDone)/\(totalImages) images  \(String(format: "%.1f", rate(state, now: now))) img/s  "
            + "ETA \(eta(state, now: now))  shards \(state.shardsDone)/\(totalShards)  "
    }

    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "?" }
        let total = Int(seconds.rounded())
        if total < 60 { return "\(total)s" }
        if total < 3600 { return "\(total / 60)m\(String(format: "%02d", total % 60))s" }
        return "\(total / 3600)h\(String(format: "%02d", (total % 3600) / 60))m"
    }

    static func timestamp(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: date)
    }
}
