import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// METEOR's English paraphrase table (`data/paraphrase-en.gz`), as a memory-mapped index.
///
/// The table is 5.3 million entries of three lines: a probability (unused by METEOR), a phrase,
/// and one of its paraphrases. The jar reads it into a trie over the phrases' words at every
/// start (several seconds); nightcap builds the same trie once into a compact binary file in its
/// cache (`ParaphraseIndexFile`), named by the SHA-256 of the `.gz`, and maps it.
///
/// What the matcher needs, in the jar's order: for a word position, every phrase that starts
/// there, shortest first and, for one phrase, its paraphrases in file order.
public final class ParaphraseTable: @unchecked Sendable {
    // @unchecked: the mapping is read-only after init and unmapped only in deinit.
    private let base: UnsafeRawPointer
    private let size: Int
    let header: ParaphraseIndexFile.Header
    private let stringOffsets: UnsafePointer<UInt32>
    private let strings: UnsafePointer<UInt8>
    private let slots: UnsafePointer<UInt32>
    private let nodeEmits: UnsafePointer<UInt32>
    private let nodeEdges: UnsafePointer<UInt32>
    private let edgeWords: UnsafePointer<UInt32>
    private let edgeChildren: UnsafePointer<UInt32>
    private let emits: UnsafePointer<UInt32>
    private let paraphraseStarts: UnsafePointer<UInt32>
    private let paraphraseWords: UnsafePointer<UInt32>

    /// Maps an index file written by `ParaphraseIndexFile.write`; checks its header and size.
    init(mapping path: String) throws(MeteorDataProblem) {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw .unreadable(path, String(cString: strerror(errno))) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw .unreadable(path, String(cString: strerror(errno))) }
        let size = Int(info.st_size)
        guard size >= ParaphraseIndexFile.headerSize else { throw .damagedIndex(path, "it is \(size) bytes, shorter than its header") }
        guard let mapped = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), mapped != MAP_FAILED else {
            throw .unreadable(path, String(cString: strerror(errno)))
        }
        let base = UnsafeRawPointer(mapped)
        let header: ParaphraseIndexFile.Header
        do {
            header = try ParaphraseIndexFile.Header(reading: base, size: size, path: path)
        } catch {
            munmap(mapped, size)
            throw error
        }
        self.base = base
        self.size = size
        self.header = header
        let layout = header.layout
        func words(_ offset: Int) -> UnsafePointer<UInt32> { (base + offset).assumingMemoryBound(to: UInt32.self) }
        stringOffsets = words(layout.stringOffsets)
        strings = (base + layout.strings).assumingMemoryBound(to: UInt8.self)
        slots = words(layout.slots)
        nodeEmits = words(layout.nodeEmits)
        nodeEdges = words(layout.nodeEdges)
        edgeWords = words(layout.edgeWords)
        edgeChildren = words(layout.edgeChildren)
        emits = words(layout.emits)
        paraphraseStarts = words(layout.paraphraseStarts)
        paraphraseWords = words(layout.paraphraseWords)
    }

    deinit { munmap(UnsafeMutableRawPointer(mutating: base), size) }

    /// The table's id of a word, or -1 when no entry has it.
    func wordID(_ word: String) -> Int32 {
        var word = word
        return word.withUTF8 { bytes -> Int32 in
            let mask = Int(header.slotCount) - 1
            var slot = Int(truncatingIfNeeded: ParaphraseIndexFile.hash(bytes)) & mask
            while true {
                let entry = slots[slot]
                if entry == 0 { return -1 }
                let id = Int(entry - 1)
                let start = Int(stringOffsets[id]), end = Int(stringOffsets[id + 1])
                if end - start == bytes.count && (bytes.count == 0 || memcmp(strings + start, bytes.baseAddress!, bytes.count) == 0) {
                    return Int32(id)
                }
                slot = (slot + 1) & mask
            }
        }
    }

    /// Calls `body(length, paraphrase)` for every phrase of `words` starting at `start`, shortest
    /// first, each phrase's paraphrases in file order (the jar's `getReferencePaths`).
    func forEachPhrase(in words: [Int32], at start: Int, _ body: (Int, UnsafeBufferPointer<UInt32>) -> Void) {
        var node = 0
        var k = start
        while k < words.count {
            let word = words[k]
            guard word >= 0, let child = child(of: node, word: UInt32(word)) else { return }
            node = child
            for e in Int(nodeEmits[node])..<Int(nodeEmits[node + 1]) {
                let entry = Int(emits[e])
                let from = Int(paraphraseStarts[entry]), to = Int(paraphraseStarts[entry + 1])
                body(k - start + 1, UnsafeBufferPointer(start: paraphraseWords + from, count: to - from))
            }
            k += 1
        }
    }

    private func child(of node: Int, word: UInt32) -> Int? {
        var low = Int(nodeEdges[node]), high = Int(nodeEdges[node + 1])
        while low < high {
            let mid = (low + high) / 2
            let value = edgeWords[mid]
            if value == word { return Int(edgeChildren[mid]) }
            if value < word { low = mid + 1 } else { high = mid }
        }
        return nil
    }
}
