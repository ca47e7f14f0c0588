"""In-context loss against the Bayes oracle (beyond the paper; docs/protocol.md,
"In-context loss").

Per prompt, a model's loss is its bits per target symbol, -log2 P(target | prompt) / 8.
The oracle's posterior predictive (:func:`genomic_icl.learners.oracle_distribution`) is
computed here from every prompt's demonstrations, so the floor and each model's excess
over it exist whether or not the run has an ``oracle`` model. Aggregation is that of
accuracy (mean over functions of per-function means over trials) and every SE comes
from the joint two-stage cluster bootstrap (:func:`genomic_icl.stats.joint_bootstrap`,
the same draws as accuracy's, one call for every quantity and model).

Tables: :func:`loss_tables` -> ``in_context_loss`` (per model and n),
``in_context_loss_positions`` (per output position), ``in_context_loss_fits`` (the
slope against log2 n and a power law of the excess), ``answer_distribution`` (mass on
valid answers, the normalised distribution's loss and its KL divergence from the
oracle's posterior predictive).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats as sps
from scipy.special import logsumexp

from genomic_icl import bits
from genomic_icl.learners import answer_distributions, prefix_logprobs
from genomic_icl.stats.bootstrap import JointBootstrap, boot_text, joint_bootstrap
from genomic_icl.stats.common import KEY, models_in_order, replicate_sd
from genomic_icl.stats.fits import clustered_ols, equalising_weights

LN2 = math.log(2)
POSITIONS = tuple(range(1, bits.N_BITS + 1))
#: a power law of the excess loss is called a poor fit below this R^2 (log-log OLS)
POWER_LAW_MIN_R2 = 0.9
_SEP = "\x1f"  # joins model and quantity into the bootstrap's cell label

LOSS_COLUMNS = [
    "model",
    "n_shots",
    "bits_per_symbol",
    "se",
    "oracle_bits_per_symbol",
    "excess_bits_per_symbol",
    "excess_se",
    "n_prompts",
    "test",
]
POSITION_COLUMNS = [
    "model",
    "n_shots",
    "position",
    "bits",
    "se",
    "oracle_bits",
    "excess_bits",
    "excess_se",
    "n_prompts",
]
FIT_COLUMNS = [
    "model",
    "slope",
    "slope_se",
    "t",
    "df",
    "p_value",
    "n_obs",
    "n_clusters",
    "power_exponent",
    "power_ci_low",
    "power_ci_high",
    "power_r2",
    "power_law",
    "test",
]
ANSWER_COLUMNS = [
    "model",
    "n_shots",
    "valid_mass",
    "valid_mass_se",
    "normalized_bits_per_symbol",
    "normalized_se",
    "kl_bits_per_symbol",
    "kl_se",
    "n_prompts",
    "test",
]
NO_LOGPROBS = "no log-probabilities: its backend records none (all NaN); left out"


def _stack(column: pd.Series, width: int) -> np.ndarray:
    """A list column (arrays of ``width``) as a (rows, width) float64 array."""
    if len(column) == 0:
        return np.empty((0, width))
    return np.stack([np.asarray(v, dtype=np.float64) for v in column])


def oracle_prompt_distributions(scored: pd.DataFrame) -> np.ndarray:
    """(rows, 256) oracle posterior predictive of each row's prompt, computed once per
    (function, n, trial)."""
    codes, _ = pd.factorize(pd.MultiIndex.from_frame(scored[KEY]))
    first = np.unique(codes, return_index=True)[1]  # codes number prompts as they appear
    probs = answer_distributions("oracle", scored.iloc[first])
    return probs[codes]


def per_prompt_loss(scored: pd.DataFrame) -> pd.DataFrame:
    """One row per scored row (``model`` and the prompt key) with the per-prompt
    quantities, in bits (NaN where the model lacks what a quantity needs):

    - ``bits_per_symbol`` = -log2 P(target | prompt) / 8; ``oracle_bits_per_symbol``
      the same under the oracle's posterior predictive; ``excess_bits_per_symbol``
      their difference;
    - ``bits_position_i`` / ``oracle_bits_position_i`` / ``excess_bits_position_i``
      (i = 1..8): -log2 P(target symbol i | prompt, target symbols before i);
    - ``valid_mass``: the probability of the 256 valid answers together;
      ``normalized_bits_per_symbol``: the loss of the distribution renormalised over
      them; ``kl_bits_per_symbol``: KL(oracle || renormalised model) / 8.
    """
    target = scored["target_bits"].to_numpy(np.int64)
    rows = np.arange(len(scored))
    oracle = oracle_prompt_distributions(scored)
    with np.errstate(divide="ignore"):
        log_oracle = np.log(oracle)
    out = scored[["model", *KEY]].copy()
    # (+ 0.0 turns the -0.0 of a certain answer into 0.0)
    out["bits_per_symbol"] = 0.0 - scored["target_logprob"].to_numpy(float) / (LN2 * bits.N_BITS)
    out["oracle_bits_per_symbol"] = 0.0 - log_oracle[rows, target] / (LN2 * bits.N_BITS)
    out["excess_bits_per_symbol"] = out["bits_per_symbol"] - out["oracle_bits_per_symbol"]
    positions = 0.0 - _stack(scored["position_logprobs"], bits.N_BITS) / LN2
    oracle_pos = 0.0 - prefix_logprobs(oracle, target) / LN2
    for i in POSITIONS:
        out[f"bits_position_{i}"] = positions[:, i - 1]
        out[f"oracle_bits_position_{i}"] = oracle_pos[:, i - 1]
        out[f"excess_bits_position_{i}"] = positions[:, i - 1] - oracle_pos[:, i - 1]
    answers = _stack(scored["answer_logprobs"], bits.N_SYMBOLS)
    have = ~np.isnan(answers).any(axis=1)
    log_total = np.full(len(scored), np.nan)
    log_total[have] = logsumexp(answers[have], axis=1)
    log_norm = answers - log_total[:, None]
    out["valid_mass"] = np.exp(log_total)
    out["normalized_bits_per_symbol"] = 0.0 - log_norm[rows, target] / (LN2 * bits.N_BITS)
    with np.errstate(invalid="ignore"):
        terms = np.where(oracle > 0, oracle * (log_oracle - log_norm), 0.0)
    kl = terms.sum(axis=1) / (LN2 * bits.N_BITS)
    out["kl_bits_per_symbol"] = np.where(have, kl, np.nan)
    _check_complete(out)
    return out


def _check_complete(per_prompt: pd.DataFrame) -> None:
    """A model has each quantity for every prompt or for none: a mean that skipped some
    prompts would not be the table's mean, and the bootstrap would give it no SE.

    Raises:
        ValueError: naming the model, the quantity and how many prompts lack it.
    """
    for model, rows in per_prompt.groupby("model", sort=False):
        for q in QUANTITIES:
            values = rows[q].to_numpy(float)
            bad = ~np.isfinite(values)
            if bad.any() and not np.isnan(values).all():
                raise ValueError(
                    f"model {model!r}: {q} is not finite for {int(bad.sum())} of {len(values)} "
                    "prompts (NaN, or a probability of 0); in-context loss needs it for every "
                    "prompt or none: check the model's predictions "
                    "(results/predictions/<model>/, column target_logprob / position_logprobs "
                    "/ answer_logprobs)"
                )


QUANTITIES = (
    "bits_per_symbol",
    "excess_bits_per_symbol",
    *(f"{kind}_position_{i}" for kind in ("bits", "excess_bits") for i in POSITIONS),
    "valid_mass",
    "normalized_bits_per_symbol",
    "kl_bits_per_symbol",
)


def loss_bootstrap(per_prompt: pd.DataFrame, replicates: int, seed: int) -> JointBootstrap:
    """The joint two-stage cluster bootstrap of every per-prompt quantity of every model
    (one call of :func:`joint_bootstrap`: its draws depend on the prompts only, so they
    are accuracy's draws and pair with them by replicate). Cells are
    ``(model + "\\x1f" + quantity, n)``; a quantity a model lacks (all NaN) is absent."""
    long = per_prompt.melt(
        id_vars=["model", *KEY], value_vars=list(QUANTITIES), var_name="q", value_name="value"
    )
    long["model"] = long["model"] + _SEP + long["q"]
    return joint_bootstrap(long.drop(columns="q"), replicates, seed, column="value")


def _cell(boot: JointBootstrap, model: str, quantity: str, n: int) -> np.ndarray | None:
    label = model + _SEP + quantity
    return boot.replicates(label, n) if boot.has(label, n) else None


def _aggregate(per_prompt: pd.DataFrame, column: str) -> pd.Series:
    """Mean over functions of per-function means, per (model, n_shots)."""
    by_f = per_prompt.groupby(["model", "n_shots", "function"], sort=False)[column].mean()
    return by_f.groupby(level=["model", "n_shots"], sort=False).mean()


def _has(per_prompt: pd.DataFrame, model: str, column: str) -> bool:
    return bool(per_prompt.loc[per_prompt["model"] == model, column].notna().any())


def _sd(reps: np.ndarray | None) -> float:
    return replicate_sd(reps) if reps is not None else float("nan")


def loss_table(per_prompt: pd.DataFrame, boot: JointBootstrap) -> pd.DataFrame:
    """``in_context_loss.tsv``: per (model, n) with log-probabilities, bits per symbol
    and its SE, the oracle's bits per symbol on the same prompts, and the excess with
    its SE (:data:`LOSS_COLUMNS`)."""
    test = f"SEs: {boot_text(boot)}"
    agg = {c: _aggregate(per_prompt, c) for c in ("bits_per_symbol", "oracle_bits_per_symbol")}
    agg["excess"] = _aggregate(per_prompt, "excess_bits_per_symbol")
    size = per_prompt.groupby(["model", "n_shots"], sort=False).size()
    rows = []
    for model in models_in_order(per_prompt):
        if not _has(per_prompt, model, "bits_per_symbol"):
            continue
        for n in sorted(agg["bits_per_symbol"].loc[model].index):
            rows.append(
                {
                    "model": model,
                    "n_shots": int(n),
                    "bits_per_symbol": float(agg["bits_per_symbol"].loc[(model, n)]),
                    "se": _sd(_cell(boot, model, "bits_per_symbol", n)),
                    "oracle_bits_per_symbol": float(agg["oracle_bits_per_symbol"].loc[(model, n)]),
                    "excess_bits_per_symbol": float(agg["excess"].loc[(model, n)]),
                    "excess_se": _sd(_cell(boot, model, "excess_bits_per_symbol", n)),
                    "n_prompts": int(size.loc[(model, n)]),
                    "test": test,
                }
            )
    return pd.DataFrame(rows, columns=LOSS_COLUMNS)


def position_table(per_prompt: pd.DataFrame, boot: JointBootstrap) -> pd.DataFrame:
    """``in_context_loss_positions.tsv``: per (model, n, output position 1..8) with
    per-position log-probabilities, bits of that symbol given the ones before, its SE,
    the oracle's, and the excess with its SE (:data:`POSITION_COLUMNS`)."""
    size = per_prompt.groupby(["model", "n_shots"], sort=False).size()
    rows = []
    for model in models_in_order(per_prompt):
        if not _has(per_prompt, model, "bits_position_1"):
            continue
        sub = per_prompt[per_prompt["model"] == model]
        for i in POSITIONS:
            model_bits = _aggregate(sub, f"bits_position_{i}")
            oracle_bits = _aggregate(sub, f"oracle_bits_position_{i}")
            excess = _aggregate(sub, f"excess_bits_position_{i}")
            for n in sorted(model_bits.loc[model].index):
                rows.append(
                    {
                        "model": model,
                        "n_shots": int(n),
                        "position": i,
                        "bits": float(model_bits.loc[(model, n)]),
                        "se": _sd(_cell(boot, model, f"bits_position_{i}", n)),
                        "oracle_bits": float(oracle_bits.loc[(model, n)]),
                        "excess_bits": float(excess.loc[(model, n)]),
                        "excess_se": _sd(_cell(boot, model, f"excess_bits_position_{i}", n)),
                        "n_prompts": int(size.loc[(model, n)]),
                    }
                )
    out = pd.DataFrame(rows, columns=POSITION_COLUMNS)
    order = {m: k for k, m in enumerate(models_in_order(per_prompt))}
    return out.sort_values(
        ["model", "n_shots", "position"], key=lambda c: c.map(order) if c.name == "model" else c
    ).reset_index(drop=True)


def answer_table(per_prompt: pd.DataFrame, boot: JointBootstrap) -> pd.DataFrame:
    """``answer_distribution.tsv``: per (model, n) with the 256 answer log-probabilities,
    the mass on valid answers, the renormalised distribution's bits per symbol and its
    KL divergence from the oracle's posterior predictive (bits per symbol), each with
    its SE (:data:`ANSWER_COLUMNS`)."""
    test = f"SEs: {boot_text(boot)}"
    cols = ("valid_mass", "normalized_bits_per_symbol", "kl_bits_per_symbol")
    agg = {c: _aggregate(per_prompt, c) for c in cols}
    size = per_prompt.groupby(["model", "n_shots"], sort=False).size()
    rows = []
    for model in models_in_order(per_prompt):
        if not _has(per_prompt, model, "valid_mass"):
            continue
        for n in sorted(agg["valid_mass"].loc[model].index):
            row = {"model": model, "n_shots": int(n)}
            for c, se in zip(cols, ("valid_mass_se", "normalized_se", "kl_se"), strict=True):
                row[c] = float(agg[c].loc[(model, n)])
                row[se] = _sd(_cell(boot, model, c, n))
            rows.append({**row, "n_prompts": int(size.loc[(model, n)]), "test": test})
    return pd.DataFrame(rows, columns=ANSWER_COLUMNS)


def power_law_fit(ns: np.ndarray, excess: np.ndarray, replicates: np.ndarray | None = None) -> dict:
    """Fit excess(n) = c * n^-alpha by OLS of log2(excess) on log2(n) over the shot
    counts; the interval is the 2.5-97.5 % percentile interval of alpha refitted on
    every bootstrap replicate (``replicates``: (R, k) excess per n) whose excess is > 0
    at every n. ``power_law`` says whether it fits, or why not: fewer than 3 shot
    counts, an excess <= 0 at some n (no power law of a loss at or below the floor),
    or a poor fit (R^2 < :data:`POWER_LAW_MIN_R2` on the log-log scale)."""
    out = {
        "power_exponent": np.nan,
        "power_ci_low": np.nan,
        "power_ci_high": np.nan,
        "power_r2": np.nan,
    }
    ns = np.asarray(ns, float)
    excess = np.asarray(excess, float)
    if len(ns) < 3:
        return {**out, "power_law": f"not fitted: {len(ns)} shot counts (needs 3)"}
    if np.allclose(excess, 0, atol=1e-9):
        return {**out, "power_law": "not fitted: no excess over the oracle (the oracle itself)"}
    if (excess <= 0).any():
        at = ", ".join(str(int(n)) for n in ns[excess <= 0])
        return {**out, "power_law": f"not fitted: excess <= 0 at n = {at}"}
    x = np.log2(ns)
    if np.ptp(np.log2(excess)) < 1e-9:
        return {**out, "power_exponent": 0.0, "power_law": "excess constant in n (exponent 0)"}
    res = sps.linregress(x, np.log2(excess))
    out["power_exponent"] = float(-res.slope)
    out["power_r2"] = float(res.rvalue**2)
    note = "fits" if out["power_r2"] >= POWER_LAW_MIN_R2 else "poor fit"
    note += f" (log-log R^2 = {out['power_r2']:.2f}"
    if replicates is not None and len(replicates):
        ok = (replicates > 0).all(axis=1)
        if ok.sum() >= 2:
            y = np.log2(replicates[ok])
            xc = x - x.mean()
            alphas = -(y - y.mean(axis=1, keepdims=True)) @ xc / np.sum(xc**2)
            out["power_ci_low"], out["power_ci_high"] = np.percentile(alphas, [2.5, 97.5])
        if not ok.all():
            note += f"; interval from the {ok.mean():.0%} of replicates with excess > 0 at every n"
    return {**out, "power_law": note + ")"}


LOSS_FIT_TEST = (
    "slope: trial-level OLS of bits per symbol on log2(n), weights equalise functions "
    "within n (point estimate = the OLS on in_context_loss.tsv's per-n values); CR1 SEs "
    "clustered by function; one-sided t-test slope < 0 (loss falls with n), df = G-1. "
    "power law: excess over the oracle = c n^-alpha, OLS of log2(excess) on log2(n) over "
    "the shot counts; interval: percentile 95 % of alpha refitted on each replicate of the "
)


def loss_fit_table(
    per_prompt: pd.DataFrame, loss: pd.DataFrame, boot: JointBootstrap
) -> pd.DataFrame:
    """``in_context_loss_fits.tsv``: per model, the slope of bits per symbol against
    log2(n) (bits per symbol per doubling of n; clustered by function, one-sided test of
    a fall) and a power law of the excess over the oracle (:func:`power_law_fit`). A
    model without log-probabilities gets a row that says so (:data:`NO_LOGPROBS`)."""
    test = LOSS_FIT_TEST + boot_text(boot)
    rows = []
    for model in models_in_order(per_prompt):
        sub = per_prompt[per_prompt["model"] == model]
        if not _has(per_prompt, model, "bits_per_symbol"):
            rows.append({"model": model, "power_law": NO_LOGPROBS, "test": test})
            continue
        x = np.log2(sub["n_shots"].to_numpy(float))
        fit = {"a1": np.nan, "a1_se": np.nan, "t": np.nan, "df": np.nan, "p_value": np.nan}
        fit.update(n_obs=len(sub), n_clusters=sub["function"].nunique())
        if len(np.unique(x)) >= 2:
            fit = clustered_ols(
                sub["bits_per_symbol"].to_numpy(float),
                x,
                sub["function"].to_numpy(),
                weights=equalising_weights(sub),
            )
            if np.isfinite(fit["t"]):
                fit["p_value"] = float(sps.t.cdf(fit["t"], fit["df"]))
        cells = loss[loss["model"] == model].sort_values("n_shots")
        ns = cells["n_shots"].to_numpy()
        reps = np.column_stack([_cell(boot, model, "excess_bits_per_symbol", n) for n in ns])
        power = power_law_fit(ns, cells["excess_bits_per_symbol"].to_numpy(), reps)
        rows.append(
            {
                "model": model,
                "slope": fit["a1"],
                "slope_se": fit["a1_se"],
                "t": fit["t"],
                "df": fit["df"],
                "p_value": fit["p_value"],
                "n_obs": fit["n_obs"],
                "n_clusters": fit["n_clusters"],
                **power,
                "test": test,
            }
        )
    return pd.DataFrame(rows, columns=FIT_COLUMNS)


def loss_tables(scored: pd.DataFrame, replicates: int = 5000, seed: int = 0) -> dict:
    """Every in-context-loss table (in_context_loss, in_context_loss_positions,
    in_context_loss_fits, answer_distribution) from the scored results
    (columns of :data:`genomic_icl.scoring.PREDICTION_COLUMNS` and the prompts'
    ``target_bits, query, demo_inputs, demo_outputs``)."""
    per_prompt = per_prompt_loss(scored)
    boot = loss_bootstrap(per_prompt, replicates, seed)
    loss = loss_table(per_prompt, boot)
    return {
        "in_context_loss": loss,
        "in_context_loss_positions": position_table(per_prompt, boot),
        "in_context_loss_fits": loss_fit_table(per_prompt, loss, boot),
        "answer_distribution": answer_table(per_prompt, boot),
    }
