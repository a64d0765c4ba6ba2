import Foundation

/// Where METEOR's data is: the folder holding `meteor-1.5.jar` and `data/paraphrase-en.gz`, as
/// pycocoevalcap installs it (`site-packages/pycocoevalcap/meteor`).
public struct MeteorDataLocation: Sendable, Equatable {
    public var folder: String
    public var jarPath: String { folder + "/meteor-1.5.jar" }
    public var paraphrasePath: String { folder + "/data/paraphrase-en.gz" }

    public init(folder: String) { self.folder = folder }

    /// The one command that installs the data where nightcap looks first.
    public static let installCommand = "python3 -m pip install --target .nightcap/python pycocoevalcap==1.2"

    /// The folder given (`--meteor-data` / `[metrics] meteor_data`), else the first of
    /// `candidateFolders` that has both files. Throws before any work, naming every folder looked in
    /// and the command that installs the data.
    public static func locate(explicit: String?, environment: [String: String] = ProcessInfo.processInfo.environment,
                              currentDirectory: String = FileManager.default.currentDirectoryPath) throws(CaptionMetricsError) -> MeteorDataLocation {
        if let explicit {
            let location = MeteorDataLocation(folder: explicit)
            let missing = [location.jarPath, location.paraphrasePath].filter { !FileManager.default.fileExists(atPath: $0) }
            guard missing.isEmpty else {
                throw CaptionMetricsError(
                    .meteorDataMissing,
                    "METEOR data: \(missing.joined(separator: " and ")) not found (the METEOR data folder given with --meteor-data or "
                        + "[metrics] meteor_data must hold meteor-1.5.jar and data/paraphrase-en.gz, as pycocoevalcap's meteor folder does). "
                        + "Point it at pycocoevalcap's meteor folder, or install it with: \(installCommand)")
            }
            return location
        }
        let candidates = candidateFolders(environment: environment, currentDirectory: currentDirectory)
        for folder in candidates {
            let location = MeteorDataLocation(folder: folder)
            if FileManager.default.fileExists(atPath: location.jarPath) && FileManager.default.fileExists(atPath: location.paraphrasePath) {
                return location
            }
        }
        if environment["NIGHTCAP_METEOR_NO_PYTHON"] == nil, let folder = askPython(environment: environment) {
            let location = MeteorDataLocation(folder: folder)
            if FileManager.default.fileExists(atPath: location.jarPath) && FileManager.default.fileExists(atPath: location.paraphrasePath) {
                return location
            }
        }
        throw CaptionMetricsError(
            .meteorDataMissing,
            "METEOR data (meteor-1.5.jar and data/paraphrase-en.gz from pycocoevalcap) not found. Looked in: "
                + candidates.joined(separator: ", ") + (environment["NIGHTCAP_METEOR_NO_PYTHON"] == nil ? ", and where python3 imports pycocoevalcap from" : "")
                + ". Install it with: \(installCommand) (scripts/bootstrap does this), or give its folder with --meteor-data, "
                + "or leave METEOR out with --metrics.")
    }

    /// The folders searched, in order: `NIGHTCAP_METEOR_DATA`; nightcap's own `.nightcap/python`
    /// (in the current directory and beside the executable's build folder); the usual
    /// site-packages folders.
    static func candidateFolders(environment: [String: String], currentDirectory: String) -> [String] {
        var folders: [String] = []
        if let env = environment["NIGHTCAP_METEOR_DATA"], !env.isEmpty { folders.append(env) }
        let owned = "/.nightcap/python/pycocoevalcap/meteor"
        folders.append(currentDirectory + owned)
        // The executable is in <clone>/.build/<configuration>/: the clone's own folder.
        let executable = URL(fileURLWithPath: CommandLine.arguments.first ?? "").resolvingSymlinksInPath()
        let clone = executable.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        if clone != currentDirectory { folders.append(clone + owned) }
        var roots = ["/usr/local/lib", "/usr/lib"]
        if let home = environment["HOME"] {
            roots.append(home + "/.local/lib")
            let pyenv = (environment["PYENV_ROOT"] ?? home + "/.pyenv") + "/versions"
            for version in ((try? FileManager.default.contentsOfDirectory(atPath: pyenv)) ?? []).sorted() {
                roots.append(pyenv + "/" + version + "/lib")
            }
        }
        if let venv = environment["VIRTUAL_ENV"] { roots.insert(venv + "/lib", at: 0) }
        for root in roots {
            let pythons = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).filter { $0.hasPrefix("python3") }.sorted()
            for python in pythons {
                for packages in ["site-packages", "dist-packages"] {
                    folders.append("\(root)/\(python)/\(packages)/pycocoevalcap/meteor")
                }
            }
        }
        return folders
    }

    /// Asks `python3` where pycocoevalcap is (at most 5 seconds); nil when it cannot say.
    private static func askPython(environment: [String: String]) -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", "import pycocoevalcap, os; print(list(pycocoevalcap.__path__)[0])"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return nil }
        let deadline = Date().addingTimeInterval(5)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning {
            process.terminate()
            return nil
        }
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        return process.terminationStatus == 0 && !output.isEmpty ? output + "/meteor" : nil
    }
}

/// What is wrong with one of METEOR's data files (turned into a `CaptionMetricsError` naming the file).
enum MeteorDataProblem: Error {
    case unreadable(String, String)
    case damaged(String, String)
    case damagedIndex(String, String)
    case malformed(String, String)
    case missingEntry(String)
}
