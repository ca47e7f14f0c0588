"""Reference learners (docs/protocol.md §5), working on the bits of each trial.

- ``mode``: the most frequent output among the demonstrations, ties at random (the
  paper's baseline; it does not improve with n).
- ``oracle``: the Bayes-optimal program-induction learner with a uniform prior over the
  100 functions; meta_constant explains the demonstrations only when all their
  outputs are equal, with likelihood 1/256. It predicts the most probable query
  output, ties at random.

Tie-breaking draws derive from (seed, function, n, trial, learner) like every other
draw, so a prediction never depends on which other prompts are in the table.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd

from genomic_icl import bits
from genomic_icl.functions import CONSTANT_FUNCTION, FUNCTION_NAMES, all_tables
from genomic_icl.prompts import name_key, trial_rng

LEARNERS = ("mode", "oracle")


def _pick(candidates: np.ndarray, weights: np.ndarray, rng: np.random.Generator) -> int:
    best = np.flatnonzero(weights == weights.max())
    return int(candidates[best[rng.integers(len(best))]])


def mode_predict(demo_outputs: np.ndarray, rng: np.random.Generator) -> int:
    """The most frequent demonstration output, ties broken with ``rng``."""
    values, counts = np.unique(demo_outputs, return_counts=True)
    return _pick(values, counts, rng)


@cache
def _deterministic_tables() -> np.ndarray:
    names = tuple(n for n in FUNCTION_NAMES if n != CONSTANT_FUNCTION)
    return all_tables(names)


def oracle_posterior(
    demo_inputs: np.ndarray, demo_outputs: np.ndarray, query: int
) -> tuple[np.ndarray, np.ndarray]:
    """Candidate query outputs and their (unnormalised) posterior weights."""
    tables = _deterministic_tables()
    consistent = (tables[:, demo_inputs] == demo_outputs).all(axis=1)
    outputs = tables[consistent, query]
    weights = np.ones(len(outputs))
    if (demo_outputs == demo_outputs[0]).all():
        outputs = np.append(outputs, demo_outputs[0])
        weights = np.append(weights, 1.0 / bits.N_SYMBOLS)
    if len(outputs) == 0:  # nothing in the family explains the data: a uniform guess
        return bits.ALL_INPUTS, np.ones(bits.N_SYMBOLS)
    values, inverse = np.unique(outputs, return_inverse=True)
    return values, np.bincount(inverse, weights=weights)


def oracle_predict(
    demo_inputs: np.ndarray, demo_outputs: np.ndarray, query: int, rng: np.random.Generator
) -> int:
    """The maximum a-posteriori query output, ties broken with ``rng``."""
    values, weights = oracle_posterior(demo_inputs, demo_outputs, query)
    return _pick(values, weights, rng)


def predict_bits(learner: str, prompts: pd.DataFrame, seed: int) -> np.ndarray:
    """Predictions (ints) of a reference learner for every row of a prompt table."""
    if learner not in LEARNERS:
        raise ValueError(f"unknown reference learner {learner!r}; known: {', '.join(LEARNERS)}")
    out = np.empty(len(prompts), dtype=np.int64)
    rows = zip(
        prompts["function"],
        prompts["n_shots"],
        prompts["trial"],
        prompts["demo_inputs"],
        prompts["demo_outputs"],
        prompts["query"],
        strict=True,
    )
    for i, (function, n, trial, xs, ys, q) in enumerate(rows):
        rng = trial_rng(seed, function, n, trial, name_key("learner:" + learner))
        xs, ys = np.asarray(xs, dtype=np.int64), np.asarray(ys, dtype=np.int64)
        if learner == "mode":
            out[i] = mode_predict(ys, rng)
        else:
            out[i] = oracle_predict(xs, ys, int(q), rng)
    return out
