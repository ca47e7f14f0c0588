"""Benchmark of the laptop pipeline.

Prints: the CPU and its features, the time to generate every prompt of a config
(target: the default config's 12,800 prompts in under 10 s) and the wall time of the
whole workflow on that config in a fresh temporary directory (target: the default
run under 5 minutes on 2 cores of a CPU without bf16), with the load averages
before and after (the figure is only as good as the machine is quiet); then what
the run found: each model's slope and clustered p, the number of tables and
figures, and one sha256 over all tables (equal on two machines: the same numbers).
``--models mode,oracle`` restricts the run to some models of the config.
``--avx2`` runs the workflow as on a CPU without bf16 and AVX-512: torch's own
kernels, oneDNN and MKL are limited to AVX2 (``ATEN_CPU_CAPABILITY=avx2``,
``ONEDNN_MAX_CPU_ISA=AVX2``, ``MKL_ENABLE_INSTRUCTIONS=AVX2``), under which torch
reports no native bf16, so training would run in fp32.

    python benchmarks/pipeline.py [--config config.yaml] [--models mode,oracle] [--cores 2]
    [--avx2]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import yaml

from genomic_icl.config import encoding, function_names, load_config
from genomic_icl.prompts import prompt_table

REPO = Path(__file__).resolve().parents[1]
AVX2_ONLY = {
    "ATEN_CPU_CAPABILITY": "avx2",
    "ONEDNN_MAX_CPU_ISA": "AVX2",
    "MKL_ENABLE_INSTRUCTIONS": "AVX2",
}


def cpu_features(env: dict[str, str]) -> str:
    """The CPU's name and what torch uses of it, as the workflow's jobs see it."""
    probe = (
        "import torch; print(torch.backends.cpu.get_cpu_capability(), "
        "torch.ops.mkldnn._is_mkldnn_bf16_supported())"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True
    )
    capability, bf16 = out.stdout.split()
    name = "unknown CPU"
    flags: set[str] = set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
            elif line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    has = [f for f in ("avx2", "avx512f", "avx512_bf16", "amx_bf16") if f in flags]
    return (
        f"{name}, {os.cpu_count()} cores, flags {' '.join(has) or '?'}; torch kernels "
        f"{capability}, native bf16 {'yes' if bf16 == 'True' else 'no'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(REPO / "config.yaml"))
    parser.add_argument("--models", help="comma-separated model names to keep")
    parser.add_argument("--cores", default="2")
    parser.add_argument("--avx2", action="store_true", help="as on a CPU without bf16/AVX-512")
    args = parser.parse_args()
    env = {**os.environ, **(AVX2_ONLY if args.avx2 else {})}
    print(f"cpu: {cpu_features(env)}")
    config = load_config(args.config)
    if args.models:
        keep = args.models.split(",")
        config["models"] = [m for m in config["models"] if m["name"] in keep]

    start = time.perf_counter()
    count = 0
    for name in config["encodings"]:
        for n in config["shots"]:
            count += len(
                prompt_table(
                    function_names(config),
                    n,
                    config["trials"],
                    encoding(config, name),
                    config["seed"],
                )
            )
    gen = time.perf_counter() - start
    print(f"prompt generation: {count} prompts in {gen:.2f} s ({count / gen:,.0f} prompts/s)")

    with tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp) / "config.yaml"
        cfg.write_text(yaml.safe_dump(config, sort_keys=False))
        load = os.getloadavg()
        start = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "snakemake",
                "-s",
                str(REPO / "Snakefile"),
                "-d",
                tmp,
                "--configfile",
                str(cfg),
                "--cores",
                args.cores,
                "--quiet",
            ],
            check=True,
            capture_output=True,
            env=env,
        )
        wall = time.perf_counter() - start
        models = ", ".join(m["name"] for m in config["models"])
        print(
            f"workflow: {wall:.1f} s wall on {args.cores} cores (models: {models}); "
            f"load average before {load}, after {os.getloadavg()}"
        )
        report_results(Path(tmp) / "results")


def report_results(results: Path) -> None:
    """Print what the run found (each model's slope per doubling of n and its
    clustered one-sided p), how many tables and figures it wrote, and one digest of
    all its tables: equal digests on two machines mean the same numbers."""
    fits = pd.read_csv(results / "tables" / "clustered_fits.tsv", sep="\t")
    for row in fits.itertuples():
        print(
            f"  {row.model}: {100 * row.a1:+.2f} points per doubling of n, "
            f"clustered one-sided p = {row.p_value:.2g}"
        )
    tables = sorted(p for p in (results / "tables").rglob("*") if p.is_file())
    figures = sorted((results / "figures").rglob("*.png"))
    digest = hashlib.sha256()
    for path in tables:
        digest.update(path.relative_to(results).as_posix().encode())
        digest.update(path.read_bytes())
    print(f"  {len(tables)} tables (sha256 {digest.hexdigest()[:16]}), {len(figures)} figures")


if __name__ == "__main__":
    main()
