"""Statistics of the experiment (docs/protocol.md §6) and the analyses the paper asks for.

Every estimator here works on the scored-results schema (docs/architecture.md):
one row per prompt with ``model, function, n_shots, trial, correct, ...``.

Conventions
-----------
- Accuracy of a model at n shots is the mean over functions of the per-function
  mean of ``correct`` (a fraction, not percent).
- Standard errors come from a two-stage nonparametric cluster bootstrap:
  resample functions with replacement, then trials within each chosen function
  with replacement; the statistic is recomputed on every replicate and the SE is
  the standard deviation (ddof=1) of the replicates.
- The bootstrap is joint (:func:`joint_bootstrap`): replicate r draws the functions
  once for the whole run and, per n, the trials of each drawn function, and the same
  draws by prompt apply to every model. A model's SE keeps the per-cell
  distribution; differences, family means and slopes over models get SEs that count
  the task effects the models share (they answer the same prompts).
- Every random draw derives from ``SeedSequence([seed, stable_key(label...)])`` and
  depends on the prompts only, so a (model, n) cell gets the same replicates
  whatever other models are present.
- Log-linear fits use log2(n): ``a1`` is the gain in accuracy per doubling of the
  number of demonstrations. Fits against model size use log10(params).
- Breakdowns by a trial's property (the target's BitDiversity) pool the prompts;
  by a function's property (BitLoad) they average per-function means.
- Each table states the test behind its p-values in a ``test`` column: the scale,
  the sidedness, the reference distribution and its df.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats as sps

from genomic_icl.prompts import name_key

__all__ = [
    "stable_key",
    "bootstrap_seed",
    "cluster_bootstrap",
    "cluster_bootstrap_se",
    "JointBootstrap",
    "joint_bootstrap",
    "accuracy_table",
    "loglinear_fit",
    "fit_table",
    "fits_vs_size",
    "clustered_ols",
    "clustered_logit",
    "clustered_fit_table",
    "vs_baseline_table",
    "z_one_sided",
    "scaling_table",
    "family_means_table",
    "breakdown_table",
    "varies_within_function",
    "per_task_table",
    "wilson_interval",
    "understandable_mistakes",
    "mistakes_table",
    "diversity_zero_table",
    "paired_comparison",
    "paired_table",
    "power_table",
    "trials_needed",
    "model_metadata",
]

KEY = ["function", "n_shots", "trial"]


# ---------------------------------------------------------------------------
# seeds
# ---------------------------------------------------------------------------


def stable_key(label: str | int) -> int:
    """A 64-bit integer for ``label`` that is the same on every machine and run:
    integers pass through, strings go through :func:`genomic_icl.prompts.name_key`
    (Python's ``hash`` is salted per process and must never seed anything)."""
    if isinstance(label, (int, np.integer)):
        return int(label)
    return name_key(str(label))


def bootstrap_seed(seed: int, *labels: str | int) -> np.random.SeedSequence:
    """The seed of one bootstrap: ``SeedSequence([seed, key(label1), key(label2), ...])``.

    The joint bootstrap draws its functions from ``bootstrap_seed(seed, "functions")``
    and the trials at n from ``bootstrap_seed(seed, "trials", n)``: they depend on
    the prompts only, never on which models are present."""
    return np.random.SeedSequence([int(seed)] + [stable_key(x) for x in labels])


# ---------------------------------------------------------------------------
# the two-stage cluster bootstrap
# ---------------------------------------------------------------------------


def _clusters(values: np.ndarray, clusters: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """Split values by cluster label (sorted label order) -> (list of arrays, sizes)."""
    codes, uniq = pd.factorize(pd.Series(clusters), sort=True)
    order = np.argsort(codes, kind="stable")
    sizes = np.bincount(codes, minlength=len(uniq))
    parts = np.split(values[order], np.cumsum(sizes)[:-1])
    return parts, sizes


def _discrete_levels(values: np.ndarray, max_levels: int = 8) -> np.ndarray | None:
    lv = np.unique(values)
    return lv if len(lv) <= max_levels else None


def _resampled_means(
    parts: list[np.ndarray], sizes: np.ndarray, chosen: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Within-cluster resampled means (R, F) for the chosen clusters ``chosen`` (R, F),
    drawing trial indices with replacement (the general, continuous-value path)."""
    allv = np.concatenate(parts)
    m = sizes[chosen]
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    mmax = int(sizes.max())
    u = rng.random(chosen.shape + (mmax,))
    idx = offsets[chosen][..., None] + np.floor(u * m[..., None]).astype(np.int64)
    mask = np.arange(mmax) < m[..., None]
    vals = np.where(mask, allv[np.where(mask, idx, 0)], 0.0)
    return vals.sum(axis=-1) / m


def _grouped_discrete_bootstrap(
    parts: list[np.ndarray],
    sizes: np.ndarray,
    levels: np.ndarray,
    replicates: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """The two-stage bootstrap for values with few distinct levels, exactly.

    A cluster enters only through its size m and its level counts c, so clusters
    with equal (m, c) -- a "profile" -- are interchangeable. Stage 1 then amounts
    to drawing how many of the F slots land on each profile, Multinomial(F,
    share of clusters with that profile); stage 2 resamples, in each slot, m trials
    with replacement, i.e. Multinomial(m, c/m) level counts, and the sum of s
    independent such draws is Multinomial(s*m, c/m). The statistic
    (1/F) sum_slots mean_slot is thus drawn exactly, profile by profile, with
    R x (number of profiles) draws instead of R x F x m."""
    n_clusters = len(sizes)
    counts = np.stack([(p[:, None] == levels[None, :]).sum(axis=0) for p in parts])  # (F, L)
    profiles, inverse = np.unique(np.column_stack([sizes, counts]), axis=0, return_inverse=True)
    inverse = np.asarray(inverse).ravel()
    share = np.bincount(inverse, minlength=len(profiles)) / n_clusters
    m = profiles[:, 0].astype(np.int64)  # (C,)
    cnt = profiles[:, 1:].astype(np.int64)  # (C, L)
    slots = rng.multinomial(n_clusters, share, size=replicates)  # (R, C)
    remaining = slots * m  # trials to draw per (replicate, profile)
    left_c = m.copy()  # count mass not yet assigned, per profile
    total = np.zeros(slots.shape, dtype=float)
    for li in range(len(levels) - 1):
        c = cnt[:, li]
        p = np.where(left_c > 0, c / np.maximum(left_c, 1), 0.0)
        k = rng.binomial(remaining, np.clip(p, 0.0, 1.0))
        total += k * levels[li]
        remaining = remaining - k
        left_c = left_c - c
    total += remaining * levels[-1]
    return (total / m).sum(axis=1) / n_clusters


def cluster_bootstrap(
    values: Sequence[float] | np.ndarray,
    clusters: Sequence | np.ndarray,
    replicates: int = 5000,
    seed: int | np.random.SeedSequence | np.random.Generator = 0,
) -> np.ndarray:
    """Replicates of the two-stage cluster bootstrap of the mean over clusters of
    per-cluster means.

    Stage 1 draws as many clusters as there are, with replacement; stage 2 draws,
    within each chosen cluster, as many trials as it has, with replacement. Returns
    an array of ``replicates`` statistics. Values with at most 8 distinct levels
    (correctness 0/1, paired differences -1/0/1) use an exact grouped sampler
    (:func:`_grouped_discrete_bootstrap`); other values draw indices, vectorised
    over (replicates x clusters x trials)."""
    values = np.asarray(values, dtype=float)
    clusters = np.asarray(clusters)
    if values.shape != clusters.shape or values.ndim != 1:
        raise ValueError("values and clusters must be 1-d arrays of equal length")
    if len(values) == 0:
        return np.full(replicates, np.nan)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    parts, sizes = _clusters(values, clusters)
    levels = _discrete_levels(values)
    if levels is not None:
        return _grouped_discrete_bootstrap(parts, sizes, levels, replicates, rng)
    n_clusters = len(sizes)
    out = np.empty(replicates)
    # chunk to bound memory (R x F x m) for large designs
    chunk = max(1, min(replicates, 2_000_000 // max(n_clusters * int(sizes.max()), 1)))
    for start in range(0, replicates, chunk):
        r = min(chunk, replicates - start)
        chosen = rng.integers(0, n_clusters, size=(r, n_clusters))
        out[start : start + r] = _resampled_means(parts, sizes, chosen, rng).mean(axis=1)
    return out


def cluster_bootstrap_se(
    values: Sequence[float] | np.ndarray,
    clusters: Sequence | np.ndarray,
    replicates: int = 5000,
    seed: int | np.random.SeedSequence | np.random.Generator = 0,
) -> float:
    """Standard error (ddof=1 SD of the replicates) of the two-stage cluster bootstrap
    of the mean over clusters (functions) of per-cluster means (trials)."""
    reps = cluster_bootstrap(values, clusters, replicates, seed)
    if replicates < 2 or np.isnan(reps).all():
        return float("nan")
    return float(np.std(reps, ddof=1))


def cluster_mean(values: np.ndarray, clusters: np.ndarray) -> float:
    """Mean over clusters of per-cluster means."""
    if len(values) == 0:
        return float("nan")
    means = pd.Series(np.asarray(values, dtype=float)).groupby(np.asarray(clusters)).mean()
    return float(means.mean())


def analytic_bootstrap_se(values: np.ndarray, clusters: np.ndarray) -> float:
    """The exact SE of the two-stage bootstrap distribution (its ideal, R -> inf).

    With F clusters of sizes m_j, means p_j and within-cluster (population,
    ddof=0) variances s_j^2:
    Var = (1/F) * [ mean_j (p_j - pbar)^2 + mean_j s_j^2 / m_j ]."""
    df = pd.DataFrame({"v": np.asarray(values, float), "c": np.asarray(clusters)})
    g = df.groupby("c")["v"]
    p = g.mean()
    s2 = g.var(ddof=0)
    m = g.size()
    f = len(p)
    var = (np.mean((p - p.mean()) ** 2) + np.mean(s2 / m)) / f
    return float(np.sqrt(var))


# ---------------------------------------------------------------------------
# the joint bootstrap: one draw per replicate for every model of a run
# ---------------------------------------------------------------------------

_BLOCK_CELLS = 262_144  # replicates x prompts per block: the bincount's counts stay in cache


def _joint_design(scored: pd.DataFrame) -> tuple[np.ndarray, dict[int, pd.DataFrame]]:
    """The prompts every model answered, per n: (sorted function names of the run,
    {n: prompt frame sorted by (function, trial) with a ``_f`` function code}).

    Raises ``ValueError`` naming the model and n when a model answered only part of an
    n's prompts, or one prompt twice: the joint bootstrap pairs models by prompt."""
    funcs = np.array(sorted(pd.unique(scored["function"])), dtype=object)
    code = {f: i for i, f in enumerate(funcs)}
    design = {}
    for n, cell in scored.groupby("n_shots", sort=True):
        keys = cell[["function", "trial"]].drop_duplicates().sort_values(["function", "trial"])
        per_model = cell.groupby("model", sort=False).size()
        dup = cell.duplicated(["model", "function", "trial"])
        if dup.any():
            m = cell.loc[dup, "model"].iloc[0]
            raise ValueError(f"model {m!r} answers a prompt twice at n = {n}")
        short = per_model[per_model != len(keys)]
        if len(short):
            m = short.index[0]
            raise ValueError(
                f"model {m!r} answered {short.iloc[0]} of the {len(keys)} prompts at "
                f"n = {n}; the joint bootstrap needs every model of an n on the same prompts"
            )
        keys = keys.reset_index(drop=True)
        keys["_f"] = keys["function"].map(code).to_numpy(np.int64)
        design[int(n)] = keys
    return funcs, design


def _joint_draws(
    design: dict[int, pd.DataFrame],
    n_functions: int,
    replicates: int,
    seed: int,
    resample_trials: bool = True,
):
    """The draws of the joint two-stage cluster bootstrap, per n and block of replicates.

    Stage 1 draws, once per replicate for the whole run (every n and model), F
    functions with replacement out of the run's F. Stage 2 draws, at each n, for every
    drawn function m_f of its m_f trials with replacement (``resample_trials=False``
    keeps each drawn function's trials as they are). Yields ``(n, rows, N)`` with
    ``N`` the (len(rows), P_n) float32 multiplicity of each of the n's prompts (in the
    order of ``design[n]``) in replicates ``rows``; a drawn function absent at n
    contributes nothing there. Seeds: stage 1 from ``bootstrap_seed(seed,
    "functions")``, stage 2 from ``bootstrap_seed(seed, "trials", n)``, so the draws
    depend on the prompts only, never on the models present."""
    rng = np.random.default_rng(bootstrap_seed(seed, "functions"))
    slots = rng.integers(0, n_functions, size=(replicates, n_functions))  # (R, F)
    for n, keys in design.items():
        rng_n = np.random.default_rng(bootstrap_seed(seed, "trials", n))
        n_prompts = len(keys)
        fcode = keys["_f"].to_numpy()
        start = np.full(n_functions, -1, np.int64)
        size = np.zeros(n_functions, np.int64)
        present, first, count = np.unique(fcode, return_index=True, return_counts=True)
        start[present], size[present] = first, count
        mmax = int(size.max())
        balanced = bool((size == mmax).all())
        block = max(1, _BLOCK_CELLS // max(n_prompts, n_functions * mmax, 1))
        for r0 in range(0, replicates, block):
            rows = slice(r0, min(replicates, r0 + block))
            f = slots[rows]  # (r, F) drawn functions
            r = f.shape[0]
            base = (np.arange(r, dtype=np.int64) * n_prompts)[:, None, None]
            if not resample_trials:
                c = np.zeros((r, n_functions), np.float32)
                np.add.at(c, (np.arange(r)[:, None], f), 1.0)
                yield n, rows, c[:, fcode]
                continue
            if balanced:  # every function present with mmax trials: no masking
                t = (f * mmax)[..., None] + rng_n.integers(0, mmax, (r, n_functions, mmax))
                flat = (base + t).ravel()
            else:
                m = size[f][..., None]  # (r, F, 1)
                u = rng_n.random((r, n_functions, mmax))
                t = start[f][..., None] + np.floor(u * m).astype(np.int64)
                flat = (base + t)[(np.arange(mmax) < m) & (m > 0)]
            counts = np.bincount(flat, minlength=r * n_prompts).reshape(r, n_prompts)
            yield n, rows, counts.astype(np.float32)


def _correct_matrix(scored: pd.DataFrame, keys: pd.DataFrame, n: int, models: list[str]):
    """(P_n, models) correctness at n, rows in the order of ``keys``; NaN where absent."""
    cell = scored[scored["n_shots"] == n]
    wide = cell.pivot(index=["function", "trial"], columns="model", values="correct")
    idx = pd.MultiIndex.from_frame(keys[["function", "trial"]])
    return wide.reindex(index=idx, columns=models).to_numpy(float)


class JointBootstrap:
    """Replicates of every (model, n) accuracy from one joint cluster bootstrap.

    ``cells`` (DataFrame ``model, n_shots``) names the columns of ``values`` (R, K).
    Replicate r of every cell uses the same resampled functions and trials, so the SD
    of any function of the replicates (a difference, a family mean, a slope over
    models) is a bootstrap SE that counts the task effects the models share."""

    def __init__(self, cells: pd.DataFrame, values: np.ndarray, resample_trials: bool = True):
        self.cells = cells.reset_index(drop=True)[["model", "n_shots"]]
        self.values = np.asarray(values, float)
        self.resample_trials = bool(resample_trials)
        self._col = {(m, int(n)): i for i, (m, n) in enumerate(self.cells.itertuples(index=False))}

    def replicates(self, model: str, n: int) -> np.ndarray:
        """The R replicate accuracies of (model, n); ``KeyError`` when absent."""
        try:
            return self.values[:, self._col[(model, int(n))]]
        except KeyError:
            raise KeyError(f"no bootstrap replicates for model {model!r} at n = {n}") from None

    def has(self, model: str, n: int) -> bool:
        """Whether (model, n) is in the bootstrap."""
        return (model, int(n)) in self._col

    def se(self, weights: Mapping[tuple[str, int], float]) -> float:
        """Bootstrap SE (ddof=1 SD over replicates) of sum_cells weight * accuracy,
        e.g. ``{(a, n): 1, (b, n): -1}`` for a difference."""
        v = sum(w * self.replicates(m, n) for (m, n), w in weights.items())
        return _sd(np.asarray(v, float))

    def to_frame(self) -> pd.DataFrame:
        """Long form ``replicate, model, n_shots, accuracy`` (for a Parquet file)."""
        r, k = self.values.shape
        return pd.DataFrame(
            {
                "replicate": np.tile(np.arange(r), k),
                "model": np.repeat(self.cells["model"].to_numpy(), r),
                "n_shots": np.repeat(self.cells["n_shots"].to_numpy(np.int64), r),
                "accuracy": self.values.T.ravel(),
                "resample_trials": self.resample_trials,
            }
        )

    @classmethod
    def from_frame(cls, df: pd.DataFrame) -> JointBootstrap:
        """Inverse of :meth:`to_frame`."""
        missing = {"replicate", "model", "n_shots", "accuracy"} - set(df.columns)
        if missing:
            raise ValueError(f"bootstrap replicates lack columns {sorted(missing)}")
        wide = df.pivot(index="replicate", columns=["model", "n_shots"], values="accuracy")
        cells = pd.DataFrame(list(wide.columns), columns=["model", "n_shots"])
        order = pd.unique(df["model"])
        cells["_o"] = cells["model"].map({m: i for i, m in enumerate(order)})
        cells = cells.sort_values(["_o", "n_shots"])
        wide = wide[list(cells[["model", "n_shots"]].itertuples(index=False, name=None))]
        rt = bool(df["resample_trials"].iloc[0]) if "resample_trials" in df else True
        return cls(cells.drop(columns="_o"), wide.to_numpy(float), rt)


def _sd(x: np.ndarray) -> float:
    """ddof=1 SD of the finite replicates (NaN with fewer than 2)."""
    x = x[np.isfinite(x)]
    return float(np.std(x, ddof=1)) if len(x) >= 2 else float("nan")


def joint_bootstrap(
    scored: pd.DataFrame,
    replicates: int = 5000,
    seed: int = 0,
    resample_trials: bool = True,
) -> JointBootstrap:
    """The two-stage cluster bootstrap of docs/protocol.md §6, drawn once for all models and n.

    Replicate r resamples the functions once for the whole run (stage 1) and, at each
    n, the trials of every chosen function (stage 2); the same draws, by prompt, apply
    to every model. Each (model, n) replicate is the mean over the drawn functions of
    their resampled per-function means, so a model's SE has the distribution of the
    per-cell two-stage bootstrap, while differences, family means and slopes over
    models get SEs that count the task effects the models share.
    ``resample_trials=False`` resamples functions only (one-stage). Needs every model
    of an n on the same prompts (``ValueError`` otherwise)."""
    models = _models_in_order(scored)
    funcs, design = _joint_design(scored)
    cells = []
    ys, inv_size = {}, {}
    for n, keys in design.items():
        y = _correct_matrix(scored, keys, n, models)
        have = [i for i, m in enumerate(models) if not np.isnan(y[:, i]).all()]
        ys[n] = (y[:, have].astype(np.float32), have)
        inv_size[n] = (1.0 / keys.groupby("_f")["_f"].transform("size")).to_numpy(np.float32)
        cells += [(models[i], n) for i in have]
    order = sorted(range(len(cells)), key=lambda i: (models.index(cells[i][0]), cells[i][1]))
    start = {}
    k = 0
    for n, (_, have) in ys.items():
        start[n] = k
        k += len(have)
    values = np.empty((replicates, len(cells)))
    for n, rows, counts in _joint_draws(design, len(funcs), replicates, seed, resample_trials):
        y, have = ys[n]
        w = counts * inv_size[n]  # each drawn function slot carries total weight 1
        with np.errstate(invalid="ignore", divide="ignore"):
            acc = (w @ y).astype(float) / w.sum(axis=1, dtype=float)[:, None]
        values[rows, start[n] : start[n] + len(have)] = acc
    cell_frame = pd.DataFrame([cells[i] for i in order], columns=["model", "n_shots"])
    return JointBootstrap(cell_frame, values[:, order], resample_trials)


# ---------------------------------------------------------------------------
# accuracy
# ---------------------------------------------------------------------------


def _models_in_order(df: pd.DataFrame) -> list[str]:
    return list(pd.unique(df["model"]))


def accuracy_table(
    scored: pd.DataFrame,
    replicates: int = 5000,
    seed: int = 0,
    boot: JointBootstrap | None = None,
) -> pd.DataFrame:
    """Accuracy per (model, n_shots) with two-stage cluster bootstrap SE (docs/protocol.md §6).

    Columns ``model, n_shots, accuracy, se, n_prompts``; ``accuracy`` is the mean
    over functions of the per-function mean of ``correct`` (a fraction). Rows keep
    the models' order of first appearance and ascending n. The SEs come from
    :func:`joint_bootstrap` (``boot``, or drawn here from ``replicates`` and
    ``seed``): one draw for all models, which depends on the prompts only."""
    boot = boot if boot is not None else joint_bootstrap(scored, replicates, seed)
    y = scored["correct"].astype(float)
    per_f = y.groupby([scored["model"], scored["n_shots"], scored["function"]]).mean()
    acc = per_f.groupby(level=["model", "n_shots"]).mean()
    size = y.groupby([scored["model"], scored["n_shots"]]).size()
    rows = []
    for model in _models_in_order(scored):
        for n in sorted(acc.loc[model].index):
            rows.append(
                {
                    "model": model,
                    "n_shots": int(n),
                    "accuracy": float(acc.loc[(model, n)]),
                    "se": _sd(boot.replicates(model, int(n))),
                    "n_prompts": int(size.loc[(model, n)]),
                }
            )
    return pd.DataFrame(rows, columns=["model", "n_shots", "accuracy", "se", "n_prompts"])


# ---------------------------------------------------------------------------
# log-linear fits (the paper's 8-point fit)
# ---------------------------------------------------------------------------

FIT_COLUMNS = ["model", "a0", "a1", "a1_se", "t", "df", "p_value", "r2", "test"]
FIT_TEST = (
    "OLS of accuracy (fraction) on log2(n) over the k shot counts; classical SE; "
    "one-sided t-test a1 > 0, df = k-2"
)


def _ols(x: np.ndarray, y: np.ndarray) -> dict:
    """Simple OLS y = a0 + a1 x with the classical SE and a one-sided t-test a1 > 0."""
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    k = len(x)
    out = {
        "a0": np.nan,
        "a1": np.nan,
        "a1_se": np.nan,
        "t": np.nan,
        "df": k - 2,
        "p_value": np.nan,
        "r2": np.nan,
        "k": k,
    }
    if k < 2 or np.ptp(x) == 0:
        return out
    xm, ym = x.mean(), y.mean()
    sxx = np.sum((x - xm) ** 2)
    a1 = np.sum((x - xm) * (y - ym)) / sxx
    a0 = ym - a1 * xm
    resid = y - a0 - a1 * x
    sst = np.sum((y - ym) ** 2)
    out.update(a0=a0, a1=a1, r2=1 - np.sum(resid**2) / sst if sst > 0 else np.nan)
    if k > 2:
        s2 = np.sum(resid**2) / (k - 2)
        se = math.sqrt(s2 / sxx)
        out["a1_se"] = se
        if se > 0:
            out["t"] = a1 / se
            out["p_value"] = float(sps.t.sf(a1 / se, k - 2))
        else:
            out["t"] = math.copysign(math.inf, a1) if a1 != 0 else np.nan
            out["p_value"] = 0.0 if a1 > 0 else 1.0
    return out


def loglinear_fit(n_shots: Sequence[int], accuracy: Sequence[float]) -> dict:
    """Fit accuracy = a0 + a1 * log2(n) by OLS; ``p_value`` is the one-sided t-test of
    a1 > 0 with k-2 degrees of freedom (k shot counts). Returns a dict with a0, a1,
    a1_se, t, df, p_value, r2, k."""
    n = np.asarray(n_shots, float)
    return _ols(np.log2(n), np.asarray(accuracy, float))


def fit_table(accuracy: pd.DataFrame) -> pd.DataFrame:
    """``fits.tsv``: per model ``a0, a1, a1_se, t, df, p_value, r2, test`` of the
    log2-linear fit of the accuracy table (columns ``model, n_shots, accuracy``;
    fractions): the paper's 8-point test (:data:`FIT_TEST`)."""
    missing = {"model", "n_shots", "accuracy"} - set(accuracy.columns)
    if missing:
        raise ValueError(f"accuracy table lacks columns {sorted(missing)}")
    rows = []
    for model in _models_in_order(accuracy):
        sub = accuracy[accuracy["model"] == model].sort_values("n_shots")
        fit = loglinear_fit(sub["n_shots"], sub["accuracy"])
        rows.append({"model": model, **{c: fit[c] for c in FIT_COLUMNS[1:-1]}, "test": FIT_TEST})
    return pd.DataFrame(rows, columns=FIT_COLUMNS)


def _coefficient_weights(ns: Sequence[int], coef: str) -> np.ndarray:
    """Weights w_n with coef = sum_n w_n accuracy_n for the OLS on log2(n)."""
    x = np.log2(np.asarray(ns, float))
    c = (x - x.mean()) / np.sum((x - x.mean()) ** 2)
    return c if coef == "a1" else 1.0 / len(x) - x.mean() * c


def fits_vs_size(
    fits: pd.DataFrame,
    meta: pd.DataFrame,
    accuracy: pd.DataFrame | None = None,
    boot: JointBootstrap | None = None,
) -> pd.DataFrame:
    """a0 and a1 against model size within each family (paper Fig. 5b-c).

    For each family with >= 2 sized models and each coefficient, OLS of the
    coefficient on log10(params); ``p_value`` is the two-sided t-test of the slope
    (df = k-2, NaN for k < 3). With the accuracy table and the joint bootstrap, the
    slope (a linear combination of the accuracies) also gets its bootstrap SE
    (``slope_se_bootstrap``) and a two-sided z-test (``p_value_bootstrap``; these
    models fixed, tasks and trials resampled). Columns: family, coefficient,
    n_models, models, slope_per_decade, slope_se, df, p_value, slope_se_bootstrap,
    p_value_bootstrap, test."""
    m = fits.merge(meta, on="model", how="inner")
    m = m[m["params"].notna() & (m["params"] > 0)]
    use_boot = boot is not None and accuracy is not None
    src = (
        f"; p_value_bootstrap: two-sided z-test, SE from the {_boot_text(boot)}" if use_boot else ""
    )
    rows = []
    for fam in pd.unique(m["family"].dropna()):
        sub = m[m["family"] == fam].sort_values("params")
        if len(sub) < 2:
            continue
        z = np.log10(sub["params"].to_numpy(float))
        for coef in ("a0", "a1"):
            fit = _ols(z, sub[coef].to_numpy(float))
            p1 = fit["p_value"]
            p2 = 2 * min(p1, 1 - p1) if np.isfinite(p1) else np.nan
            se_b = p_b = np.nan
            if use_boot and np.ptp(z) > 0:
                d = (z - z.mean()) / np.sum((z - z.mean()) ** 2)
                weights = {}
                for model, dm in zip(sub["model"], d, strict=True):
                    ns = sorted(accuracy.loc[accuracy["model"] == model, "n_shots"])
                    for n, wn in zip(ns, _coefficient_weights(ns, coef), strict=True):
                        weights[(model, int(n))] = dm * wn
                se_b = boot.se(weights)
                zz = z_one_sided(fit["a1"], se_b)[0]
                p_b = float(2 * sps.norm.sf(abs(zz))) if np.isfinite(zz) else np.nan
            rows.append(
                {
                    "family": fam,
                    "coefficient": coef,
                    "n_models": len(sub),
                    "models": ",".join(sub["model"]),
                    "slope_per_decade": fit["a1"],
                    "slope_se": fit["a1_se"],
                    "df": fit["df"],
                    "p_value": p2,
                    "slope_se_bootstrap": se_b,
                    "p_value_bootstrap": p_b,
                    "test": "OLS of the coefficient on log10(params) over the family's k "
                    "models; p_value: two-sided t-test slope != 0, df = k-2" + src,
                }
            )
    return pd.DataFrame(
        rows,
        columns=[
            "family",
            "coefficient",
            "n_models",
            "models",
            "slope_per_decade",
            "slope_se",
            "df",
            "p_value",
            "slope_se_bootstrap",
            "p_value_bootstrap",
            "test",
        ],
    )


# ---------------------------------------------------------------------------
# trial-level regression with cluster-robust SEs
# ---------------------------------------------------------------------------


def clustered_ols(
    y: np.ndarray, x: np.ndarray, clusters: np.ndarray, weights: np.ndarray | None = None
) -> dict:
    """(Weighted) OLS of y on [1, x] with CR1 cluster-robust covariance (statsmodels
    ``WLS(...).fit(cov_type="cluster")``):

    V = (X'WX)^-1 (sum_g X_g' W_g u_g u_g' W_g X_g) (X'WX)^-1 * G/(G-1) * (N-1)/(N-K);
    the slope's one-sided t-test (slope > 0) uses G-1 degrees of freedom."""
    import statsmodels.api as sm

    x = np.asarray(x, float)
    y = np.asarray(y, float)
    codes, uniq = pd.factorize(pd.Series(clusters))
    g = len(uniq)
    X = sm.add_constant(x, has_constant="add")
    w = np.ones_like(x) if weights is None else np.asarray(weights, float)
    model = sm.WLS(y, X, weights=w)
    if g > 1:
        res = model.fit(cov_type="cluster", cov_kwds={"groups": codes, "use_correction": True})
        se = float(res.bse[1])
    else:
        res, se = model.fit(), np.nan
    beta = res.params
    t = beta[1] / se if np.isfinite(se) and se > 0 else np.nan
    p = float(sps.t.sf(t, g - 1)) if np.isfinite(t) and g > 1 else np.nan
    return {
        "a0": float(beta[0]),
        "a1": float(beta[1]),
        "a1_se": se,
        "t": t,
        "df": g - 1,
        "p_value": p,
        "n_obs": len(y),
        "n_clusters": g,
    }


def clustered_logit(
    y: np.ndarray, x: np.ndarray, clusters: np.ndarray, weights: np.ndarray | None = None
) -> dict:
    """Binomial GLM (logit link) of a 0/1 outcome y on [1, x], with cluster-robust
    (CR1) covariance by ``clusters`` (statsmodels ``GLM(..., family=Binomial())``,
    ``var_weights`` = weights). The slope b1 is on the log-odds scale; its one-sided
    t-test (b1 > 0) uses G-1 degrees of freedom, like :func:`clustered_ols`. NaN
    where the fit does not exist (an outcome that never or always occurs)."""
    import warnings

    import statsmodels.api as sm

    x = np.asarray(x, float)
    y = np.asarray(y, float)
    codes, uniq = pd.factorize(pd.Series(clusters))
    g = len(uniq)
    out = {"b0": np.nan, "b1": np.nan, "b1_se": np.nan, "t": np.nan, "df": g - 1}
    out["p_value"] = np.nan
    if g < 2 or len(np.unique(y)) < 2 or len(np.unique(x)) < 2:
        return out
    w = np.ones_like(x) if weights is None else np.asarray(weights, float)
    model = sm.GLM(
        y, sm.add_constant(x, has_constant="add"), family=sm.families.Binomial(), var_weights=w
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # separation warnings: caught by the checks below
        try:
            res = model.fit(cov_type="cluster", cov_kwds={"groups": codes, "use_correction": True})
        except (np.linalg.LinAlgError, ValueError):
            return out
    b, se = res.params, float(res.bse[1])
    if not (np.all(np.isfinite(b)) and np.isfinite(se) and se > 0 and res.converged):
        return out
    t = b[1] / se
    out.update(b0=float(b[0]), b1=float(b[1]), b1_se=se, t=float(t))
    out["p_value"] = float(sps.t.sf(t, g - 1))
    return out


CLUSTERED_TEST = (
    "trial-level OLS of correct (0/1) on log2(n), weights equalise functions within n "
    "(point estimates = fits.tsv); CR1 SEs clustered by function; one-sided t-test "
    "a1 > 0, df = G-1. logit_*: binomial GLM (logit link) of correct on log2(n), same "
    "weights and clustering; logit_b1 = log-odds per doubling of n; one-sided t-test "
    "logit_b1 > 0, df = G-1"
)
CLUSTERED_COLUMNS = [
    "model",
    "a0",
    "a1",
    "a1_se",
    "t",
    "df",
    "p_value",
    "n_obs",
    "n_clusters",
    "logit_b0",
    "logit_b1",
    "logit_b1_se",
    "odds_ratio_per_doubling",
    "logit_t",
    "logit_p_value",
    "test",
]


def clustered_fit_table(scored: pd.DataFrame) -> pd.DataFrame:
    """Trial-level regressions of ``correct`` on log2(n), SEs clustered by function.

    OLS (linear probability): each trial is weighted by 1/(trials of its function at
    its n) * (mean count), so the point estimates equal the 8-point fit on the
    accuracy table (identical when the design is balanced, as in the paper), while
    the SE uses all trials and the clustering of trials within functions. Beside it a
    binomial GLM (logit link) with the same weights and clustering, since ``correct``
    is a 0/1 outcome. Columns: :data:`CLUSTERED_COLUMNS`."""
    rows = []
    for model in _models_in_order(scored):
        sub = scored[scored["model"] == model]
        cnt = sub.groupby(["n_shots", "function"])["correct"].transform("size").to_numpy(float)
        nf = sub.groupby("n_shots")["function"].transform("nunique").to_numpy(float)
        w = 1.0 / (cnt * nf)
        w = w / w.mean()
        y = sub["correct"].to_numpy(float)
        x = np.log2(sub["n_shots"].to_numpy(float))
        f = sub["function"].to_numpy()
        if len(np.unique(x)) < 2:
            fit = {
                "a0": np.nan,
                "a1": np.nan,
                "a1_se": np.nan,
                "t": np.nan,
                "df": np.nan,
                "p_value": np.nan,
                "n_obs": len(sub),
                "n_clusters": sub["function"].nunique(),
            }
        else:
            fit = clustered_ols(y, x, f, weights=w)
        lg = clustered_logit(y, x, f, weights=w)
        rows.append(
            {
                "model": model,
                **fit,
                "logit_b0": lg["b0"],
                "logit_b1": lg["b1"],
                "logit_b1_se": lg["b1_se"],
                "odds_ratio_per_doubling": math.exp(lg["b1"]) if np.isfinite(lg["b1"]) else np.nan,
                "logit_t": lg["t"],
                "logit_p_value": lg["p_value"],
                "test": CLUSTERED_TEST,
            }
        )
    return pd.DataFrame(rows, columns=CLUSTERED_COLUMNS)


# ---------------------------------------------------------------------------
# versus the mode baseline, scaling with size
# ---------------------------------------------------------------------------


def _boot_text(boot: JointBootstrap) -> str:
    kind = "two-stage" if boot.resample_trials else "one-stage (functions only)"
    return (
        f"joint {kind} cluster bootstrap over the shared prompts "
        f"({boot.values.shape[0]} replicates)"
    )


def vs_baseline_table(
    accuracy: pd.DataFrame,
    baseline: str = "mode",
    alpha: float = 0.05,
    boot: JointBootstrap | None = None,
) -> pd.DataFrame:
    """One-sided z-test per (model, n) of accuracy above the baseline (docs/protocol.md §6).

    z = (P(M,n) - P(B,n)) / SE(P(M,n) - P(B,n)); p = 1 - Phi(z); ``significant`` is
    p < alpha. With ``boot`` (:func:`joint_bootstrap`) the SE of the difference is the
    SD of the replicate differences, which counts the prompts the two share; without
    it, sqrt(se_M^2 + se_B^2), which treats them as independent. Empty when the
    baseline is absent."""
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
        "test",
    ]
    if baseline not in set(accuracy["model"]):
        return pd.DataFrame(columns=cols)
    base = accuracy[accuracy["model"] == baseline].set_index("n_shots")
    se_text = (
        f"SE of the difference from the {_boot_text(boot)}"
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
        z, p = z_one_sided(diff, se)
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
                "test": f"one-sided z-test of accuracy - {baseline} > 0 (accuracy as a "
                f"fraction, N(0,1) reference), alpha = {alpha}; {se_text}",
            }
        )
    return pd.DataFrame(rows, columns=cols)


def z_one_sided(estimate: float, se: float) -> tuple[float, float]:
    """One-sided z-test of estimate > 0: (z, 1 - Phi(z)); NaN when se is not > 0."""
    if not se > 0:
        return (float("nan"), float("nan"))
    z = estimate / se
    return (float(z), float(sps.norm.sf(z)))


def z_test(a: float, se_a: float, b: float, se_b: float) -> tuple[float, float]:
    """One-sided z-test of a > b with independent SEs: (z, 1 - Phi(z))."""
    return z_one_sided(a - b, math.sqrt(se_a**2 + se_b**2))


def model_metadata(models: Sequence[Mapping]) -> pd.DataFrame:
    """Config model entries -> DataFrame ``model, family, params, reference``.

    Reference learners (backend ``reference``) get family ``reference``."""
    rows = []
    for m in models:
        ref = m.get("backend") == "reference"
        rows.append(
            {
                "model": m["name"],
                "family": "reference" if ref else m.get("family"),
                "params": float(m["params"]) if m.get("params") is not None else np.nan,
                "reference": ref,
            }
        )
    return pd.DataFrame(rows, columns=["model", "family", "params", "reference"])


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
    src = _boot_text(boot) if boot is not None else "independent SEs sqrt(se_1^2 + se_2^2)"
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
            fit = _ols(x, y)
            lin = _ols(sub["params"].to_numpy(float), y)
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
) -> pd.DataFrame:
    """Mean accuracy of each family's models per n (paper Fig. 2d), with its SE and a
    one-sided z-test of the family mean above the baseline.

    With ``boot`` both SEs are SDs over the joint replicates (of the mean of the
    family's models, and of that minus the baseline), so the task effects the models
    share count; without it sqrt(sum se^2)/k, as if the models were independent.
    Columns: family, n_shots, n_models, models, accuracy, se, baseline,
    baseline_accuracy, difference, se_difference, z, p_value, test."""
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
        "test",
    ]
    a = accuracy.merge(meta, on="model", how="inner")
    a = a[~a["reference"].astype(bool) & a["family"].notna()]
    base = accuracy[accuracy["model"] == baseline].set_index("n_shots")
    src = _boot_text(boot) if boot is not None else "sqrt(sum se^2)/k, models as independent"
    test = (
        f"family mean of accuracy (fraction); one-sided z-test of family mean - "
        f"{baseline} > 0 (N(0,1) reference); SEs: {src}"
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
            b_acc = diff = se_d = z = p = np.nan
            if n in base.index:
                b_acc = float(base.loc[n, "accuracy"])
                diff = mean - b_acc
                if boot is not None:
                    se_d = boot.se({**wts, (baseline, int(n)): -1.0})
                else:
                    se_d = math.sqrt(se**2 + float(base.loc[n, "se"]) ** 2)
                z, p = z_one_sided(diff, se_d)
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
                    "test": test,
                }
            )
    return pd.DataFrame(rows, columns=cols)


