"""Comparisons between models: against the baseline, with size within a family,
family means, paired differences on shared prompts, and the sign test over tasks."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import binomtest

from genomic_icl.stats.bootstrap import JointBootstrap, boot_text, joint_bootstrap
from genomic_icl.stats.common import (
    KEY,
    TAIL_FLOOR,
    models_in_order,
    p_display,
    resampling_floor,
    with_p_display,
    z_one_sided,
    z_two_sided,
)
from genomic_icl.stats.fits import ols

# ---------------------------------------------------------------------------
# versus the baseline, scaling with size, family means
# ---------------------------------------------------------------------------


def vs_baseline_table(
    accuracy: pd.DataFrame,
    baseline: str = "mode",
    alpha: float = 0.05,
    boot: JointBootstrap | None = None,
) -> pd.DataFrame:
    """z-tests per (model, n) of accuracy against the baseline, in both directions
    (docs/protocol.md §6).

    z = (P(M,n) - P(B,n)) / SE(P(M,n) - P(B,n)). ``p_value`` = 1 - Phi(z), the paper's
    one-sided test of M above the baseline, and ``significant`` is p_value < alpha;
    ``p_below`` = Phi(z), the one-sided test of M below it; ``p_two_sided`` = 2 min
    of the two, and ``direction`` says "above" or "below" where p_two_sided < alpha,
    else "not significant". Each p has a text column ``*_display`` that prints values
    under :data:`~genomic_icl.stats.common.TAIL_FLOOR` as "< 1e-10". With ``boot``
    (:func:`joint_bootstrap`) the SE of the difference is the SD of the replicate
    differences, which counts the prompts the two share; without it,
    sqrt(se_M^2 + se_B^2), which treats them as independent. Empty when the baseline
    is absent."""
    cols = [
        "model",
        "n_shots",
        "accuracy",
        "baseline",
        "baseline_accuracy",
        "difference",
        "se_difference",
        "z",
        "p_value",
        "significant",
        "p_below",
        "p_two_sided",
        "direction",
        "test",
    ]
    if baseline not in set(accuracy["model"]):
        return with_p_display(pd.DataFrame(columns=cols), VS_P)
    base = accuracy[accuracy["model"] == baseline].set_index("n_shots")
    se_text = (
        f"SE of the difference from the {boot_text(boot)}"
        if boot is not None
        else "SE sqrt(se_M^2 + se_B^2), the two treated as independent"
    )
    rows = []
    for r in accuracy[accuracy["model"] != baseline].itertuples(index=False):
        if r.n_shots not in base.index:
            continue
        b = base.loc[r.n_shots]
        diff = r.accuracy - b["accuracy"]
        if boot is not None:
            se = boot.se({(r.model, r.n_shots): 1.0, (baseline, r.n_shots): -1.0})
        else:
            se = math.sqrt(r.se**2 + b["se"] ** 2)
        z = z_one_sided(diff, se)[0]
        p, p_below, p_two = z_two_sided(diff, se)
        direction = "not significant"
        if np.isfinite(p_two) and p_two < alpha:
            direction = "above" if diff > 0 else "below"
        rows.append(
            {
                "model": r.model,
                "n_shots": r.n_shots,
                "accuracy": r.accuracy,
                "baseline": baseline,
                "baseline_accuracy": b["accuracy"],
                "difference": diff,
                "se_difference": se,
                "z": z,
                "p_value": p,
                "significant": bool(p < alpha) if np.isfinite(p) else False,
                "p_below": p_below,
                "p_two_sided": p_two,
                "direction": direction,
                "test": f"z-test of accuracy - {baseline} (accuracy as a fraction, N(0,1) "
                f"reference), alpha = {alpha}: p_value one-sided above (significant), "
                f"p_below one-sided below, p_two_sided both (direction); {se_text}; "
                f"*_display: p as text, '< {TAIL_FLOOR:g}' below {TAIL_FLOOR:g}",
            }
        )
    return with_p_display(pd.DataFrame(rows, columns=cols), VS_P)


VS_P = ("p_value", "p_below", "p_two_sided")


SCALING_COLUMNS = [
    "family",
    "n_shots",
    "n_models",
    "models",
    "slope_per_decade",
    "slope_se",
    "t",
    "df",
    "p_value",
    "p_value_linear_params",
    "slope_se_bootstrap",
    "p_value_bootstrap",
    "largest_minus_smallest",
    "se_difference",
    "z",
    "p_value_z",
    "test",
]


def scaling_table(
    accuracy: pd.DataFrame, meta: pd.DataFrame, boot: JointBootstrap | None = None
) -> pd.DataFrame:
    """Accuracy against parameter count within each family, per n (docs/protocol.md §6, Fig. 3).

    - ``p_value``: OLS of accuracy on log10(params) over the family's k models,
      one-sided t-test slope > 0, df = k-2 (needs k >= 3): the paper's test, the
      models treated as a sample of sizes. ``p_value_linear_params``: the same on
      params (linear scale), to show how much the claim rests on the scale.
    - ``slope_se_bootstrap``, ``p_value_bootstrap``: the same log10 slope with its
      SE from the joint bootstrap (these models fixed, tasks and trials resampled),
      one-sided z-test slope > 0; usable with 2 models.
    - ``largest_minus_smallest``, ``se_difference``, ``z``, ``p_value_z``: one-sided
      z-test of the largest model above the smallest; SE from the joint bootstrap
      (``boot``), else sqrt(se_1^2 + se_2^2) as if independent."""
    a = accuracy.merge(meta, on="model", how="inner")
    a = a[~a["reference"].astype(bool) & a["params"].notna() & a["family"].notna()]
    src = boot_text(boot) if boot is not None else "independent SEs sqrt(se_1^2 + se_2^2)"
    test = (
        "p_value: OLS of accuracy on log10(params) over the family's k models, one-sided "
        "t-test slope > 0, df = k-2; p_value_linear_params: the same on params (linear); "
        "p_value_bootstrap: the log10 slope, one-sided z-test slope > 0 with its SE from "
        f"the bootstrap; p_value_z: one-sided z-test largest > smallest model; SEs: {src}"
    )
    rows = []
    for fam in pd.unique(a["family"]):
        fa = a[a["family"] == fam]
        for n in sorted(fa["n_shots"].unique()):
            sub = fa[fa["n_shots"] == n].sort_values("params")
            if len(sub) < 2:
                continue
            x = np.log10(sub["params"].to_numpy(float))
            y = sub["accuracy"].to_numpy(float)
            fit = ols(x, y)
            lin = ols(sub["params"].to_numpy(float), y)
            lo, hi = sub.iloc[0], sub.iloc[-1]
            diff = hi["accuracy"] - lo["accuracy"]
            slope_se_b = p_b = np.nan
            if boot is not None:
                se_d = boot.se({(hi["model"], n): 1.0, (lo["model"], n): -1.0})
                if np.ptp(x) > 0:
                    c = (x - x.mean()) / np.sum((x - x.mean()) ** 2)  # slope = c @ accuracy
                    slope_se_b = boot.se(
                        {(m, n): ci for m, ci in zip(sub["model"], c, strict=True)}
                    )
                    p_b = z_one_sided(fit["a1"], slope_se_b)[1]
            else:
                se_d = math.sqrt(hi["se"] ** 2 + lo["se"] ** 2)
            z, pz = z_one_sided(diff, se_d)
            rows.append(
                {
                    "family": fam,
                    "n_shots": int(n),
                    "n_models": len(sub),
                    "models": ",".join(sub["model"]),
                    "slope_per_decade": fit["a1"],
                    "slope_se": fit["a1_se"],
                    "t": fit["t"],
                    "df": fit["df"],
                    "p_value": fit["p_value"],
                    "p_value_linear_params": lin["p_value"],
                    "slope_se_bootstrap": slope_se_b,
                    "p_value_bootstrap": p_b,
                    "largest_minus_smallest": diff,
                    "se_difference": se_d,
                    "z": z,
                    "p_value_z": pz,
                    "test": test,
                }
            )
    return pd.DataFrame(rows, columns=SCALING_COLUMNS)


def family_means_table(
    accuracy: pd.DataFrame,
    meta: pd.DataFrame,
    boot: JointBootstrap | None = None,
    baseline: str = "mode",
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Mean accuracy of each family's models per n (paper Fig. 2d), with its SE and a
    z-test of the family mean against the baseline in both directions (as
    :func:`vs_baseline_table`).

    With ``boot`` both SEs are SDs over the joint replicates (of the mean of the
    family's models, and of that minus the baseline), so the task effects the models
    share count; without it sqrt(sum se^2)/k, as if the models were independent.
    Columns: family, n_shots, n_models, models, accuracy, se, baseline,
    baseline_accuracy, difference, se_difference, z, p_value, p_below, p_two_sided,
    direction (each p with its ``*_display``), test."""
    cols = [
        "family",
        "n_shots",
        "n_models",
        "models",
        "accuracy",
        "se",
        "baseline",
        "baseline_accuracy",
        "difference",
        "se_difference",
        "z",
        "p_value",
        "p_below",
        "p_two_sided",
        "direction",
        "test",
    ]
    a = accuracy.merge(meta, on="model", how="inner")
    a = a[~a["reference"].astype(bool) & a["family"].notna()]
    base = accuracy[accuracy["model"] == baseline].set_index("n_shots")
    src = boot_text(boot) if boot is not None else "sqrt(sum se^2)/k, models as independent"
    test = (
        f"family mean of accuracy (fraction); z-test of family mean - {baseline} (N(0,1) "
        f"reference), alpha = {alpha}: p_value one-sided above, p_below one-sided below, "
        f"p_two_sided both (direction); SEs: {src}; *_display: p as text, "
        f"'< {TAIL_FLOOR:g}' below {TAIL_FLOOR:g}"
    )
    rows = []
    for fam in pd.unique(a["family"]):
        fa = a[a["family"] == fam]
        for n in sorted(fa["n_shots"].unique()):
            sub = fa[fa["n_shots"] == n]
            k = len(sub)
            mean = float(sub["accuracy"].mean())
            wts = {(m, int(n)): 1.0 / k for m in sub["model"]}
            if boot is not None:
                se = boot.se(wts)
            else:
                se = float(np.sqrt(np.sum(sub["se"] ** 2)) / k)
            b_acc = diff = se_d = z = p = p_below = p_two = np.nan
            direction = None
            if n in base.index:
                b_acc = float(base.loc[n, "accuracy"])
                diff = mean - b_acc
                if boot is not None:
                    se_d = boot.se({**wts, (baseline, int(n)): -1.0})
                else:
                    se_d = math.sqrt(se**2 + float(base.loc[n, "se"]) ** 2)
                z = z_one_sided(diff, se_d)[0]
                p, p_below, p_two = z_two_sided(diff, se_d)
                direction = "not significant"
                if np.isfinite(p_two) and p_two < alpha:
                    direction = "above" if diff > 0 else "below"
            rows.append(
                {
                    "family": fam,
                    "n_shots": int(n),
                    "n_models": k,
                    "models": ",".join(sub["model"]),
                    "accuracy": mean,
                    "se": se,
                    "baseline": baseline if n in base.index else None,
                    "baseline_accuracy": b_acc,
                    "difference": diff,
                    "se_difference": se_d,
                    "z": z,
                    "p_value": p,
                    "p_below": p_below,
                    "p_two_sided": p_two,
                    "direction": direction,
                    "test": test,
                }
            )
    return with_p_display(pd.DataFrame(rows, columns=cols), VS_P)


