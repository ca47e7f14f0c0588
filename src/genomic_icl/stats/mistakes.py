"""What wrong answers are: understandable mistakes (the answer of another function
consistent with the demonstrations) and BitDiversity-0 answers."""

from __future__ import annotations

import numpy as np
import pandas as pd

from genomic_icl.stats.bootstrap import analytic_bootstrap_se
from genomic_icl.stats.common import KEY, order_key


def _function_tables():
    from genomic_icl import functions

    names = [n for n in functions.FUNCTION_NAMES if not functions.get_function(n).uses_constant]
    return names, np.stack([functions.get_function(n).table() for n in names])


def consistent_outputs(
    demo_inputs: np.ndarray, demo_outputs: np.ndarray, query: np.ndarray
) -> np.ndarray:
    """For prompts with equal n (arrays (P, n), (P, n), (P,)): a boolean (P, 256) mask of
    the query outputs of the functions of the 100 consistent with every demonstration.

    meta_constant is consistent only when all demonstration outputs are equal; its
    query output is then that constant."""
    _, tables = _function_tables()  # (G, 256)
    x = np.asarray(demo_inputs, np.int64)
    y = np.asarray(demo_outputs, np.int64)
    q = np.asarray(query, np.int64)
    p = len(q)
    mask = np.zeros((p, 256), bool)
    chunk = max(1, 4_000_000 // max(1, tables.shape[0] * x.shape[1]))
    for s in range(0, p, chunk):
        xs, ys, qs = x[s : s + chunk], y[s : s + chunk], q[s : s + chunk]
        ok = (tables[:, xs] == ys[None]).all(axis=-1)  # (G, p)
        outs = tables[:, qs]  # (G, p)
        gi, pi = np.nonzero(ok)
        mask[s + pi, outs[gi, pi]] = True
        const = (ys == ys[:, :1]).all(axis=1)
        ci = np.nonzero(const)[0]
        mask[s + ci, ys[ci, 0]] = True
    return mask


def understandable_mistakes(scored: pd.DataFrame) -> np.ndarray:
    """Boolean per row: a valid, wrong prediction that equals the query output of a
    function of the 100 (other than the true one) consistent with every
    demonstration (meta_constant: consistent iff all demo outputs are equal, output
    then that constant). Computed once per distinct prompt (function, n, trial)."""
    out = np.zeros(len(scored), bool)
    if len(scored) == 0:
        return out
    df = scored.reset_index(drop=True)
    keys = df[KEY].drop_duplicates()
    first = df.loc[keys.index]
    wrong = (~df["correct"].astype(bool)) & (df["pred_bits"].to_numpy() >= 0)
    for n, grp in first.groupby("n_shots"):
        xs = np.stack(grp["demo_inputs"].map(np.asarray).to_list())
        ys = np.stack(grp["demo_outputs"].map(np.asarray).to_list())
        mask = consistent_outputs(xs, ys, grp["query"].to_numpy())
        # map every scored row of this n to its prompt row in `mask`
        idx = pd.MultiIndex.from_frame(grp[KEY])
        rows = df[df["n_shots"] == n]
        pos = idx.get_indexer(pd.MultiIndex.from_frame(rows[KEY]))
        pred = rows["pred_bits"].to_numpy()
        hit = mask[pos, np.clip(pred, 0, 255)]
        out[rows.index] = hit & wrong[rows.index].to_numpy()
    return out


def mistakes_table(scored: pd.DataFrame) -> pd.DataFrame:
    """Understandable mistakes per (model, n_shots) (paper Fig. 6).

    Columns: model, n_shots, n_prompts, n_wrong, n_invalid, n_understandable,
    share_of_prompts, share_of_errors (understandable / wrong)."""
    u = understandable_mistakes(scored)
    df = scored.assign(_u=u, _w=~scored["correct"].astype(bool), _inv=scored["pred_bits"] < 0)
    g = (
        df.groupby(["model", "n_shots"], sort=False)
        .agg(
            n_prompts=("_u", "size"),
            n_wrong=("_w", "sum"),
            n_invalid=("_inv", "sum"),
            n_understandable=("_u", "sum"),
        )
        .reset_index()
    )
    for c in ("n_wrong", "n_invalid", "n_understandable"):
        g[c] = g[c].astype(int)
    g["share_of_prompts"] = g["n_understandable"] / g["n_prompts"]
    with np.errstate(divide="ignore", invalid="ignore"):
        g["share_of_errors"] = np.where(
            g["n_wrong"] > 0, g["n_understandable"] / g["n_wrong"], np.nan
        )
    return g.sort_values(["model", "n_shots"], key=order_key(scored)).reset_index(drop=True)


def diversity_zero_table(scored: pd.DataFrame) -> pd.DataFrame:
    """Share of predictions with BitDiversity 0 (all-zeros/all-ones) vs the true share
    of targets with BitDiversity 0, per (model, n_shots) (paper Fig. 11).

    Invalid predictions count as not BitDiversity 0 (the denominator is all
    prompts); ``pred_share_valid`` uses valid predictions only. ``pred_share_se`` and
    ``excess_se`` (of pred_share - true_share, on the same prompts) are the exact SEs
    of the two-stage cluster bootstrap by function (:func:`analytic_bootstrap_se`).
    Columns: model, n_shots, n_prompts, n_valid, pred_share, pred_share_se,
    pred_share_valid, true_share, excess, excess_se."""
    from genomic_icl.functions import bit_diversity

    pred = scored["pred_bits"].to_numpy()
    valid = pred >= 0
    pdiv = np.where(valid, bit_diversity(np.clip(pred, 0, 255)), -1)
    tdiv = bit_diversity(scored["target_bits"].to_numpy())
    df = scored[["model", "n_shots"]].assign(_p0=(pdiv == 0), _t0=(tdiv == 0), _v=valid)
    g = (
        df.groupby(["model", "n_shots"], sort=False)
        .agg(
            n_prompts=("_p0", "size"),
            n_valid=("_v", "sum"),
            _np0=("_p0", "sum"),
            true_share=("_t0", "mean"),
        )
        .reset_index()
    )
    g["n_valid"] = g["n_valid"].astype(int)
    g["pred_share"] = g["_np0"] / g["n_prompts"]
    with np.errstate(divide="ignore", invalid="ignore"):
        g["pred_share_valid"] = np.where(g["n_valid"] > 0, g["_np0"] / g["n_valid"], np.nan)
    g["excess"] = g["pred_share"] - g["true_share"]
    # the exact SE of the two-stage cluster bootstrap by function (R -> infinity)
    df["_f"] = scored["function"].to_numpy()
    df["_d"] = df["_p0"].astype(float) - df["_t0"].astype(float)
    se = {
        key: (
            analytic_bootstrap_se(c["_p0"].to_numpy(float), c["_f"].to_numpy()),
            analytic_bootstrap_se(c["_d"].to_numpy(float), c["_f"].to_numpy()),
        )
        for key, c in df.groupby(["model", "n_shots"], sort=False)
    }
    keys = list(zip(g["model"], g["n_shots"], strict=True))
    g["pred_share_se"] = [se[k][0] for k in keys]
    g["excess_se"] = [se[k][1] for k in keys]
    g = g[
        [
            "model",
            "n_shots",
            "n_prompts",
            "n_valid",
            "pred_share",
            "pred_share_se",
            "pred_share_valid",
            "true_share",
            "excess",
            "excess_se",
        ]
    ]
    return g.sort_values(["model", "n_shots"], key=order_key(scored)).reset_index(drop=True)