# ---------------------------------------------------------------------------
# breakdowns
# ---------------------------------------------------------------------------


def varies_within_function(scored: pd.DataFrame, by: str) -> bool:
    """Whether ``by`` is a property of the trial (it varies among one function's
    prompts at one n, e.g. ``target_diversity``) rather than of the function
    (``bit_load``, ``category``)."""
    return bool((scored.groupby(["n_shots", "function"])[by].nunique() > 1).any())


BREAKDOWN_ESTIMATORS = {
    True: "pooled over prompts: correct prompts / prompts of the level (a trial property)",
    False: "mean over the level's functions of per-function means (a function property)",
}


def breakdown_table(
    scored: pd.DataFrame,
    by: str,
    replicates: int = 5000,
    seed: int = 0,
    pooled: bool | None = None,
    resample_trials: bool = True,
) -> pd.DataFrame:
    """Accuracy per (model, n_shots, ``by``) -- e.g. ``bit_load`` or ``target_diversity``.

    A property of the trial (``pooled``; default: when ``by`` varies within a
    function, as the target's BitDiversity does) pools the prompts: accuracy is the
    share of the level's prompts answered correctly, so a function with one such
    trial weighs one trial. A property of the function (BitLoad) keeps the headline
    metric's weighting: the mean over the level's functions of their per-function
    means. SEs from the joint cluster bootstrap by function (the draws of
    :func:`joint_bootstrap`, the statistic recomputed on the level's resampled
    prompts). Columns: model, n_shots, ``by``, accuracy, se, n_functions, n_prompts,
    estimator."""
    tables = breakdown_tables(scored, replicates, seed, {by: pooled}, resample_trials)
    return tables[BREAKDOWN_TABLES.get(by, by)]