# ---------------------------------------------------------------------------
# paired comparisons on shared prompts
# ---------------------------------------------------------------------------


def paired_comparison(
    scored: pd.DataFrame,
    model_a: str,
    model_b: str,
    replicates: int = 5000,
    seed: int = 0,
    alpha: float = 0.05,
    boot: JointBootstrap | None = None,
) -> pd.DataFrame:
    """Accuracy difference A - B per n on the shared prompts (same function, n_shots,
    trial), with the joint cluster bootstrap (``boot``, or drawn here for A and B;
    the draws depend on the prompts only, so both give the same replicates):
    functions and then trials are resampled once and applied to both models. CI is
    the percentile interval (level 1-alpha); ``p_value`` is the two-sided bootstrap
    p, 2 (k + 1) / (R + 1) with k the smaller number of replicates on either side of
    0 (never 0 with R replicates); ``p_value_display`` prints it, and "< 2/(R+1)"
    at that floor."""
    a = scored[scored["model"] == model_a][KEY + ["correct"]]
    b = scored[scored["model"] == model_b][KEY + ["correct"]]
    j = a.merge(b, on=KEY, suffixes=("_a", "_b"))
    if boot is None and len(j):
        both = scored[scored["model"].isin([model_a, model_b])]
        boot = joint_bootstrap(both, replicates, seed)
    j["correct_a"] = j["correct_a"].astype(float)
    j["correct_b"] = j["correct_b"].astype(float)
    per_f = j.groupby(["n_shots", "function"])[["correct_a", "correct_b"]].mean()
    acc = per_f.groupby(level="n_shots").mean()  # mean over functions of function means
    n_pairs = j.groupby("n_shots").size()
    rows = []
    for n in sorted(j["n_shots"].unique()):
        reps = boot.replicates(model_a, n) - boot.replicates(model_b, n)
        replicates = len(reps)
        acc_a, acc_b = float(acc.loc[n, "correct_a"]), float(acc.loc[n, "correct_b"])
        lo, hi = np.quantile(reps, [alpha / 2, 1 - alpha / 2])
        tail = min(np.sum(reps <= 0), np.sum(reps >= 0))
        p = min(1.0, 2 * (tail + 1) / (replicates + 1))
        rows.append(
            {
                "model_a": model_a,
                "model_b": model_b,
                "n_shots": int(n),
                "accuracy_a": acc_a,
                "accuracy_b": acc_b,
                "difference": acc_a - acc_b,
                "se": float(np.std(reps, ddof=1)),
                "ci_lo": float(lo),
                "ci_hi": float(hi),
                "p_value": float(p),
                "p_value_display": p_display(p, resampling_floor(replicates, sides=2)),
                "n_pairs": int(n_pairs.loc[n]),
                "test": f"A - B (accuracy, fraction) by the {boot_text(boot)}; "
                f"{100 * (1 - alpha):g}% percentile CI; two-sided bootstrap p, "
                f"2 (k + 1) / (R + 1), whose floor 2 / (R + 1) = "
                f"{resampling_floor(replicates, 2):.2g} prints as '< "
                f"{resampling_floor(replicates, 2):.2g}' in p_value_display (no "
                "replicate on the other side of 0)",
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            "model_a",
            "model_b",
            "n_shots",
            "accuracy_a",
            "accuracy_b",
            "difference",
            "se",
            "ci_lo",
            "ci_hi",
            "p_value",
            "p_value_display",
            "n_pairs",
            "test",
        ],
    )


