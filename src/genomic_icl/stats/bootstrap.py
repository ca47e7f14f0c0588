"""The bootstrap behind every standard error, and the headline accuracy.

Seeds that depend on labels only (:func:`stable_key`, :func:`bootstrap_seed`); the
two-stage cluster bootstrap of one cell (:func:`cluster_bootstrap`) with its exact
ideal (:func:`analytic_bootstrap_se`); the joint bootstrap that draws once for every
model and n of a run (:func:`joint_bootstrap`, :class:`JointBootstrap`); and the
accuracy table with its SEs (:func:`accuracy_table`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from genomic_icl.prompts import name_key
from genomic_icl.stats.common import models_in_order, replicate_sd

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
# the two-stage cluster bootstrap of one cell
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


def joint_design(scored: pd.DataFrame) -> tuple[np.ndarray, dict[int, pd.DataFrame]]:
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


def joint_draws(
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


def correct_matrix(
    scored: pd.DataFrame, keys: pd.DataFrame, n: int, models: list[str], column: str = "correct"
):
    """(P_n, models) correctness (or another per-prompt ``column``) at n, rows in the
    order of ``keys``; NaN where absent."""
    cell = scored[scored["n_shots"] == n]
    wide = cell.pivot(index=["function", "trial"], columns="model", values=column)
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
        return replicate_sd(np.asarray(v, float))

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


def joint_bootstrap(
    scored: pd.DataFrame,
    replicates: int = 5000,
    seed: int = 0,
    resample_trials: bool = True,
    column: str = "correct",
) -> JointBootstrap:
    """The two-stage cluster bootstrap of docs/protocol.md §6, drawn once for all models and n.

    Replicate r resamples the functions once for the whole run (stage 1) and, at each
    n, the trials of every chosen function (stage 2); the same draws, by prompt, apply
    to every model. Each (model, n) replicate is the mean over the drawn functions of
    their resampled per-function means, so a model's SE has the distribution of the
    per-cell two-stage bootstrap, while differences, family means and slopes over
    models get SEs that count the task effects the models share.
    ``resample_trials=False`` resamples functions only (one-stage). ``column``: the
    per-prompt value averaged (default ``correct``: accuracy; e.g. bits per symbol for
    the in-context loss); a (model, n) whose values are all NaN is left out. The draws
    do not depend on ``column``, so replicates of two columns pair by replicate. Needs
    every model of an n on the same prompts (``ValueError`` otherwise)."""
    models = models_in_order(scored)
    funcs, design = joint_design(scored)
    cells = []
    ys, inv_size = {}, {}
    for n, keys in design.items():
        y = correct_matrix(scored, keys, n, models, column)
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
    for n, rows, counts in joint_draws(design, len(funcs), replicates, seed, resample_trials):
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


def boot_text(boot: JointBootstrap) -> str:
    """How a table's ``test`` column names the bootstrap behind its SEs."""
    kind = "two-stage" if boot.resample_trials else "one-stage (functions only)"
    return (
        f"joint {kind} cluster bootstrap over the shared prompts "
        f"({boot.values.shape[0]} replicates)"
    )


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
    for model in models_in_order(scored):
        for n in sorted(acc.loc[model].index):
            rows.append(
                {
                    "model": model,
                    "n_shots": int(n),
                    "accuracy": float(acc.loc[(model, n)]),
                    "se": replicate_sd(boot.replicates(model, int(n))),
                    "n_prompts": int(size.loc[(model, n)]),
                }
            )
    return pd.DataFrame(rows, columns=["model", "n_shots", "accuracy", "se", "n_prompts"])
