"""Benchmark: every statistics table and every figure at the paper config's size.

8 models (5 Qwen3, 3 Evo2) x 8 shot counts x 100 functions x 8 trials (800 prompts per
(model, n)), 5000 bootstrap replicates; targets: statistics < 60 s, figures < 30 s on 2
cores. Prints one line per stage and the totals. Usage: python benchmarks/stats.py
[--replicates R] [--trials M] [--with-mode] [--stats-only]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from genomic_icl import figures as F
from genomic_icl import stats as S
from genomic_icl.figure_registry import FIGURES, figure_plan

REPO = Path(__file__).resolve().parents[1]

PAPER_MODELS = [
    ("qwen3-0.6b", "Qwen3", 6e8),
    ("qwen3-1.7b", "Qwen3", 1.7e9),
    ("qwen3-4b", "Qwen3", 4e9),
    ("qwen3-8b", "Qwen3", 8e9),
    ("qwen3-14b", "Qwen3", 1.4e10),
    ("evo2_1b_base", "Evo2", 1e9),
    ("evo2_7b", "Evo2", 7e9),
    ("evo2_40b", "Evo2", 4e10),
]
SHOTS = (1, 2, 4, 8, 16, 32, 64, 128)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--replicates", type=int, default=5000)
    ap.add_argument("--trials", type=int, default=8)
    ap.add_argument("--with-mode", action="store_true", help="add the mode baseline (9 models)")
    ap.add_argument("--stats-only", action="store_true", help="skip the figures")
    args = ap.parse_args()

    sys.path.insert(0, str(REPO / "tests"))  # the tests' synthetic results (test data)
    from synthetic import synthetic_scored

    models = [{"name": n, "backend": "hf", "family": f, "params": p} for n, f, p in PAPER_MODELS]
    if args.with_mode:
        models.append({"name": "mode", "backend": "reference", "checkpoint": "mode"})
    names = [m["name"] for m in models]
    meta = S.model_metadata(models)
    t = time.perf_counter()
    scored = synthetic_scored(
        models=names,
        shots=SHOTS,
        trials=args.trials,
        a0=0.12,
        a1=[0.01, 0.02, 0.022, 0.029, 0.031, 0.024, 0.036, 0.038][: len(names)]
        + [0.0] * (len(names) - 8),
        task_sd=0.15,
        seed=1,
    )
    print(
        f"synthetic scored table: {len(scored)} rows ({len(names)} models x {len(SHOTS)} n "
        f"x {len(scored) // (len(names) * len(SHOTS))} prompts), "
        f"{time.perf_counter() - t:.1f} s (not counted)"
    )

    R, seed = args.replicates, 0
    stages = {}
    t0 = time.perf_counter()
    t = time.perf_counter()
    boot = S.joint_bootstrap(scored, R, seed)
    acc = S.accuracy_table(scored, boot=boot)
    stages["accuracy (joint bootstrap, all models)"] = time.perf_counter() - t
    t = time.perf_counter()
    tabs = {"accuracy": acc, **S.accuracy_tables(acc, meta, boot=boot)}
    stages["fits, vs_mode, scaling, family means"] = time.perf_counter() - t
    t = time.perf_counter()
    tabs.update(S.trial_tables(scored, args.trials))
    stages["clustered fits, per task, mistakes, div0, power"] = time.perf_counter() - t
    t = time.perf_counter()
    tabs.update(S.breakdown_tables(scored, R, seed))
    stages["breakdowns BitLoad/BitDiversity (bootstrap)"] = time.perf_counter() - t
    t = time.perf_counter()
    tabs.update(S.comparison_tables(scored, "all", R, seed, boot))
    stages[f"paired + sign test, all {len(tabs['paired']) // len(SHOTS)} pairs"] = (
        time.perf_counter() - t
    )
    total_stats = time.perf_counter() - t0
    for k, v in stages.items():
        print(f"  stats  {k:<52s} {v:6.2f} s")
    print(f"STATISTICS TOTAL: {total_stats:.2f} s (target < 60 s; replicates = {R})")

    if args.stats_only:
        return
    plan = figure_plan(models, {}, SHOTS)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as d:
        for stem, entry in plan.items():
            t = time.perf_counter()
            need = {k: tabs[k] for k in FIGURES[entry["kind"]].table_names}
            F.draw(
                stem,
                entry,
                need,
                str(Path(d) / f"{stem}.png"),
                str(Path(d) / f"{stem}.pdf"),
                meta=meta,
                reference=S.load_table4(),
                n_functions=100,
            )
            print(f"  figure {stem:<52s} {time.perf_counter() - t:6.2f} s")
    print(
        f"FIGURES TOTAL: {time.perf_counter() - t0:.2f} s for {len(plan)} figures, PNG+PDF "
        "(target < 30 s)"
    )


if __name__ == "__main__":
    main()
