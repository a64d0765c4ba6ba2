import HDF5

/// Reads a model file's tensors and attributes and checks them against the contract of
/// schemas/model-format.md, in the order that gives the most useful first error: model type and
/// version, presence of every tensor, shapes, vocabulary, special tokens, then values.
struct ModelFileReader {
    let path: String
    let activation: AttentionActivation
    let tokens: SpecialTokens
    let vocabulary: [String]
    let sizes: ModelSizes
    let hasContextGate: Bool
    let storedTypes: [String]
    /// Every contract tensor as float32, flat row-major.
    let tensors: [String: [Float]]

    /// A tensor's shape in the symbolic sizes; `E+D` and `4H` are sums and multiples.
    enum Extent {
        case one, V, E, D, H, A, fourH, EplusD

        var label: String {
            switch self {
            case .one: return "1"
            case .V: return "V"
            case .E: return "E"
            case .D: return "D"
            case .H: return "H"
            case .A: return "A"
            case .fourH: return "4H"
            case .EplusD: return "E+D"
            }
        }

        func value(_ s: ModelSizes) -> Int {
            switch self {
            case .one: return 1
            case .V: return s.vocabulary
            case .E: return s.embedding
            case .D: return s.feature
            case .H: return s.hidden
            case .A: return s.attention
            case .fourH: return 4 * s.hidden
            case .EplusD: return s.embedding + s.feature
            }
        }
    }

    static let contract: [(name: String, shape: [Extent])] = [
        ("embedding.weight", [.V, .E]),
        ("attention.image_proj.weight", [.A, .D]),
        ("attention.image_proj.bias", [.A]),
        ("attention.text_proj.weight", [.A, .H]),
        ("attention.text_proj.bias", [.A]),
        ("attention.attn_weight.weight", [.one, .A]),
        ("attention.attn_weight.bias", [.one]),
        ("init_h.weight", [.H, .D]),
        ("init_h.bias", [.H]),
        ("init_c.weight", [.H, .D]),
        ("init_c.bias", [.H]),
        ("f_beta.weight", [.D, .H]),
        ("f_beta.bias", [.D]),
        ("lstm.weight_ih", [.fourH, .EplusD]),
        ("lstm.weight_hh", [.fourH, .H]),
        ("lstm.bias_ih", [.fourH]),
        ("lstm.bias_hh", [.fourH]),
        ("fc.weight", [.V, .H]),
        ("fc.bias", [.V]),
    ]
    static let optional: Set<String> = ["f_beta.weight", "f_beta.bias"]
    static let reexport = "re-export the model with tools/export_pytorch.py"

    init(file: HDF5File, path: String) throws {
        self.path = path
        do {
            let root = try file.root
            let check = Check(path: path)
            activation = try check.header(root)
            let present = try check.presence(root)
            hasContextGate = Self.optional.allSatisfy { present.contains($0) }
            let (datasets, sizes, types) = try check.shapes(root, present: present)
            self.sizes = sizes
            storedTypes = types
            vocabulary = try check.vocabulary(root, sizes: sizes)
            tokens = try check.specialTokens(root, sizes: sizes)
            tensors = try check.values(datasets)
        } catch let error as HDF5Error {
            throw ModelFileError(.unreadable, file: path, object: error.object, message: error.detail)
        }
    }

    /// The checks of a model file, in order; each failure is a `ModelFileError` naming the file, the
    /// dataset or attribute and the fix.
    private struct Check {
        let path: String

        func fail(_ kind: ModelFileError.Kind, _ object: String?, _ message: String) -> ModelFileError {
            ModelFileError(kind, file: path, object: object, message: message)
        }

