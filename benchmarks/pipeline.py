"""Benchmark of the laptop pipeline (issue 2 targets).

Prints: the time to generate every prompt of a config (target: the default config's
12,800 prompts in under 10 s) and the wall time of the whole workflow on that config
in a fresh temporary directory (target: under 5 minutes on 2 cores for the reference
learners). ``--models mode,oracle`` restricts the run to some models of the config.

    python benchmarks/pipeline.py [--config config.yaml] [--models mode,oracle] [--cores 2]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from genomic_icl.config import encoding, function_names, load_config
from genomic_icl.prompts import prompt_table

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(REPO / "config.yaml"))
    parser.add_argument("--models", help="comma-separated model names to keep")
    parser.add_argument("--cores", default="2")
    args = parser.parse_args()
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
        )
        wall = time.perf_counter() - start
    models = ", ".join(m["name"] for m in config["models"])
    print(f"workflow: {wall:.1f} s wall on {args.cores} cores (models: {models})")


if __name__ == "__main__":
    main()
