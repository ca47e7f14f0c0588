"""Benchmark of planning at scale (issue 5 target: the paper config's dry run < 10 s).

Prints the wall time of `snakemake -n` on a config (default `configs/paper.yaml`)
with a profile (default `slurm`, as core facilities run it), best of ``--repeat``,
and the number of jobs planned. It also times `scontrol show config` alone: the
SLURM executor plugin runs that command whenever Snakemake starts, and where
SLURM's client is installed but no controller answers it waits up to 10 s, a cost
of the machine and not of this workflow.

    python benchmarks/plan.py [--config configs/paper.yaml] [--profile slurm] [--repeat 3]
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def timed(cmd: list[str], cwd: Path) -> tuple[float, subprocess.CompletedProcess]:
    """Run ``cmd`` in ``cwd``; return its wall time in seconds and the process."""
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=120)
    return time.perf_counter() - start, proc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="configs/paper.yaml")
    parser.add_argument("--profile", default="slurm")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    if shutil.which("scontrol"):
        seconds, proc = timed(["scontrol", "show", "config"], REPO)
        state = "answered" if proc.returncode == 0 else f"failed (rc {proc.returncode})"
        print(f"scontrol show config: {seconds:.2f} s, {state}")
    else:
        print("scontrol show config: not installed (no cost)")

    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "snakemake", "-n", "-s", str(REPO / "Snakefile")]
        cmd += ["-d", tmp, "--profile", args.profile, "--configfile", str(REPO / args.config)]
        times = []
        for _ in range(args.repeat):
            seconds, proc = timed(cmd, REPO)
            if proc.returncode != 0:
                sys.exit(f"dry run failed:\n{proc.stderr[-3000:]}")
            times.append(seconds)
    jobs = re.search(r"^total\s+(\d+)", proc.stdout, re.M)
    print(
        f"dry run of {args.config} with --profile {args.profile}: best {min(times):.2f} s, "
        f"worst {max(times):.2f} s over {args.repeat} runs; {jobs[1] if jobs else '?'} jobs "
        "(target < 10 s)"
    )


if __name__ == "__main__":
    main()