BREAKDOWN_TABLES = {"bit_load": "bitload"}  # column -> table name, where they differ


def _breakdown_columns(by: str) -> list[str]:
    return ["model", "n_shots", by, "accuracy", "se", "n_functions", "n_prompts", "estimator"]


def _breakdown_point(scored: pd.DataFrame, by: str, pooled: bool) -> pd.DataFrame:
    """Point estimates of :func:`breakdown_table` per (model, n_shots, level)."""
    keys = ["model", "n_shots", by]
    per_f = scored.groupby([*keys, "function"], sort=False)["correct"].agg(["mean", "size"])
    g = per_f.groupby(level=keys, sort=False)
    out = pd.DataFrame(
        {
            "n_functions": g.size(),
            "n_prompts": g["size"].sum(),
            "cluster_mean": g["mean"].mean(),
        }
    )
    pooled_mean = scored.groupby(keys, sort=False)["correct"].mean()
    out["accuracy"] = pooled_mean.reindex(out.index) if pooled else out["cluster_mean"]
    return out.reset_index()


def _breakdown_replicates(
    scored: pd.DataFrame,
    props: Mapping[str, bool],
    replicates: int,
    seed: int,
    resample_trials: bool,
) -> dict[str, dict[tuple[str, int, object], np.ndarray]]:
    """Replicates of every breakdown of ``props`` ({column: pooled}) from one joint
    draw: {column: {(model, n, level): (R,) replicate accuracies}}."""
    models = _models_in_order(scored)
    funcs, design = _joint_design(scored)
    for by in props:
        if (scored.groupby(KEY)[by].nunique() > 1).any():
            raise ValueError(
                f"breakdown by {by!r}: it differs between models on the same prompt; a "
                "breakdown needs a property of the prompt or the function"
            )
    prep = {}
    for n, keys in design.items():
        cell = scored[scored["n_shots"] == n].drop_duplicates(["function", "trial"])
        idx = pd.MultiIndex.from_frame(keys[["function", "trial"]])
        y = _correct_matrix(scored, keys, n, models)
        have = [i for i, m in enumerate(models) if not np.isnan(y[:, i]).all()]
        y = y[:, have].astype(np.float32)
        per = {}
        for by, pooled in props.items():
            level = cell.set_index(["function", "trial"])[by].reindex(idx).to_numpy()
            order = np.argsort(level, kind="stable")  # a level is a slice of the sorted prompts
            lv, first, cnt = np.unique(level[order], return_index=True, return_counts=True)
            if pooled:
                scale = np.ones(len(keys), np.float32)
            else:  # each function's trials in a level carry total weight 1
                size = pd.Series(level).groupby([keys["_f"].to_numpy(), level]).transform("size")
                scale = (1.0 / size.to_numpy()).astype(np.float32)
            reps = np.empty((replicates, len(have), len(lv)))
            per[by] = (order, lv, first, cnt, scale[order], y[order], reps)
        prep[n] = (have, per)
    for n, rows, counts in _joint_draws(design, len(funcs), replicates, seed, resample_trials):
        for order, _lv, first, cnt, scale, y, reps in prep[n][1].values():
            w = counts[:, order] * scale
            for j, (s0, c) in enumerate(zip(first, cnt, strict=True)):
                ws = w[:, s0 : s0 + c]
                den = ws.sum(axis=1, dtype=float)[:, None]
                with np.errstate(invalid="ignore", divide="ignore"):
                    reps[rows, :, j] = (ws @ y[s0 : s0 + c]) / den
    out: dict[str, dict] = {by: {} for by in props}
    for n, (have, per) in prep.items():
        for by, (_o, lv, _f, _c, _s, _y, reps) in per.items():
            for k, i in enumerate(have):
                for j, level in enumerate(lv):
                    out[by][(models[i], n, level)] = reps[:, k, j]
    return out


