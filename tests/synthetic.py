"""Synthetic scored results with a known truth, for the statistics and figure tests
and for ``benchmarks/stats.py`` (which puts this folder on ``sys.path``).

Test data, not product code: it lives beside the tests, outside ``genomic_icl``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from genomic_icl.functions import FUNCTION_NAMES
from genomic_icl.prompts import GENOMIC, Encoding, encode_bits, prompt_table
from genomic_icl.scoring import score, scored_table


def synthetic_scored(
    models: Sequence[str] = ("toy-a", "toy-b"),
    shots: Sequence[int] = (1, 2, 4, 8),
    trials: int = 8,
    functions: Sequence[str] | None = None,
    a0: float | Sequence[float] = 0.1,
    a1: float | Sequence[float] = 0.03,
    task_sd: float = 0.0,
    seed: int = 0,
) -> pd.DataFrame:
    """A scored table in the pipeline's schema with known truth: model i answers a
    prompt of function f at n correctly with probability
    clip(a0_i + a1_i * log2(n) + u_f, 0, 1) where u_f ~ N(0, task_sd) per function.
    Wrong answers are a uniformly drawn other output. The prompts are the pipeline's
    own (genomic form, shared by all models) and the answers go through the same
    scoring as a real model's."""
    rng = np.random.default_rng(seed)
    names = list(functions) if functions is not None else list(FUNCTION_NAMES)
    a0s = np.broadcast_to(np.asarray(a0, float), (len(models),))
    a1s = np.broadcast_to(np.asarray(a1, float), (len(models),))
    u = rng.normal(0, task_sd, len(names)) if task_sd > 0 else np.zeros(len(names))
    enc = Encoding("genomic", GENOMIC)
    prompts = pd.concat(
        [prompt_table(names, int(n), trials, enc, seed) for n in shots], ignore_index=True
    )
    target = prompts["target_bits"].to_numpy()
    task_effect = u[pd.Index(names).get_indexer(prompts["function"])]
    log_n = np.log2(prompts["n_shots"].to_numpy())
    frames = []
    for mi, model in enumerate(models):
        p = np.clip(a0s[mi] + a1s[mi] * log_n + task_effect, 0, 1)
        ok = rng.random(len(prompts)) < p
        wrong = (target + rng.integers(1, 256, len(prompts))) % 256
        pred = np.where(ok, target, wrong)
        text = [
            encode_bits(x, s0, s1)
            for x, s0, s1 in zip(pred, prompts["sym0"], prompts["sym1"], strict=True)
        ]
        frames.append(scored_table(prompts, score(prompts, text, None, model)))
    return pd.concat(frames, ignore_index=True)


def with_answer_distributions(
    scored: pd.DataFrame,
    valid_mass: Mapping[str, Callable[[int], float]],
    mix: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """``scored`` with log-probabilities of known truth for the models in ``valid_mass``:
    the model puts mass ``valid_mass[model](n)`` on the 256 valid answers (the rest on
    continuations whose first symbol is invalid), distributed as
    (1 - mix) * the oracle's posterior predictive + mix * mode's smoothed frequencies.
    With ``mix`` 0 its excess over the oracle is -log2(valid mass) / 8 bits per symbol
    at every prompt and its KL divergence from the oracle 0. Other models keep NaN."""
    from genomic_icl.learners import answer_distributions, prefix_logprobs

    out = scored.copy()
    target = out["target_bits"].to_numpy(np.int64)
    rows = np.arange(len(out))
    oracle = answer_distributions("oracle", out)
    mode = answer_distributions("mode", out)
    target_lp = out["target_logprob"].to_numpy(float).copy()
    positions = list(out["position_logprobs"])
    answers = list(out["answer_logprobs"])
    for model, mass in valid_mass.items():
        sel = (out["model"] == model).to_numpy()
        w = (mix or {}).get(model, 0.0)
        q = (1 - w) * oracle[sel] + w * mode[sel]
        v = np.array([mass(int(n)) for n in out.loc[sel, "n_shots"]])
        with np.errstate(divide="ignore"):
            log_q = np.log(q) + np.log(v)[:, None]
        target_lp[sel] = log_q[np.arange(sel.sum()), target[sel]]
        pos = prefix_logprobs(q, target[sel])
        pos[:, 0] += np.log(v)
        for k, i in enumerate(rows[sel]):
            positions[i] = pos[k]
            answers[i] = log_q[k].astype(np.float32)
    out["target_logprob"] = target_lp
    out["position_logprobs"] = positions
    out["answer_logprobs"] = answers
    return out