        /// Model type, format version and the attention activation.
        func header(_ root: HDF5Group) throws -> AttentionActivation {
            // Model type and version.
            let modelType: String?
            do { modelType = try root.stringAttribute("model_type") } catch let error as HDF5Error where error.kind != .wrongType {
                throw error  // a damaged file, not a wrong type: its own message
            } catch {
                throw fail(.wrongModelType, "/@model_type", "the root attribute model_type is not a string; expected \"show-attend-tell\"")
            }
            guard let modelType else {
                throw fail(.wrongModelType, "/@model_type",
                    "has no root attribute model_type; is this a nightcap model file? Expected model_type = \"show-attend-tell\"; \(ModelFileReader.reexport)")
            }
            guard modelType == "show-attend-tell" else {
                throw fail(.wrongModelType, "/@model_type",
                    "model_type is \"\(modelType)\", but nightcap decodes only \"show-attend-tell\" models")
            }
            let version = try? root.integerAttribute("format_version")
            guard let version, version == 1 else {
                let found = version.map { "format_version \($0)" } ?? "no integer root attribute format_version"
                throw fail(.unsupportedFormatVersion, "/@format_version",
                    "has \(found), but this nightcap reads format_version 1; \(ModelFileReader.reexport)")
            }
            let activationName: String?
            do { activationName = try root.stringAttribute("attention_activation") } catch {
                throw fail(.invalidAttribute, "/@attention_activation", "the root attribute attention_activation is not a string; expected \"tanh\" or \"relu\"")
            }
            // Files written before the attribute existed used tanh, the paper's choice.
            guard let activation = AttentionActivation(rawValue: activationName ?? "tanh") else {
                throw fail(.invalidAttribute, "/@attention_activation",
                    "attention_activation is \"\(activationName ?? "")\"; expected \"tanh\" or \"relu\"")
            }
            return activation
        }

        /// The contract tensors present; every required one must be, and the gate's two or neither.
        func presence(_ root: HDF5Group) throws -> Set<String> {
            // Presence.
            let present = Set(ModelFileReader.contract.map(\.name).filter { root.contains($0) })
            for (name, shape) in ModelFileReader.contract where !ModelFileReader.optional.contains(name) && !present.contains(name) {
                throw fail(.missingTensor, "/\(name)",
                    "the dataset \(name) (shape [\(shape.map(\.label).joined(separator: ", "))]) is missing; \(ModelFileReader.reexport)")
            }
            let gateParts = ModelFileReader.optional.filter { present.contains($0) }
            if gateParts.count == 1 {
                let has = gateParts.first!
                let lacks = has == "f_beta.weight" ? "f_beta.bias" : "f_beta.weight"
                throw fail(.missingTensor, "/\(lacks)",
                    "has \(has) but not \(lacks); the context gate needs both datasets or neither; \(ModelFileReader.reexport)")
            }
            return present
        }

        /// Element types, ranks, then every shape against the sizes inferred from embedding,
        /// image_proj and init_h.
        func shapes(_ root: HDF5Group, present: Set<String>) throws -> ([String: HDF5Dataset], ModelSizes, [String]) {
            // Shapes: ranks first, then sizes inferred from embedding, image_proj and init_h.
            var datasets: [String: HDF5Dataset] = [:]
            var types = Set<String>()
            for (name, shape) in ModelFileReader.contract where present.contains(name) {
                let dataset = try root.dataset(name)
                guard case .float(let bits) = dataset.elementType, bits == 16 || bits == 32 else {
                    throw fail(.wrongElementType, "/\(name)",
                        "the dataset \(name) holds \(dataset.elementType); model tensors must be float32 or float16; \(ModelFileReader.reexport)")
                }
                types.insert("float\(bits)")
                guard dataset.shape.count == shape.count else {
                    throw fail(.wrongShape, "/\(name)",
                        "\(name) has shape \(dataset.shape), expected rank \(shape.count): [\(shape.map(\.label).joined(separator: ", "))]; \(ModelFileReader.reexport)")
                }
                datasets[name] = dataset
            }
            let sizes = ModelSizes(
                vocabulary: datasets["embedding.weight"]!.shape[0], embedding: datasets["embedding.weight"]!.shape[1],
                feature: datasets["attention.image_proj.weight"]!.shape[1], hidden: datasets["init_h.weight"]!.shape[0],
                attention: datasets["attention.image_proj.weight"]!.shape[0])
            for (name, shape) in ModelFileReader.contract {
                guard let dataset = datasets[name] else { continue }
                let expected = shape.map { $0.value(sizes) }
                if dataset.shape != expected {
                    let labels = zip(shape, expected).map { $0 == .one ? "1" : "\($0.label)=\($1)" }
                    throw fail(.wrongShape, "/\(name)",
                        "\(name) has shape \(dataset.shape), expected [\(labels.joined(separator: ", "))] "
                            + "(sizes from embedding.weight, attention.image_proj.weight and init_h.weight); \(ModelFileReader.reexport)")
                }
            }
            guard sizes.vocabulary > 0, sizes.embedding > 0, sizes.feature > 0, sizes.hidden > 0, sizes.attention > 0 else {
                throw fail(.wrongShape, nil, "has an empty dimension (\(sizes)); \(ModelFileReader.reexport)")
            }
            return (datasets, sizes, types.sorted().reversed())
        }

