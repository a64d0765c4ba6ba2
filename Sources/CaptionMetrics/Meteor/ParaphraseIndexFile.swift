import CDeflate
import Foundation

/// The binary form of the paraphrase table that `ParaphraseTable` maps: built once from
/// `paraphrase-en.gz` and kept in nightcap's cache under the `.gz`'s SHA-256.
///
/// Layout (little-endian 32-bit words after a 128-byte header, each section 4-byte aligned):
/// string offsets (vocabulary + 1) and the words' UTF-8 bytes; an open-addressing hash table of
/// word ids + 1; per trie node, its first emit and first edge (node count + 1 each); the edges'
/// words and children, sorted by word within a node; the emits (entry numbers, file order within
/// a node); per entry, the start of its paraphrase (entries + 1) and the paraphrases' word ids.
enum ParaphraseIndexFile {
    static let magic: [UInt8] = Array("NCPARA01".utf8)
    static let headerSize = 128

    struct Header {
        var entries: UInt32
        var vocabulary: UInt32
        var stringBytes: UInt32
        var slotCount: UInt32
        var nodes: UInt32
        var edges: UInt32
        var paraphraseWordCount: UInt32
        /// SHA-256 (hex) of the `.gz` it was built from.
        var sourceDigest: String

        struct Layout {
            var stringOffsets = 0, strings = 0, slots = 0, nodeEmits = 0, nodeEdges = 0, edgeWords = 0, edgeChildren = 0
            var emits = 0, paraphraseStarts = 0, paraphraseWords = 0, end = 0
        }

        var layout: Layout {
            var l = Layout()
            var at = ParaphraseIndexFile.headerSize
            func take(_ bytes: Int) -> Int {
                let start = at
                at += (bytes + 3) & ~3
                return start
            }
            l.stringOffsets = take(4 * (Int(vocabulary) + 1))
            l.strings = take(Int(stringBytes))
            l.slots = take(4 * Int(slotCount))
            l.nodeEmits = take(4 * (Int(nodes) + 1))
            l.nodeEdges = take(4 * (Int(nodes) + 1))
            l.edgeWords = take(4 * Int(edges))
            l.edgeChildren = take(4 * Int(edges))
            l.emits = take(4 * Int(entries))
            l.paraphraseStarts = take(4 * (Int(entries) + 1))
            l.paraphraseWords = take(4 * Int(paraphraseWordCount))
            l.end = at
            return l
        }

        func encoded() -> [UInt8] {
            var bytes = ParaphraseIndexFile.magic
            for value in [entries, vocabulary, stringBytes, slotCount, nodes, edges, paraphraseWordCount] {
                withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
            }
            bytes.append(contentsOf: Array(sourceDigest.utf8).prefix(64))
            bytes.append(contentsOf: [UInt8](repeating: 0, count: ParaphraseIndexFile.headerSize - bytes.count))
            return bytes
        }

        init(entries: UInt32, vocabulary: UInt32, stringBytes: UInt32, slotCount: UInt32, nodes: UInt32, edges: UInt32,
             paraphraseWordCount: UInt32, sourceDigest: String) {
            self.entries = entries
            self.vocabulary = vocabulary
            self.stringBytes = stringBytes
            self.slotCount = slotCount
            self.nodes = nodes
            self.edges = edges
            self.paraphraseWordCount = paraphraseWordCount
            self.sourceDigest = sourceDigest
        }

        init(reading base: UnsafeRawPointer, size: Int, path: String) throws(MeteorDataProblem) {
            let magic = UnsafeRawBufferPointer(start: base, count: 8)
            guard magic.elementsEqual(ParaphraseIndexFile.magic) else { throw .damagedIndex(path, "it does not start with nightcap's index signature") }
            func word(_ k: Int) -> UInt32 { UInt32(littleEndian: base.loadUnaligned(fromByteOffset: 8 + 4 * k, as: UInt32.self)) }
            entries = word(0)
            vocabulary = word(1)
            stringBytes = word(2)
            slotCount = word(3)
            nodes = word(4)
            edges = word(5)
            paraphraseWordCount = word(6)
            sourceDigest = String(decoding: UnsafeRawBufferPointer(start: base + 36, count: 64), as: UTF8.self)
            guard slotCount > 0, slotCount & (slotCount - 1) == 0, slotCount > vocabulary else {
                throw .damagedIndex(path, "its hash table size \(slotCount) is not a power of two above the vocabulary")
            }
            guard layout.end == size else { throw .damagedIndex(path, "it is \(size) bytes where its header says \(layout.end)") }
        }
    }

