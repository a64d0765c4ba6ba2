import CaptionMetrics
import Captioner
import Foundation
import ResultStore
import TestSupport

// nightcap's in-process benchmarks: the speed of one component, measured apart from the rest (the
// end-to-end benchmarks are bench/throughput, bench/updown and bench/transformer). They print what
// they measure and assert nothing; `swift test` never runs them. In a release build:
//
//   swift build -c release --product nightcap-bench
//   .build/release/nightcap-bench commit            # ResultDatabase.commitShard
//   .build/release/nightcap-bench decode [IMAGES] [BATCH]   # the decoder on a COCO-scale model

let usage = """
    usage: nightcap-bench commit
           nightcap-bench decode [IMAGES (default 100)] [BATCH (default 50)]
    """

let arguments = Array(CommandLine.arguments.dropFirst())
do {
    switch arguments.first {
    case "commit" where arguments.count == 1:
        try CommitBenchmark.run()
    case "decode" where arguments.count <= 3:
        let numbers = arguments.dropFirst().map { Int($0) }
        guard numbers.allSatisfy({ ($0 ?? 0) > 0 }) else {
            FileHandle.standardError.write(Data("IMAGES and BATCH are positive whole numbers\n\(usage)\n".utf8))
            exit(2)
        }
        try DecodeBenchmark.run(images: numbers.first.flatMap { $0 } ?? 100, batchSize: numbers.dropFirst().first.flatMap { $0 } ?? 50)
    default:
        FileHandle.standardError.write(Data("\(usage)\n".utf8))
        exit(2)
    }
} catch {
    FileHandle.standardError.write(Data("nightcap-bench: \(error)\n".utf8))
    exit(1)
}