def paired_table(
    scored: pd.DataFrame,
    pairs: Iterable[Sequence[str]] | str = "all",
    replicates: int = 5000,
    seed: int = 0,
    boot: JointBootstrap | None = None,
) -> pd.DataFrame:
    """Paired comparisons for a list of (A, B) pairs, or every pair ("all") of the
    models present, in their order; one joint bootstrap (``boot`` or drawn here)
    serves every pair."""
    models = models_in_order(scored)
    if pairs == "all":
        pairs = list(itertools.combinations(models, 2))
    pairs = [(a, b) for a, b in pairs if a in models and b in models]
    if pairs and boot is None:
        boot = joint_bootstrap(scored, replicates, seed)
    parts = [paired_comparison(scored, a, b, replicates, seed, boot=boot) for a, b in pairs]
    if not parts:
        return paired_comparison(scored.iloc[:0], "", "", replicates, seed)
    return pd.concat(parts, ignore_index=True)


# ---------------------------------------------------------------------------
# the sign test over tasks
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SignTest:
    """The counts and the p-value of :func:`sign_test`."""

    n_tasks: int
    wins_a: int
    wins_b: int
    ties: int
    p_value: float


def sign_test(a: Sequence[float], b: Sequence[float]) -> SignTest:
    """Two-sided exact sign test of two models' per-task accuracies (the footnote of
    the ``task_comparison`` figure and ``sign_test.tsv``).

    ``a[i]`` and ``b[i]`` are the accuracies of models A and B on task i (a function,
    over its m trials at one n). A task counts as a win for the model with the higher
    accuracy; tasks where they are equal (ties) are dropped. Tested: H0 that on a task
    where they differ each model is the higher with probability 1/2, so wins_a ~
    Binomial(wins_a + wins_b, 1/2); ``p_value`` is the exact two-sided binomial p
    (:func:`scipy.stats.binomtest`), NaN when no task differs. The test treats the tasks
    as independent and ignores by how much a model wins."""
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if x.shape != y.shape:
        raise ValueError(f"sign test: {x.size} accuracies of A but {y.size} of B")
    wins_a, wins_b = int((x > y).sum()), int((y > x).sum())
    p = binomtest(wins_a, wins_a + wins_b).pvalue if wins_a + wins_b else float("nan")
    return SignTest(x.size, wins_a, wins_b, x.size - wins_a - wins_b, float(p))