def wilson_interval(
    k: np.ndarray, n: np.ndarray, alpha: float = 0.05
) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for k successes out of n (two-sided, level 1-alpha)."""
    k = np.asarray(k, float)
    n = np.asarray(n, float)
    z = sps.norm.ppf(1 - alpha / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = k / n
        den = 1 + z**2 / n
        centre = (p + z**2 / (2 * n)) / den
        half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / den
    return np.clip(centre - half, 0, 1), np.clip(centre + half, 0, 1)


def per_task_table(scored: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """Per (model, n_shots, function): accuracy over its m trials with a Wilson
    interval (level 1-alpha). Columns: model, n_shots, function, category, bit_load,
    n_trials, n_correct, accuracy, wilson_lo, wilson_hi."""
    cols = {"category": "first"} if "category" in scored else {}
    if "bit_load" in scored:
        cols["bit_load"] = "first"
    g = (
        scored.groupby(["model", "n_shots", "function"], sort=False)
        .agg(
            n_trials=("correct", "size"),
            n_correct=("correct", "sum"),
            **{c: (c, how) for c, how in cols.items()},
        )
        .reset_index()
    )
    g["n_correct"] = g["n_correct"].astype(int)
    g["accuracy"] = g["n_correct"] / g["n_trials"]
    lo, hi = wilson_interval(g["n_correct"], g["n_trials"], alpha)
    g["wilson_lo"], g["wilson_hi"] = lo, hi
    order = [
        "model",
        "n_shots",
        "function",
        *cols,
        "n_trials",
        "n_correct",
        "accuracy",
        "wilson_lo",
        "wilson_hi",
    ]
    return g[order]


# ---------------------------------------------------------------------------
# understandable mistakes and BitDiversity
# ---------------------------------------------------------------------------


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
    return g.sort_values(["model", "n_shots"], key=_order_key(scored)).reset_index(drop=True)


def _order_key(scored: pd.DataFrame):
    order = {m: i for i, m in enumerate(_models_in_order(scored))}

    def key(col: pd.Series) -> pd.Series:
        return col.map(order) if col.name == "model" else col

    return key


def diversity_zero_table(scored: pd.DataFrame) -> pd.DataFrame:
    """Share of predictions with BitDiversity 0 (all-zeros/all-ones) vs the true share
    of targets with BitDiversity 0, per (model, n_shots) (paper Fig. 11).

    Invalid predictions count as not BitDiversity 0 (the denominator is all
    prompts); ``pred_share_valid`` uses valid predictions only. Columns: model,
    n_shots, n_prompts, n_valid, pred_share, pred_share_valid, true_share, excess."""
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
    g = g[
        [
            "model",
            "n_shots",
            "n_prompts",
            "n_valid",
            "pred_share",
            "pred_share_valid",
            "true_share",
            "excess",
        ]
    ]
    return g.sort_values(["model", "n_shots"], key=_order_key(scored)).reset_index(drop=True)


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
    0 (never 0 with R replicates)."""
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
                "n_pairs": int(n_pairs.loc[n]),
                "test": f"A - B (accuracy, fraction) by the {_boot_text(boot)}; "
                f"{100 * (1 - alpha):g}% percentile CI; two-sided bootstrap p",
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
    models = _models_in_order(scored)
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
# power
# ---------------------------------------------------------------------------


