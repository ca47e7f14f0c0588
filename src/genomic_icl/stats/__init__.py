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

Modules, by job
---------------
- ``bootstrap``: seeds, the two-stage cluster bootstrap, the joint bootstrap of a
  run, and the accuracy table with its SEs.
- ``fits``: the log-linear fit per model, its coefficients against size, and the
  trial-level regressions clustered by function.
- ``comparisons``: against the baseline, scaling with size, family means, paired
  differences on shared prompts, the sign test over tasks.
- ``loss``: the in-context loss (bits per symbol) against the Bayes oracle's posterior
  predictive, per output position, its slope and power law, and statistics of the
  answer distribution (valid mass, KL divergence from the oracle).
- ``breakdowns``: by BitLoad, by the target's BitDiversity, per task.
- ``mistakes``: understandable mistakes and BitDiversity-0 answers.
- ``power``: trials a per-task claim needs.
- ``inputs``: model metadata from the config, the published Table 4, an external
  accuracy table.
- ``tables``: the builders of the groups of tables each workflow rule writes (the
  registry, :mod:`genomic_icl.table_registry`, lists each builder's tables), the
  rules' writer, and all tables at once.
- ``common``: helpers the modules share (model order, replicate SD, z-tests).

The names below are the package's API (``from genomic_icl.stats import X``): what
the scripts, the figures, the benchmarks and the tests use. Synthetic scored results
for tests and benchmarks live in ``tests/synthetic.py``, outside the product.
"""

from __future__ import annotations

from genomic_icl.stats.bootstrap import (
    JointBootstrap,
    accuracy_table,
    analytic_bootstrap_se,
    bootstrap_seed,
    cluster_bootstrap,
    cluster_bootstrap_se,
    cluster_mean,
    joint_bootstrap,
    stable_key,
)
from genomic_icl.stats.breakdowns import (
    breakdown_table,
    breakdown_tables,
    per_task_table,
    varies_within_function,
    wilson_interval,
)
from genomic_icl.stats.common import p_display, resampling_floor, z_test
from genomic_icl.stats.comparisons import (
    SignTest,
    family_means_table,
    paired_comparison,
    paired_table,
    scaling_table,
    sign_test,
    sign_test_table,
    vs_baseline_table,
)
from genomic_icl.stats.fits import (
    CLUSTERED_COLUMNS,
    FIT_COLUMNS,
    clustered_fit_table,
    clustered_logit,
    clustered_ols,
    fit_table,
    fits_vs_size,
    loglinear_fit,
)
from genomic_icl.stats.inputs import load_table4, model_metadata, read_accuracy_tsv
from genomic_icl.stats.loss import (
    loss_tables,
    per_prompt_loss,
    power_law_fit,
)
from genomic_icl.stats.mistakes import (
    consistent_outputs,
    diversity_zero_table,
    mistakes_table,
    understandable_mistakes,
)
from genomic_icl.stats.power import (
    exact_power,
    power_table,
    trials_needed,
    trials_needed_stable,
)
from genomic_icl.stats.tables import (
    accuracy_tables,
    bootstrap_tables,
    comparison_tables,
    compute_all,
    trial_tables,
    write_tables,
)

__all__ = [
    "CLUSTERED_COLUMNS",
    "FIT_COLUMNS",
    "JointBootstrap",
    "SignTest",
    "accuracy_table",
    "accuracy_tables",
    "analytic_bootstrap_se",
    "bootstrap_tables",
    "bootstrap_seed",
    "breakdown_table",
    "breakdown_tables",
    "cluster_bootstrap",
    "cluster_bootstrap_se",
    "cluster_mean",
    "clustered_fit_table",
    "clustered_logit",
    "clustered_ols",
    "comparison_tables",
    "compute_all",
    "consistent_outputs",
    "diversity_zero_table",
    "exact_power",
    "family_means_table",
    "fit_table",
    "fits_vs_size",
    "joint_bootstrap",
    "load_table4",
    "loglinear_fit",
    "loss_tables",
    "mistakes_table",
    "model_metadata",
    "p_display",
    "paired_comparison",
    "paired_table",
    "per_prompt_loss",
    "per_task_table",
    "power_law_fit",
    "power_table",
    "read_accuracy_tsv",
    "resampling_floor",
    "scaling_table",
    "sign_test",
    "sign_test_table",
    "stable_key",
    "trial_tables",
    "trials_needed",
    "trials_needed_stable",
    "understandable_mistakes",
    "varies_within_function",
    "vs_baseline_table",
    "wilson_interval",
    "write_tables",
    "z_test",
]