        /// `vocab`: V strings, one per token id.
        func vocabulary(_ root: HDF5Group, sizes: ModelSizes) throws -> [String] {
            // Vocabulary.
            guard root.contains("vocab") else {
                throw fail(.missingTensor, "/vocab", "the dataset vocab (\(sizes.vocabulary) UTF-8 strings, one per token id) is missing; \(ModelFileReader.reexport)")
            }
            let vocabSet = try root.dataset("vocab")
            guard vocabSet.elementType.isString, vocabSet.shape.count == 1 else {
                throw fail(.wrongElementType, "/vocab",
                    "vocab must be a one-dimensional string dataset, found \(vocabSet.elementType) of shape \(vocabSet.shape); \(ModelFileReader.reexport)")
            }
            let vocabulary = try vocabSet.readStrings()
            guard vocabulary.count == sizes.vocabulary else {
                throw fail(.vocabularyMismatch, "/vocab",
                    "vocab holds \(vocabulary.count) words, but fc.weight has \(sizes.vocabulary) rows (V=\(sizes.vocabulary)); "
                        + "the vocabulary must be the one the model was trained with; \(ModelFileReader.reexport)")
            }
            return vocabulary
        }

        /// The four special token ids, each inside the vocabulary.
        func specialTokens(_ root: HDF5Group, sizes: ModelSizes) throws -> SpecialTokens {
            // Special tokens.
            var ids: [Int] = []
            for name in ["pad_token", "start_token", "end_token", "unk_token"] {
                let value: Int64?
                do { value = try root.integerAttribute(name) } catch {
                    throw fail(.invalidAttribute, "/@\(name)", "the root attribute \(name) is not an integer token id")
                }
                guard let value else {
                    throw fail(.missingAttribute, "/@\(name)", "has no root attribute \(name) (an integer token id); \(ModelFileReader.reexport)")
                }
                guard value >= 0, value < Int64(sizes.vocabulary) else {
                    throw fail(.tokenOutOfRange, "/@\(name)",
                        "\(name) = \(value) lies outside the vocabulary (ids 0...\(sizes.vocabulary - 1)); "
                            + "set it to the id of that token in vocab; \(ModelFileReader.reexport)")
                }
                ids.append(Int(value))
            }
            return SpecialTokens(pad: ids[0], start: ids[1], end: ids[2], unknown: ids[3])
        }

        /// Every contract tensor as float32, each value finite.
        func values(_ datasets: [String: HDF5Dataset]) throws -> [String: [Float]] {
            // Values.
            var tensors: [String: [Float]] = [:]
            for (name, _) in ModelFileReader.contract {
                guard let dataset = datasets[name] else { continue }
                let values = try dataset.readFloats()
                if let index = values.firstIndex(where: { !$0.isFinite }) {
                    var position: [Int] = []
                    var rest = index
                    for extent in dataset.shape.reversed() {
                        position.append(rest % extent)
                        rest /= extent
                    }
                    let what = values[index].isNaN ? "NaN" : (values[index] > 0 ? "+infinity" : "-infinity")
                    throw fail(.nonFiniteWeight, "/\(name)",
                        "\(name) holds \(what) at index \(Array(position.reversed())) (flat index \(index)); "
                            + "the checkpoint is damaged or training diverged: export a checkpoint with finite weights")
                }
                tensors[name] = values
            }
            return tensors
        }
    }
}
