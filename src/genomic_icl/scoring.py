"""From raw model continuations to scored predictions: the one place where exact
match, per-position match and decoded bits are computed."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from genomic_icl import bits
from genomic_icl.functions import bit_diversity, get_function
from genomic_icl.prompts import decode

KEY = ["function", "n_shots", "trial", "encoding"]
PREDICTION_COLUMNS = [
    "model",
    *KEY,
    "prediction",
    "pred_bits",
    "valid",
    "correct",
    "position_match",
    "target_logprob",
    "position_logprobs",
    "answer_logprobs",
]
ANALYSIS_COLUMNS = ["category", "target_bits", "query", "demo_inputs", "demo_outputs"]


def score(
    prompts: pd.DataFrame,
    continuations: Sequence[str],
    logprobs: Sequence[float] | None,
    model: str,
    position_logprobs: np.ndarray | None = None,
    answer_logprobs: np.ndarray | None = None,
) -> pd.DataFrame:
    """The predictions table for a model's continuations of ``prompts`` (same order).

    A continuation longer than 8 symbols is cut to 8; a shorter one is scored as is
    (invalid, and wrong at the missing positions). ``position_logprobs`` (rows x 8)
    and ``answer_logprobs`` (rows x 256) are stored as list columns, ``float64`` and
    ``float32`` (see :class:`genomic_icl.models.Continuations`); NaN where absent.
    """
    if len(continuations) != len(prompts):
        raise ValueError(f"{len(continuations)} continuations for {len(prompts)} prompts")
    preds = [str(c)[: bits.N_BITS] for c in continuations]
    targets = prompts["target"].tolist()
    pred_bits = [
        decode(p, s0, s1) for p, s0, s1 in zip(preds, prompts["sym0"], prompts["sym1"], strict=True)
    ]
    position_match = [
        "".join("1" if i < len(p) and p[i] == t[i] else "0" for i in range(bits.N_BITS))
        for p, t in zip(preds, targets, strict=True)
    ]
    lp = np.full(len(preds), np.nan) if logprobs is None else np.asarray(logprobs, dtype=float)
    out = prompts[KEY].copy()
    out.insert(0, "model", model)
    out["prediction"] = preds
    out["pred_bits"] = np.asarray(pred_bits, dtype=np.int64)
    out["valid"] = out["pred_bits"] >= 0
    out["correct"] = [p == t for p, t in zip(preds, targets, strict=True)]
    out["position_match"] = position_match
    out["target_logprob"] = lp
    n = len(preds)
    pos = np.full((n, bits.N_BITS), np.nan) if position_logprobs is None else position_logprobs
    ans = np.full((n, bits.N_SYMBOLS), np.nan) if answer_logprobs is None else answer_logprobs
    out["position_logprobs"] = list(np.asarray(pos, dtype=np.float64).reshape(n, bits.N_BITS))
    out["answer_logprobs"] = list(np.asarray(ans, dtype=np.float32).reshape(n, bits.N_SYMBOLS))
    return out[PREDICTION_COLUMNS].reset_index(drop=True)


def scored_table(prompts: pd.DataFrame, predictions: pd.DataFrame) -> pd.DataFrame:
    """Join predictions with the prompt table's analysis columns and add the bit
    descriptors (function BitLoad, target and prediction BitDiversity)."""
    merged = predictions.merge(prompts[KEY + ANALYSIS_COLUMNS], on=KEY, how="left", validate="1:1")
    if merged["target_bits"].isna().any():
        raise ValueError("predictions hold prompts that the prompt table does not")
    loads = {f: get_function(f).bit_load for f in merged["function"].unique()}
    merged["bit_load"] = merged["function"].map(loads).astype(np.int64)
    merged["target_diversity"] = bit_diversity(merged["target_bits"].to_numpy())
    pred = merged["pred_bits"].to_numpy()
    merged["pred_diversity"] = np.where(pred >= 0, bit_diversity(np.maximum(pred, 0)), -1)
    return merged


def check_predictions(
    prompts: pd.DataFrame, predictions: pd.DataFrame, where: str, model: str | None = None
) -> None:
    """Refuse a predictions table that is not the scoring of these prompts: raises
    ``ValueError`` naming ``where`` (its path) when a column is missing, the model
    is another, a row key (function, n_shots, trial, encoding) repeats or is not
    the prompts' (other encoding, other shot count, other trials), or the scored
    columns (bits, validity, correctness, per-position match) are not what these
    prompts' targets and symbols give for its predictions."""
    missing = [c for c in PREDICTION_COLUMNS if c not in predictions.columns]
    if missing:
        raise ValueError(f"{where}: not a predictions table (no column {', '.join(missing)})")
    models = sorted(set(predictions["model"]))
    if model is not None and models != [model]:
        raise ValueError(f"{where}: predictions of {models}, not of model {model!r}")
    for col in ("encoding", "n_shots"):
        have, want = set(predictions[col]), set(prompts[col])
        if have != want:
            raise ValueError(f"{where}: {col} {sorted(have)} but its prompts have {sorted(want)}")
    if predictions.duplicated(KEY).any():
        raise ValueError(f"{where}: rows repeat a (function, n_shots, trial, encoding) key")
    merged = predictions.merge(prompts[[*KEY, "target", "sym0", "sym1"]], on=KEY, how="outer")
    if len(merged) != len(prompts) or len(predictions) != len(prompts):
        raise ValueError(
            f"{where}: its {len(predictions)} rows are not the {len(prompts)} prompts "
            "(other functions or trials)"
        )
    again = score(merged, merged["prediction"], None, models[0])
    derived = ["pred_bits", "valid", "correct", "position_match"]
    bad = (merged[derived].to_numpy() != again[derived].to_numpy()).any(axis=1)
    if bad.any():
        raise ValueError(
            f"{where}: {int(bad.sum())} of {len(bad)} rows are not scored as their prompts' "
            "targets and symbols give (predictions of other prompts, or damaged)"
        )
