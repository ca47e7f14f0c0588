"""Cost of the integrity checks (genomic_icl.integrity, genomic_icl.io).

Prints, best of ``--repeat``, in milliseconds:

* hashing and checking the shipped DNA model's files against their SHA256SUMS
  (every inference job of a model with local weights does this first);
* one predictions table of the default config at ``--shots`` (all functions x
  ``trials`` x 1 encoding, with per-position and whole-answer log-probabilities):
  verifying a store entry and copying it back (``copy_verified``) against a plain
  ``shutil.copyfile``, and reading it with its content digest checked
  (``read_table``) against ``pandas.read_parquet``.

    python benchmarks/integrity.py [--shots 128] [--repeat 5]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from genomic_icl.config import function_names
from genomic_icl.integrity import copy_verified, file_sha256, weights_digest
from genomic_icl.io import read_table, write_table
from genomic_icl.pretrain import shipped_weights
from genomic_icl.prompts import Encoding, prompt_table
from genomic_icl.scoring import score

REPO = Path(__file__).resolve().parents[1]


def best_ms(fn, repeat: int) -> float:
    """The fastest of ``repeat`` calls of ``fn``, in ms."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1000 * min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shots", type=int, default=128)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    weights = shipped_weights(config["pretrain"]["dna"])
    size = sum(f.stat().st_size for f in weights.iterdir()) / 1e6
    ms = best_ms(lambda: weights_digest(weights, ""), args.repeat)
    print(f"shipped weights ({size:.1f} MB): sha256 checked in {ms:.1f} ms")

    enc = Encoding("genomic", config["encodings"]["genomic"]["alphabet"])
    prompts = prompt_table(function_names(config), args.shots, config["trials"], enc, 1)
    n = len(prompts)
    rng = np.random.default_rng(0)
    table = score(
        prompts, list(prompts["target"]), rng.normal(size=n), "m",
        rng.normal(size=(n, 8)), rng.normal(size=(n, 256)),
    )  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        entry, live = Path(tmp) / "entry.parquet", Path(tmp) / "live.parquet"
        write_table(table, entry)
        digest = file_sha256(entry)
        mb = entry.stat().st_size / 1e6
        print(f"predictions table: {n} rows, {mb:.1f} MB at n={args.shots}")
        plain = best_ms(lambda: shutil.copyfile(entry, live), args.repeat)
        checked = best_ms(lambda: copy_verified(entry, live, digest), args.repeat)
        print(f"  store entry back: {checked:.1f} ms verified, {plain:.1f} ms plain copy")
        plain = best_ms(lambda: pd.read_parquet(entry), args.repeat)
        checked = best_ms(lambda: read_table(entry), args.repeat)
        print(f"  read: {checked:.1f} ms with content digest, {plain:.1f} ms pandas.read_parquet")


if __name__ == "__main__":
    main()
