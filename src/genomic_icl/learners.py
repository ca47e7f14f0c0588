"""Reference learners (docs/protocol.md §5), working on the bits of each trial.

- ``mode``: the most frequent output among the demonstrations, ties at random (the
  paper's baseline; it does not improve with n).
- ``oracle``: the Bayes-optimal program-induction learner with a uniform prior over the
  100 functions; meta_constant explains the demonstrations only when all their
  outputs are equal, with likelihood 1/256. It predicts the most probable query
  output, ties at random.

Tie-breaking draws derive from (seed, function, n, trial, learner) like every other
draw, so a prediction never depends on which other prompts are in the table.

Each learner also has a distribution over the 256 answers (:func:`answer_distributions`,
for the in-context loss; docs/protocol.md, "In-context loss"), whose argmax set is the
set its greedy answer is drawn from, so no tie-break enters a loss:

- ``oracle``: its exact posterior predictive, P(a) = sum of the weights of the
  explanations that map the query to a, over their total (weight 1 per consistent
  deterministic function, 1/256 for meta_constant when all outputs are equal).
- ``mode``: **(project choice)** the Krichevsky-Trofimov estimate from the demonstration
  outputs, P(a) = (count(a) + 1/2) / (n + 256/2): the predictive of a learner that takes
  the query output for a draw from an unknown distribution over the 256 outputs with a
  Dirichlet(1/2) prior, i.e. a smoothed frequency. It never gives an answer probability 0.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from genomic_icl import bits
from genomic_icl.functions import CONSTANT_FUNCTION, FUNCTION_NAMES, all_tables
from genomic_icl.prompts import name_key, trial_rng

if TYPE_CHECKING:  # imported where used: planning reads LEARNERS alone
    import numpy as np
    import pandas as pd

LEARNERS = ("mode", "oracle")
#: the Dirichlet pseudo-count of ``mode``'s answer distribution (Krichevsky-Trofimov)
MODE_PSEUDOCOUNT = 0.5


def _pick(candidates: np.ndarray, weights: np.ndarray, rng: np.random.Generator) -> int:
    import numpy as np

    best = np.flatnonzero(weights == weights.max())
    return int(candidates[best[rng.integers(len(best))]])


def mode_predict(demo_outputs: np.ndarray, rng: np.random.Generator) -> int:
    """The most frequent demonstration output, ties broken with ``rng``."""
    import numpy as np

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
    import numpy as np

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
    import numpy as np

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


def mode_distribution(demo_outputs: np.ndarray) -> np.ndarray:
    """``mode``'s answer distribution (256 probabilities): the demonstration outputs'
    frequencies smoothed with :data:`MODE_PSEUDOCOUNT` per answer (Krichevsky-Trofimov)."""
    import numpy as np

    counts = np.bincount(np.asarray(demo_outputs, np.int64), minlength=bits.N_SYMBOLS)
    smoothed = counts + MODE_PSEUDOCOUNT
    return smoothed / smoothed.sum()


def oracle_distribution(
    demo_inputs: np.ndarray, demo_outputs: np.ndarray, query: int
) -> np.ndarray:
    """The oracle's posterior predictive over the 256 answers (sums to 1; 0 for an
    answer no consistent explanation gives)."""
    import numpy as np

    values, weights = oracle_posterior(demo_inputs, demo_outputs, query)
    p = np.zeros(bits.N_SYMBOLS)
    p[values] = weights / weights.sum()
    return p


def answer_distributions(learner: str, prompts: pd.DataFrame) -> np.ndarray:
    """(rows, 256) answer probabilities of a reference learner for a prompt table
    (columns ``demo_inputs, demo_outputs, query``); deterministic, no seed."""
    import numpy as np

    if learner not in LEARNERS:
        raise ValueError(f"unknown reference learner {learner!r}; known: {', '.join(LEARNERS)}")
    out = np.empty((len(prompts), bits.N_SYMBOLS))
    rows = zip(prompts["demo_inputs"], prompts["demo_outputs"], prompts["query"], strict=True)
    for i, (xs, ys, q) in enumerate(rows):
        ys = np.asarray(ys, dtype=np.int64)
        if learner == "mode":
            out[i] = mode_distribution(ys)
        else:
            out[i] = oracle_distribution(np.asarray(xs, dtype=np.int64), ys, int(q))
    return out


def prefix_logprobs(answer_probs: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Per-position log-probabilities (rows, 8) of the targets under full answer
    distributions (rows, 256): log P(bit i of the target | target bits before i), the
    conditional of the distribution over the 256 answers (answer a's bits most
    significant first), so that a row sums to log P(target) - log(total mass)."""
    import numpy as np

    p = np.asarray(answer_probs, dtype=np.float64)
    target = np.asarray(target, dtype=np.int64)
    rows = np.arange(len(p))
    prefix_mass = np.empty((len(p), bits.N_BITS + 1))
    for i in range(bits.N_BITS + 1):
        blocks = p.reshape(len(p), 1 << i, bits.N_SYMBOLS >> i).sum(axis=2)
        prefix_mass[:, i] = blocks[rows, target >> (bits.N_BITS - i)]
    with np.errstate(divide="ignore", invalid="ignore"):
        log_mass = np.log(prefix_mass)
    return np.diff(log_mass, axis=1)