def trials_needed(
    p0: float,
    effect: float,
    alpha: float = 0.05,
    power: float = 0.8,
    exact: bool = True,
    m_max: int = 10_000,
) -> int:
    """Trials m a one-sided one-sample test of a task's accuracy (H0: p = p0 vs
    H1: p = p0 + effect) needs for the given power.

    ``exact=False``: normal approximation
    m = ((z_{1-a} sqrt(p0 q0) + z_{pow} sqrt(p1 q1)) / effect)^2, rounded up.
    ``exact=True``: smallest m whose exact binomial test (reject when
    k >= c, P0(k >= c) <= alpha) reaches the power."""
    p1 = p0 + effect
    if not (0 <= p0 < 1 and 0 < p1 <= 1 and effect > 0):
        raise ValueError("need 0 <= p0 < p0 + effect <= 1")
    za, zb = sps.norm.ppf(1 - alpha), sps.norm.ppf(power)
    approx = ((za * math.sqrt(p0 * (1 - p0)) + zb * math.sqrt(p1 * (1 - p1))) / effect) ** 2
    m_norm = max(1, math.ceil(approx))
    if not exact:
        return m_norm
    for m in range(1, m_max + 1):
        if exact_power(m, p0, p1, alpha) >= power:
            return m
    return -1


