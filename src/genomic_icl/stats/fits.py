"""Growth of accuracy with n: the paper's log-linear fit per model, its coefficients
against model size, and trial-level regressions with SEs clustered by function."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats as sps

from genomic_icl.stats.bootstrap import JointBootstrap, boot_text
from genomic_icl.stats.common import models_in_order, p_display, z_one_sided

# ---------------------------------------------------------------------------
# log-linear fits (the paper's 8-point fit)
# ---------------------------------------------------------------------------


FIT_COLUMNS = ["model", "a0", "a1", "a1_se", "t", "df", "p_value", "r2", "test"]


FIT_TEST = (
    "OLS of accuracy (fraction) on log2(n) over the k shot counts; classical SE; "
    "one-sided t-test a1 > 0, df = k-2"
)


def ols(x: np.ndarray, y: np.ndarray) -> dict:
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
    return ols(np.log2(n), np.asarray(accuracy, float))


def fit_table(accuracy: pd.DataFrame) -> pd.DataFrame:
    """``fits.tsv``: per model ``a0, a1, a1_se, t, df, p_value, r2, test`` of the
    log2-linear fit of the accuracy table (columns ``model, n_shots, accuracy``;
    fractions): the paper's 8-point test (:data:`FIT_TEST`)."""
    missing = {"model", "n_shots", "accuracy"} - set(accuracy.columns)
    if missing:
        raise ValueError(f"accuracy table lacks columns {sorted(missing)}")
    rows = []
    for model in models_in_order(accuracy):
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
        f"; p_value_bootstrap: two-sided z-test, SE from the {boot_text(boot)}" if use_boot else ""
    )
    rows = []
    for fam in pd.unique(m["family"].dropna()):
        sub = m[m["family"] == fam].sort_values("params")
        if len(sub) < 2:
            continue
        z = np.log10(sub["params"].to_numpy(float))
        for coef in ("a0", "a1"):
            fit = ols(z, sub[coef].to_numpy(float))
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
    """Logistic regression of a 0/1 outcome y on [1, x], weighted, with SEs clustered
    by ``clusters``: a GEE (statsmodels ``GEE``, binomial family, logit link) with an
    independence working correlation and case ``weights``, whose point estimates are
    the weighted logistic regression's and whose covariance is the cluster-robust
    sandwich, scaled by G/(G-1) (N-1)/(N-K) to CR1 as in :func:`clustered_ols`. (A
    GLM with ``var_weights`` and ``cov_type="cluster"`` gives the same estimates, but
    statsmodels does not fully support that combination.) The slope b1 is on the
    log-odds scale; its one-sided t-test (b1 > 0) uses G-1 degrees of freedom. NaN
    where the fit does not exist (an outcome that never or always occurs, perfect
    separation, or no convergence)."""
    import warnings

    import statsmodels.api as sm
    from statsmodels.tools.sm_exceptions import ConvergenceWarning, PerfectSeparationWarning

    x = np.asarray(x, float)
    y = np.asarray(y, float)
    codes, uniq = pd.factorize(pd.Series(clusters))
    g = len(uniq)
    out = {"b0": np.nan, "b1": np.nan, "b1_se": np.nan, "t": np.nan, "df": g - 1}
    out["p_value"] = np.nan
    if g < 2 or len(np.unique(y)) < 2 or len(np.unique(x)) < 2:
        return out
    w = np.ones_like(x) if weights is None else np.asarray(weights, float)
    X = sm.add_constant(x, has_constant="add")
    model = sm.GEE(
        y,
        X,
        groups=codes,
        family=sm.families.Binomial(),
        cov_struct=sm.cov_struct.Independence(),
        weights=w,
    )
    with warnings.catch_warnings():
        # separation and non-convergence make the fit NaN below (res.converged and
        # the finiteness checks); no other warning is silenced
        warnings.simplefilter("ignore", PerfectSeparationWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        try:
            res = model.fit()
        except (np.linalg.LinAlgError, ValueError):
            return out
    n, k = X.shape
    cr1 = math.sqrt(g / (g - 1) * (n - 1) / (n - k))
    b, se = res.params, float(res.bse[1]) * cr1
    converged = bool(getattr(res, "converged", True))
    if not (np.all(np.isfinite(b)) and np.isfinite(se) and se > 0 and converged):
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
    "logit_b1 > 0, df = G-1 (GEE, independence working correlation, case weights, "
    "cluster-robust sandwich SE scaled to CR1); *_display: p as text, '< 1e-10' below "
    "1e-10"
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
    "p_value_display",
    "logit_p_value_display",
    "test",
]


def equalising_weights(sub: pd.DataFrame) -> np.ndarray:
    """Trial weights of one model's rows (``n_shots, function``) that equalise the
    functions within each n: 1/(trials of its function at its n * functions at its n),
    scaled to mean 1, so a weighted trial-level OLS on log2(n) has the point estimates
    of the OLS on the per-n means over functions of per-function means."""
    cnt = sub.groupby(["n_shots", "function"])["function"].transform("size").to_numpy(float)
    nf = sub.groupby("n_shots")["function"].transform("nunique").to_numpy(float)
    w = 1.0 / (cnt * nf)
    return w / w.mean()


def clustered_fit_table(scored: pd.DataFrame) -> pd.DataFrame:
    """Trial-level regressions of ``correct`` on log2(n), SEs clustered by function.

    OLS (linear probability): each trial is weighted by 1/(trials of its function at
    its n) * (mean count), so the point estimates equal the 8-point fit on the
    accuracy table (identical when the design is balanced, as in the paper), while
    the SE uses all trials and the clustering of trials within functions. Beside it a
    binomial GLM (logit link) with the same weights and clustering, since ``correct``
    is a 0/1 outcome. Columns: :data:`CLUSTERED_COLUMNS`."""
    rows = []
    for model in models_in_order(scored):
        sub = scored[scored["model"] == model]
        w = equalising_weights(sub)
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
                "p_value_display": p_display(fit["p_value"]),
                "logit_p_value_display": p_display(lg["p_value"]),
                "test": CLUSTERED_TEST,
            }
        )
    return pd.DataFrame(rows, columns=CLUSTERED_COLUMNS)