    /// FNV-1a over the word's UTF-8 bytes.
    static func hash(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            h ^= UInt64(byte)
            h = h &* 0x100_0000_01b3
        }
        return h
    }

    // MARK: Building

    /// Decompresses a whole gzip file (one member), checking its CRC and length.
    static func gunzip(_ compressed: Data, path: String) throws(MeteorDataProblem) -> [UInt8] {
        let count = compressed.count
        guard count >= 18, compressed[compressed.startIndex] == 0x1f, compressed[compressed.startIndex + 1] == 0x8b else {
            throw .damaged(path, "it is not a gzip file")
        }
        let trailerSize = compressed.withUnsafeBytes { Int(UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: count - 4, as: UInt32.self))) }
        // A deflate stream expands at most 1032 times; a larger stated size means a damaged trailer.
        guard trailerSize <= count * 1032 else { throw .damaged(path, "its gzip trailer is damaged (the file is truncated)") }
        var out = [UInt8](repeating: 0, count: trailerSize)
        guard let decompressor = libdeflate_alloc_decompressor() else { throw .damaged(path, "out of memory to decompress it") }
        defer { libdeflate_free_decompressor(decompressor) }
        var consumed = 0, produced = 0
        let result = compressed.withUnsafeBytes { input in
            out.withUnsafeMutableBytes { output in
                libdeflate_gzip_decompress_ex(decompressor, input.baseAddress, count, output.baseAddress, trailerSize, &consumed, &produced)
            }
        }
        guard result == LIBDEFLATE_SUCCESS, produced == trailerSize else {
            throw .damaged(path, "its gzip data is damaged or truncated (libdeflate result \(result.rawValue))")
        }
        guard consumed == count else { throw .damaged(path, "it has \(count - consumed) bytes after its gzip data") }
        return out
    }

    /// Builds the index bytes from the decompressed table text.
    static func build(text: [UInt8], sourceDigest: String, path: String) throws(MeteorDataProblem) -> [UInt8] {
        let table = try parse(text: text, path: path)
        let vocabulary = table.vocabulary, edges = table.edges, nodeCount = table.nodeCount, terminal = table.terminal
        let paraphraseStarts = table.paraphraseStarts, paraphraseWords = table.paraphraseWords

        // Emits: entries grouped by their phrase's node, in file order within a node.
        let nodes = Int(nodeCount)
        var nodeEmits = [UInt32](repeating: 0, count: nodes + 1)
        for node in terminal { nodeEmits[Int(node) + 1] += 1 }
        for k in 0..<nodes { nodeEmits[k + 1] += nodeEmits[k] }
        var emits = [UInt32](repeating: 0, count: terminal.count)
        var fill = nodeEmits
        for (entry, node) in terminal.enumerated() {
            emits[Int(fill[Int(node)])] = UInt32(entry)
            fill[Int(node)] += 1
        }
        // Edges sorted by (parent, word).
        let sortedKeys = edges.keys.sorted()
        var nodeEdges = [UInt32](repeating: 0, count: nodes + 1)
        var edgeWords = [UInt32](), edgeChildren = [UInt32]()
        edgeWords.reserveCapacity(sortedKeys.count)
        edgeChildren.reserveCapacity(sortedKeys.count)
        for key in sortedKeys {
            nodeEdges[Int(key >> 32) + 1] += 1
            edgeWords.append(UInt32(truncatingIfNeeded: key))
            edgeChildren.append(edges[key]!)
        }
        for k in 0..<nodes { nodeEdges[k + 1] += nodeEdges[k] }

        let header = Header(
            entries: UInt32(terminal.count), vocabulary: UInt32(vocabulary.count), stringBytes: UInt32(vocabulary.bytes.count),
            slotCount: UInt32(vocabulary.slots.count), nodes: nodeCount, edges: UInt32(edgeWords.count),
            paraphraseWordCount: UInt32(paraphraseWords.count), sourceDigest: sourceDigest)
        var out = header.encoded()
        out.reserveCapacity(header.layout.end)
        func append(_ words: [UInt32]) {
            words.withUnsafeBytes { out.append(contentsOf: $0) }  // little-endian hosts only (x86-64, arm64)
        }
        func pad() { while out.count % 4 != 0 { out.append(0) } }
        append(vocabulary.offsets)
        out.append(contentsOf: vocabulary.bytes)
        pad()
        append(vocabulary.slots)
        append(nodeEmits)
        append(nodeEdges)
        append(edgeWords)
        append(edgeChildren)
        append(emits)
        append(paraphraseStarts)
        append(paraphraseWords)
        precondition(out.count == header.layout.end, "paraphrase index layout mismatch")
        return out
    }

    /// The phrase trie and paraphrases read from the table text, in file order.
    private struct ParsedTable {
        var vocabulary: VocabularyBuilder
        var edges: [UInt64: UInt32]  // parent << 32 | word -> child
        var nodeCount: UInt32
        var terminal: [UInt32]
        var paraphraseStarts: [UInt32]
        var paraphraseWords: [UInt32]
    }

    /// Reads the table text's three-line entries into the phrase trie and the paraphrase word lists.
    private static func parse(text: [UInt8], path: String) throws(MeteorDataProblem) -> ParsedTable {
        var vocabulary = VocabularyBuilder()
        var edges: [UInt64: UInt32] = [:]  // parent << 32 | word -> child
        var nodeCount: UInt32 = 1
        var terminal: [UInt32] = []
        var paraphraseStarts: [UInt32] = [0]
        var paraphraseWords: [UInt32] = []
        terminal.reserveCapacity(6_000_000)
        paraphraseStarts.reserveCapacity(6_000_000)
        edges.reserveCapacity(8_000_000)

        try text.withUnsafeBufferPointer { (bytes: UnsafeBufferPointer<UInt8>) throws(MeteorDataProblem) in
            var position = 0
            var lineNumber = 0
            /// The next line (without its end), as `BufferedReader.readLine` splits them.
            func nextLine() -> Range<Int>? {
                guard position < bytes.count else { return nil }
                let start = position
                while position < bytes.count && bytes[position] != 10 && bytes[position] != 13 { position += 1 }
                let end = position
                if position < bytes.count {
                    if bytes[position] == 13 && position + 1 < bytes.count && bytes[position + 1] == 10 { position += 1 }
                    position += 1
                }
                lineNumber += 1
                return start..<end
            }
            func forEachToken(_ line: Range<Int>, _ body: (UnsafeBufferPointer<UInt8>) -> Void) {
                var k = line.lowerBound
                while k < line.upperBound {
                    while k < line.upperBound && isDelimiter(bytes[k]) { k += 1 }
                    let start = k
                    while k < line.upperBound && !isDelimiter(bytes[k]) { k += 1 }
                    if k > start { body(UnsafeBufferPointer(rebasing: bytes[start..<k])) }
                }
            }
            while nextLine() != nil {
                let entryStart = lineNumber
                guard let phrase = nextLine(), let paraphrase = nextLine() else {
                    throw .damaged(path, "it ends inside the entry that starts at line \(entryStart) (an entry is three lines): the file is truncated")
                }
                var node: UInt32 = 0
                forEachToken(phrase) { token in
                    let word = vocabulary.id(token)
                    let key = UInt64(node) << 32 | UInt64(word)
                    if let child = edges[key] {
                        node = child
                    } else {
                        edges[key] = nodeCount
                        node = nodeCount
                        nodeCount += 1
                    }
                }
                terminal.append(node)
                forEachToken(paraphrase) { token in paraphraseWords.append(vocabulary.id(token)) }
                paraphraseStarts.append(UInt32(paraphraseWords.count))
            }
        }
        guard !terminal.isEmpty else { throw .damaged(path, "it has no entries") }
        return ParsedTable(
            vocabulary: vocabulary, edges: edges, nodeCount: nodeCount, terminal: terminal,
            paraphraseStarts: paraphraseStarts, paraphraseWords: paraphraseWords)
    }

    private static func isDelimiter(_ byte: UInt8) -> Bool { byte == 32 || byte == 9 || byte == 10 || byte == 13 || byte == 12 }

    /// Word -> id, ids in order of first appearance; the hash table is the one written to the file.
    private struct VocabularyBuilder {
        var offsets: [UInt32] = [0]
        var bytes: [UInt8] = []
        var slots = [UInt32](repeating: 0, count: 1 << 20)
        var count: Int { offsets.count - 1 }

        mutating func id(_ word: UnsafeBufferPointer<UInt8>) -> UInt32 {
            var mask = slots.count - 1
            var slot = Int(truncatingIfNeeded: ParaphraseIndexFile.hash(word)) & mask
            while true {
                let entry = slots[slot]
                if entry == 0 { break }
                let id = Int(entry - 1)
                let start = Int(offsets[id]), end = Int(offsets[id + 1])
                if end - start == word.count && bytes[start..<end].elementsEqual(word) { return UInt32(id) }
                slot = (slot + 1) & mask
            }
            let id = UInt32(count)
            bytes.append(contentsOf: word)
            offsets.append(UInt32(bytes.count))
            slots[slot] = id + 1
            if count * 2 > slots.count {
                slots = [UInt32](repeating: 0, count: slots.count * 2)
                mask = slots.count - 1
                for k in 0..<count {
                    let start = Int(offsets[k]), end = Int(offsets[k + 1])
                    var s = bytes.withUnsafeBufferPointer { Int(truncatingIfNeeded: ParaphraseIndexFile.hash(UnsafeBufferPointer(rebasing: $0[start..<end]))) } & mask
                    while slots[s] != 0 { s = (s + 1) & mask }
                    slots[s] = UInt32(k) + 1
                }
            }
            return id
        }
    }
}