def exact_power(m: int, p0: float, p1: float, alpha: float = 0.05) -> float:
    """Power of the one-sided exact binomial test of p = p0 vs p1 > p0 with m trials."""
    k = np.arange(m + 2)
    tail0 = sps.binom.sf(k - 1, m, p0)  # P0(K >= k)
    c = int(k[np.argmax(tail0 <= alpha)]) if (tail0 <= alpha).any() else m + 1
    return float(sps.binom.sf(c - 1, m, p1))


def power_table(
    effect: float = 0.25,
    alpha: float = 0.05,
    power: float = 0.8,
    m_current: int = 8,
    baselines: Sequence[float] = (0.0, 0.05, 0.1, 0.2, 0.3, 0.5),
) -> pd.DataFrame:
    """Power note for per-task claims: for each baseline accuracy p0 and the chosen
    effect, the trials m a one-sided test needs (normal approximation and exact
    binomial), the power the current m has, and the current resolution 1/m."""
    rows = []
    for p0 in baselines:
        if p0 + effect > 1:
            continue
        rows.append(
            {
                "p0": p0,
                "p1": p0 + effect,
                "effect": effect,
                "alpha": alpha,
                "power": power,
                "m_normal": trials_needed(p0, effect, alpha, power, exact=False),
                "m_exact": trials_needed(p0, effect, alpha, power, exact=True),
                "m_current": m_current,
                "power_at_m_current": exact_power(m_current, p0, p0 + effect, alpha),
                "resolution_at_m_current": 1.0 / m_current,
                "test": "one-sided one-sample test of a task's accuracy vs p0; m_normal: "
                "normal approximation; m_exact / power: exact binomial test",
            }
        )
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------
# synthetic results (tests and benchmarks)
# ---------------------------------------------------------------------------


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
    scoring as a real model's. For tests and benchmarks."""
    from genomic_icl import functions as fn
    from genomic_icl.prompts import GENOMIC, Encoding, encode_bits, prompt_table
    from genomic_icl.scoring import score, scored_table

    rng = np.random.default_rng(seed)
    names = list(functions) if functions is not None else list(fn.FUNCTION_NAMES)
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


