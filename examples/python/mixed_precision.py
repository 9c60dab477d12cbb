"""Mixed precision for smollm2_ptq.py's recipes: bits per block and kind of linear layer allocated by
measured sensitivity, and the tied embedding split in two by how much each token matters.

- Sensitivity: per block and unit (UNITS), the mean KL divergence from float on calibration text with
  only that unit quantized to 3 bits in groups of 64, everything else float; and per configuration
  (CONFIGS), the KL with every linear layer at that configuration, relative to 3 bits in groups of 64.
- Allocation: a unit at a configuration is modelled to cost its 3-bit KL times the configuration's
  ratio, and units add up. From the cheapest configuration everywhere, the upgrade with the most KL saved
  per bit is taken until the next would pass the budget (`allocate`).
"""

from __future__ import annotations

import numpy as np

import swquant

# Units of allocation within a block: layers that share one configuration.
UNITS = {"gate+up": ("ffn_gate", "ffn_up"), "down": ("ffn_down",), "q+k+output": ("attn_q", "attn_k", "attn_output"),
         "v": ("attn_v",)}
# (bits, group size), cheapest first.
CONFIGS = [(3, 128), (3, 64), (4, 128), (4, 64), (4, 32), (5, 64), (6, 64), (8, 64)]


def allocate(unit_kl: dict, unit_bits: dict, ratios: dict, budget_bits: float) -> dict:
    """Greedy allocation: {unit: config} whose modelled KL, the sum of unit_kl[u] * ratios[config], is low
    for at most `budget_bits` bits in all, unit_bits[u][config] being a unit's size at a configuration
    (codes and group parameters, as stored)."""
    choice = dict.fromkeys(unit_kl, 0)
    used = sum(unit_bits[u][CONFIGS[0]] for u in unit_kl)
    while True:
        best = None
        for u, i in choice.items():
            for j in range(i + 1, len(CONFIGS)):
                saved = unit_kl[u] * (ratios[CONFIGS[i]] - ratios[CONFIGS[j]])
                cost = unit_bits[u][CONFIGS[j]] - unit_bits[u][CONFIGS[i]]
                if cost > 0 and (best is None or saved / cost > best[0]):
                    best = (saved / cost, u, j, cost)
        if best is None or used + best[3] > budget_bits:
            return {u: CONFIGS[i] for u, i in choice.items()}
        _, u, j, cost = best
        choice[u], used = j, used + cost


def format_table(allocation: dict, blocks: int) -> str:
    """One line per block: the block index, then each unit's config as bits/group (parse_table's input)."""
    header = "block " + " ".join(f"{u:>10}" for u in UNITS)
    lines = [f"{b:>5} " + " ".join(f"{'%d/%d' % allocation[(b, u)]:>10}" for u in UNITS) for b in range(blocks)]
    return "\n".join([header, *lines])


def parse_table(table: str) -> dict[tuple[int, str], tuple[int, int]]:
    """{(block, kind of layer): (bits, group size)} from format_table's text."""
    configs = {}
    for line in table.strip().splitlines()[1:]:
        block, *cells = line.split()
        for unit, cell in zip(UNITS, cells):
            bits, group = map(int, cell.split("/"))
            configs.update({(int(block), kind): (bits, group) for kind in UNITS[unit]})
    return configs


def log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


class TokenUsage:
    """How much each token matters on the calibration text: its share of the input tokens plus its mean
    predicted probability (the float model's). Both sum to 1 over the vocabulary."""

    def __init__(self, vocabulary: int) -> None:
        self.inputs, self.predicted = np.zeros(vocabulary), np.zeros(vocabulary)
        self.positions = 0

    def add_tokens(self, ids: list[int]) -> None:
        np.add.at(self.inputs, np.array(ids), 1)

    def add_logits(self, logits: np.ndarray) -> None:
        self.predicted += np.exp(log_softmax(logits.astype(np.float64))).sum(axis=0)
        self.positions += len(logits)

    @property
    def importance(self) -> np.ndarray:
        return self.inputs / self.inputs.sum() + self.predicted / self.positions


class SplitEmbedding:
    """The tied embedding quantized in two parts by row: the `top` rows of the most important tokens
    (TokenUsage) by one quantizer, the rest by another. Rows keep their order within each part, so a
    mask of one bit per row is all that records the split (counted in nbytes)."""

    def __init__(self, w: np.ndarray, stats, importance: np.ndarray, top: int, important, rest) -> None:
        mask = np.zeros(len(w), bool)
        mask[np.argsort(-importance, kind="stable")[:top]] = True
        self.shape = w.shape
        self.parts = [(rows, quantize(np.ascontiguousarray(w[rows]), stats)[0])
                      for rows, quantize in ((np.flatnonzero(mask), important), (np.flatnonzero(~mask), rest))]
        self.nbytes = sum(q.nbytes for _, q in self.parts) + (len(w) + 7) // 8

    def dequantize(self) -> np.ndarray:
        out = np.empty(self.shape, np.float32)
        for rows, q in self.parts:
            out[rows] = q.dequantize()
        return out

    def matmul(self, x: np.ndarray) -> np.ndarray:
        out = np.empty((len(x), self.shape[0]), np.float32)
        for rows, q in self.parts:
            out[:, rows] = swquant.matmul(x, q, path="weight_only")
        return out