SIGN_TEST_TEXT = (
    "two-sided exact sign test over the tasks where A and B differ in task accuracy "
    "(ties dropped): wins_a ~ Binomial(wins_a + wins_b, 1/2) under H0"
)


def sign_test_table(
    per_task: pd.DataFrame, pairs: Iterable[Sequence[str]] | str = "all"
) -> pd.DataFrame:
    """:func:`sign_test` per compared pair (A, B) and n: the pairs of
    ``stats.comparisons`` ("all": every pair of the models present, in their order),
    as in :func:`paired_table`, on the per-task accuracies of ``per_task``
    (:func:`genomic_icl.stats.per_task_table`; tasks either model lacks are left out).
    Columns: model_a, model_b, n_shots, n_tasks, wins_a, wins_b, ties, p_value, test."""
    columns = ["model_a", "model_b", "n_shots", "n_tasks", "wins_a", "wins_b", "ties"]
    models = models_in_order(per_task)
    if pairs == "all":
        pairs = list(itertools.combinations(models, 2))
    rows = []
    for a, b in ((a, b) for a, b in pairs if a in models and b in models):
        sub = per_task[per_task["model"].isin([a, b])]
        for n, cell in sub.groupby("n_shots", sort=True):
            wide = cell.pivot(index="function", columns="model", values="accuracy")
            wide = wide.reindex(columns=[a, b]).dropna()
            s = sign_test(wide[a], wide[b])
            rows.append([a, b, int(n), s.n_tasks, s.wins_a, s.wins_b, s.ties, s.p_value])
    table = pd.DataFrame(rows, columns=[*columns, "p_value"])
    table["test"] = SIGN_TEST_TEXT
    return table