# ---------------------------------------------------------------------------
# published reference and external tables
# ---------------------------------------------------------------------------


def load_table4() -> pd.DataFrame:
    """The published Table 4 (v2) as ``model, family, params, n_shots,
    accuracy_percent, accuracy`` (accuracy a fraction); see ``data/table4.tsv``."""
    from importlib import resources

    with resources.files("genomic_icl").joinpath("data/table4.tsv").open("r") as fh:
        return pd.read_csv(fh, sep="\t", comment="#")


def read_accuracy_tsv(path: str) -> pd.DataFrame:
    """An accuracy TSV with at least ``model, n_shots, accuracy`` (fractions).

    Raises ``ValueError`` for missing columns, non-positive n, or accuracies outside
    [0, 1] (a table in percent must be divided by 100 first)."""
    df = pd.read_csv(path, sep="\t", comment="#")
    missing = {"model", "n_shots", "accuracy"} - set(df.columns)
    if missing:
        raise ValueError(f"{path}: missing columns {sorted(missing)}")
    if (df["n_shots"] <= 0).any():
        raise ValueError(f"{path}: n_shots must be positive")
    if ((df["accuracy"] < 0) | (df["accuracy"] > 1)).any():
        raise ValueError(f"{path}: accuracy must be a fraction in [0, 1] (percent? divide by 100)")
    df["model"] = df["model"].astype(str)
    return df


