import Testing
@testable import SwQuant

@Suite struct LlamaTypeRulesTests {
    /// llama.cpp's loader order: non-block tensors first, then by layer number (not by text), then name.
    @Test func tensorOrderIsByLayerThenName() {
        let names = ["blk.10.attn_q.weight", "output_norm.weight", "blk.2.ffn_up.weight", "blk.2.attn_k.weight", "token_embd.weight"]
        #expect(names.sorted(by: LlamaTypeRules.order)
            == ["output_norm.weight", "token_embd.weight", "blk.2.attn_k.weight", "blk.2.ffn_up.weight", "blk.10.attn_q.weight"])
        #expect(LlamaTypeRules.layer("blk.7x") == 7 && LlamaTypeRules.layer("blkx.7") == -1 && LlamaTypeRules.layer("blk.") == -1)
    }

    /// Q4_K_M on a 32-layer model with 4096-wide rows: Q6_K for the output and for the attn_v and ffn_down
    /// layers of `use_more_bits` (the first and last eighth and every third between), Q4_K elsewhere;
    /// norms and 1-D tensors untouched; rows of 576 fall back to Q5_0.
    @Test func q4KMMixture() {
        let model = LlamaTypeRules.Model(metadata: [("general.architecture", .string("llama")), ("llama.block_count", .uint32(32)),
                                                    ("llama.attention.head_count", .uint32(32)), ("llama.attention.head_count_kv", .uint32(8))])
        let names = (0..<32).flatMap { ["blk.\($0).attn_v.weight", "blk.\($0).ffn_down.weight"] } + ["output.weight"]
        var rules = LlamaTypeRules(preset: .q4_K_M, model: model, names: names)
        let moreBits: Set<Int> = [0, 1, 2, 3, 6, 9, 12, 15, 18, 21, 24, 27, 28, 29, 30, 31]
        for layer in 0..<32 {
            let expected: GGMLType = moreBits.contains(layer) ? .q6_K : .q4_K
            #expect(rules.type(name: "blk.\(layer).attn_v.weight", dims: [4096, 1024], source: .f32) == expected)
            #expect(rules.type(name: "blk.\(layer).ffn_down.weight", dims: [14336, 4096], source: .f32) == expected)
        }
        #expect(rules.type(name: "output.weight", dims: [4096, 32000], source: .f32) == .q6_K)
        #expect(rules.type(name: "blk.0.attn_norm.weight", dims: [4096], source: .f32) == .f32)
        #expect(rules.type(name: "blk.0.ffn_up.weight", dims: [576, 1536], source: .f32) == .q5_0)
        #expect(rules.type(name: "blk.0.ffn_up.weight", dims: [100, 7], source: .f32) == .f16)
    }
}
