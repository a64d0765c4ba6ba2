import PythonFiles

extension MeshedMemoryModel {
    /// Reads and checks the tensors of a state dict for `MeshedMemoryModel.init`: presence, shape
    /// and finite values, each problem one error naming the checkpoint, the tensor and the fix.
    struct WeightReader {
        let tensors: [String: CheckpointTensor]
        let source: String

        /// The model's widths, as the first layers' tensors give them (and the head count).
        struct Sizes {
            var width: Int
            var attentionWidth: Int
            var feedForwardWidth: Int
            var memorySlots: Int
            var heads: Int
        }

        func tensor(_ name: String, _ shape: [Int]?, _ meaning: String) throws -> CheckpointTensor {
            guard let found = tensors[name] else {
                throw ModelFileError(
                    .missingTensor, file: source, object: name,
                    message: "has no tensor `\(name)` (\(meaning)); the checkpoint is incomplete or not a Meshed-Memory Transformer: use the state_dict train.py saved")
            }
            if let shape, found.shape != shape {
                throw ModelFileError(
                    .wrongShape, file: source, object: name,
                    message: "tensor `\(name)` has shape \(found.shape), expected \(shape) (\(meaning)); the checkpoint is damaged or mixes models")
            }
            if let index = found.values.firstIndex(where: { !$0.isFinite }) {
                throw ModelFileError(
                    .nonFiniteWeight, file: source, object: name,
                    message: "tensor `\(name)` holds \(found.values[index]) at flat index \(index); the checkpoint is damaged (training diverged or the file is corrupt)")
            }
            return found
        }

        func matrix(_ name: String, _ meaning: String) throws -> CheckpointTensor {
            let t = try tensor(name, nil, meaning)
            guard t.shape.count == 2, t.shape[0] > 0, t.shape[1] > 0 else {
                throw ModelFileError(.wrongShape, file: source, object: name, message: "tensor `\(name)` has shape \(t.shape), expected a matrix (\(meaning)); the checkpoint is damaged")
            }
            return t
        }

        func linear(_ prefix: String, inputs: Int, outputs: Int, bias: Bool = true) throws -> Linear {
            let w = try tensor("\(prefix).weight", [outputs, inputs], "[\(outputs), \(inputs)]")
            var b: [Float]?
            if bias { b = try tensor("\(prefix).bias", [outputs], "[\(outputs)]").values }
            return Linear(weight: w.values, bias: b, inputs: inputs, outputs: outputs)
        }

        /// The number of layers under `prefix`: numbered from 0 without gaps; a gap is a layer the
        /// checkpoint lost.
        func layerCount(_ prefix: String) throws -> Int {
            var n = 0
            while tensors.keys.contains(where: { $0.hasPrefix("\(prefix).\(n).") }) { n += 1 }
            let numbers = tensors.keys.compactMap { name -> Int? in
                guard name.hasPrefix("\(prefix).") else { return nil }
                return Int(name.dropFirst(prefix.count + 1).prefix { $0 != "." })
            }
            if let last = numbers.max(), last >= n {
                throw ModelFileError(
                    .missingTensor, file: source, object: "\(prefix).\(n)",
                    message: "has no tensors of layer `\(prefix).\(n)`, but has layer \(last); the checkpoint is incomplete: use the state_dict train.py saved")
            }
            return n
        }

        func norm(_ prefix: String, width d: Int) throws -> Norm {
            Norm(gain: try tensor("\(prefix).weight", [d], "LayerNorm gain, [d_model]").values, bias: try tensor("\(prefix).bias", [d], "LayerNorm bias, [d_model]").values)
        }

        func attention(_ prefix: String, _ s: Sizes) throws -> Attention {
            let (d, a) = (s.width, s.attentionWidth)
            return Attention(
                query: try linear("\(prefix).attention.fc_q", inputs: d, outputs: a), key: try linear("\(prefix).attention.fc_k", inputs: d, outputs: a),
                value: try linear("\(prefix).attention.fc_v", inputs: d, outputs: a), output: try linear("\(prefix).attention.fc_o", inputs: a, outputs: d),
                norm: try norm("\(prefix).layer_norm", width: d))
        }

        func feedForward(_ prefix: String, _ s: Sizes) throws -> FeedForward {
            FeedForward(
                inner: try linear("\(prefix).fc1", inputs: s.width, outputs: s.feedForwardWidth),
                outer: try linear("\(prefix).fc2", inputs: s.feedForwardWidth, outputs: s.width),
                norm: try norm("\(prefix).layer_norm", width: s.width))
        }

        /// Encoder layer `i`; its memory keys are scaled by sqrt(d_k) and its values by sqrt(m), as
        /// upstream's `ScaledDotProductAttentionMemory` multiplies them.
        func encoderLayer(_ i: Int, _ s: Sizes) throws -> EncoderLayer {
            let (a, m) = (s.attentionWidth, s.memorySlots)
            let scaleK = Float(Double(a / s.heads).squareRoot())
            let scaleM = Float(Double(m).squareRoot())
            let p = "encoder.layers.\(i)"
            return EncoderLayer(
                attention: try attention("\(p).mhatt", s),
                memoryKeys: try tensor("\(p).mhatt.attention.m_k", [1, m, a], "memory keys, [1, m, h*d_k]").values.map { $0 * scaleK },
                memoryValues: try tensor("\(p).mhatt.attention.m_v", [1, m, a], "memory values, [1, m, h*d_v]").values.map { $0 * scaleM },
                feedForward: try feedForward("\(p).pwff", s))
        }

        func decoderLayer(_ i: Int, _ s: Sizes) throws -> DecoderLayer {
            let p = "decoder.layers.\(i)"
            return DecoderLayer(
                selfAttention: try attention("\(p).self_att", s), encoderAttention: try attention("\(p).enc_att", s),
                gates: try (1...MeshedMemoryModel.levels).map { try linear("\(p).fc_alpha\($0)", inputs: 2 * s.width, outputs: s.width) },
                feedForward: try feedForward("\(p).pwff", s))
        }
    }
}