# ---------------------------------------------------------------------------
# every table at once (benchmarks, tests; the workflow splits them over rules)
# ---------------------------------------------------------------------------

TABLE_NAMES = (
    "accuracy",
    "fits",
    "clustered_fits",
    "fits_vs_size",
    "vs_mode",
    "scaling",
    "family_means",
    "bitload",
    "target_diversity",
    "per_task",
    "mistakes",
    "diversity_zero",
    "paired",
    "power",
)


def accuracy_tables(
    accuracy: pd.DataFrame,
    meta: pd.DataFrame,
    baseline: str = "mode",
    alpha: float = 0.05,
    boot: JointBootstrap | None = None,
) -> dict[str, pd.DataFrame]:
    """Tables computed from the accuracy table and the joint bootstrap's replicates
    (``boot``; without it, SEs of differences treat the models as independent):
    fits, fits_vs_size, vs_mode, scaling, family_means."""
    fits = fit_table(accuracy)
    return {
        "fits": fits,
        "fits_vs_size": fits_vs_size(fits, meta, accuracy, boot),
        "vs_mode": vs_baseline_table(accuracy, baseline, alpha, boot),
        "scaling": scaling_table(accuracy, meta, boot),
        "family_means": family_means_table(accuracy, meta, boot, baseline),
    }


def trial_tables(
    scored: pd.DataFrame, trials: int, power: Mapping | None = None, alpha: float = 0.05
) -> dict[str, pd.DataFrame]:
    """Tables computed from trial-level results without bootstrap: clustered_fits,
    per_task, mistakes, diversity_zero, power."""
    power = dict(power or {})
    return {
        "clustered_fits": clustered_fit_table(scored),
        "per_task": per_task_table(scored, alpha),
        "mistakes": mistakes_table(scored),
        "diversity_zero": diversity_zero_table(scored),
        "power": power_table(
            effect=power.get("effect", 0.25),
            alpha=power.get("alpha", 0.05),
            power=power.get("power", 0.8),
            m_current=trials,
        ),
    }


def breakdown_tables(
    scored: pd.DataFrame,
    replicates: int = 5000,
    seed: int = 0,
    props: Mapping[str, bool | None] | None = None,
    resample_trials: bool = True,
) -> dict[str, pd.DataFrame]:
    """Accuracy by each property of ``props`` ({column: pooled or None for automatic};
    default: BitLoad and the target's BitDiversity) with SEs from one joint draw (see
    :func:`breakdown_table`), keyed by table name (:data:`BREAKDOWN_TABLES`, else the
    column name)."""
    props = dict(props or {"bit_load": None, "target_diversity": None})
    pooled = {
        by: varies_within_function(scored, by) if p is None else bool(p) for by, p in props.items()
    }
    if scored.empty:
        return {
            BREAKDOWN_TABLES.get(by, by): pd.DataFrame(columns=_breakdown_columns(by))
            for by in props
        }
    reps = _breakdown_replicates(scored, pooled, replicates, seed, resample_trials)
    order = {m: i for i, m in enumerate(_models_in_order(scored))}
    out = {}
    for by, pool in pooled.items():
        t = _breakdown_point(scored, by, pool)
        t["se"] = [
            _sd(reps[by][(m, int(n), lv)])
            for m, n, lv in t[["model", "n_shots", by]].itertuples(index=False)
        ]
        t["estimator"] = BREAKDOWN_ESTIMATORS[pool]
        t["n_shots"] = t["n_shots"].astype(int)
        if pd.api.types.is_numeric_dtype(t[by]):
            t[by] = t[by].astype(int)
        out[BREAKDOWN_TABLES.get(by, by)] = (
            t.assign(_o=t["model"].map(order))
            .sort_values(["_o", "n_shots", by])[_breakdown_columns(by)]
            .reset_index(drop=True)
        )
    return out


def compute_all(
    scored: pd.DataFrame,
    meta: pd.DataFrame,
    replicates: int = 5000,
    seed: int = 0,
    trials: int | None = None,
    baseline: str = "mode",
    alpha: float = 0.05,
    comparisons: Iterable | str = "all",
    power: Mapping | None = None,
) -> dict[str, pd.DataFrame]:
    """Every table of :data:`TABLE_NAMES` from the scored results of all models."""
    boot = joint_bootstrap(scored, replicates, seed)
    acc = accuracy_table(scored, boot=boot)
    m = trials or int(scored.groupby(["model", "n_shots", "function"]).size().max())
    out = {
        "accuracy": acc,
        **accuracy_tables(acc, meta, baseline, alpha, boot),
        **trial_tables(scored, m, power, alpha),
        **breakdown_tables(scored, replicates, seed),
        "paired": paired_table(scored, comparisons, replicates, seed, boot),
    }
    return {k: out[k] for k in TABLE_NAMES}
