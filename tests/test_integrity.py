"""Nothing damaged is ever scored: weights, live predictions tables, store entries and
batch checkpoints are checked by content before use, each for truncation and for a
bit flip that still parses; predictions are checked against their prompts; one
writer at a time per predictions store.

Real models only: the shipped DNA model (2 MB) and a tiny random Qwen3 saved to disk."""

from __future__ import annotations

import contextlib
import hashlib
import io
import re
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
import torch  # a runtime dependency, like transformers: no skip where it is missing
import yaml

torch.set_num_threads(1)

from test_model_cache import tiny_model_dir  # noqa: E402

from conftest import REPO, small_config, snakemake, write_config  # noqa: E402
from genomic_icl import pretrain  # noqa: E402
from genomic_icl.inference import _batch_file, partial_dir, predict_file, predict_files, store_dir  # noqa: E402
from genomic_icl.integrity import SUMS, IntegrityError, exclusive  # noqa: E402
from genomic_icl.io import read_table, write_table  # noqa: E402
from genomic_icl.models import get_backend  # noqa: E402
from genomic_icl.prompts import Encoding, prompt_table  # noqa: E402
from genomic_icl.scoring import check_predictions  # noqa: E402

GEN = Encoding("genomic", "ACGT")
LING = Encoding("linguistic", "0123456789")
FUNCS = ["identity", "rotl1", "majority"]


def flip_bit(path: Path, offset: int, bit: int = 0) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 1 << bit
    path.write_bytes(bytes(data))


def truncate(path: Path, keep: float = 0.5) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


def parsing_flip(path: Path, column: str) -> int:
    """The first byte of ``column``'s data pages whose low bit, flipped, leaves a
    file that Parquet still reads, with other values: damage a reader would take
    for numbers. Deterministic (the same table gives the same bytes)."""
    meta = pq.ParquetFile(path).metadata
    chunk = meta.row_group(0).column(meta.schema.names.index(column))
    start = chunk.dictionary_page_offset if chunk.has_dictionary_page else chunk.data_page_offset
    size = chunk.total_compressed_size
    clean = pq.read_table(path)
    original = path.read_bytes()
    try:
        for offset in range(start + size - 1, start, -1):  # values sit after the headers
            flip_bit(path, offset)
            try:
                damaged = pq.read_table(path)
            except Exception:
                continue
            finally:
                path.write_bytes(original)
            if not damaged.equals(clean):
                return offset
    finally:
        path.write_bytes(original)
    raise AssertionError(f"no bit flip in {column} of {path} still parses")


def tiny_jobs(tmp_path: Path, shots=(1, 4)) -> tuple[dict, list[tuple[Path, Path]]]:
    """A tiny random Qwen3 on disk (with its own SHA256SUMS-free directory) and its
    prompt tables."""
    spec = {"name": "tiny", "backend": "hf", "checkpoint": str(tiny_model_dir(tmp_path / "m"))}
    spec |= {"encoding": "linguistic", "device": "cpu", "batch_size": 2}
    jobs = []
    for n in shots:
        write_table(prompt_table(FUNCS, n, 2, LING, 3), tmp_path / f"p{n}.parquet")
        jobs.append((tmp_path / f"p{n}.parquet", tmp_path / "out" / f"n{n}.parquet"))
    return spec, jobs


# -- weights ---------------------------------------------------------------------------


@pytest.fixture
def shipped_run(tmp_path, monkeypatch):
    """The default DNA model's shipped weights copied where the workflow puts them
    (results/pretrained/dna), and its predictions at 2 shots computed once."""
    default = yaml.safe_load((REPO / "config.yaml").read_text())
    recipe = default["pretrain"]["dna"]
    spec = next(m for m in default["models"] if m["checkpoint"] == "pretrained:dna")
    monkeypatch.chdir(tmp_path)
    pretrain.install_shipped(pretrain.shipped_weights(recipe), "results/pretrained/dna", recipe)
    write_table(prompt_table(FUNCS, 2, 2, GEN, 5), tmp_path / "p2.parquet")
    jobs = [(Path("p2.parquet"), Path("results/predictions/dna-lfm2/n2.parquet"))]
    assert predict_files(spec, jobs, 1, progress=False) == {str(jobs[0][1]): "computed"}
    return spec, jobs, Path("results/pretrained/dna")


def test_damaged_weights_stop_the_job_naming_file_and_fix(shipped_run):
    spec, jobs, weights = shipped_run
    live = jobs[0][1]
    before = live.read_bytes()
    model = weights / "model.safetensors"
    clean = model.read_bytes()
    fix = "delete results/pretrained/dna and rerun snakemake"
    # a bit flip in the tensors (the header parses as before): refused before the
    # stored predictions are reused, nothing written
    flip_bit(model, len(clean) - 4096)
    with pytest.raises(IntegrityError, match=f"model.safetensors: content does not match.*{fix}"):
        predict_files(spec, jobs, 1, progress=False)
    assert live.read_bytes() == before
    # truncated: the message names the file, what is wrong and what to delete
    model.write_bytes(clean[: len(clean) // 2])
    with pytest.raises(
        IntegrityError, match=f"model.safetensors: damaged weights.*truncated.*{fix}"
    ):
        predict_files(spec, jobs, 1, progress=False)
    # without SHA256SUMS (any local checkpoint) a truncation is still caught
    (weights / SUMS).unlink()
    with pytest.raises(IntegrityError, match="truncated"):
        predict_files(spec, jobs, 1, progress=False)


def test_recreated_identical_weights_reuse_predictions(shipped_run):
    """The reuse fingerprint is the weights' content: the directory re-created with the
    same bytes (and a new .snakemake_timestamp) reuses every table."""
    spec, jobs, weights = shipped_run
    copy = weights.with_name("copy")
    shutil.copytree(weights, copy)
    shutil.rmtree(weights)
    time.sleep(0.01)
    shutil.copytree(copy, weights)  # new files, new times, same bytes
    (weights / ".snakemake_timestamp").write_text("")
    jobs[0][1].unlink()
    assert predict_files(spec, jobs, 1, progress=False) == {str(jobs[0][1]): "reused"}


def test_damaged_shipped_weights_are_not_copied(tmp_path):
    recipe = yaml.safe_load((REPO / "config.yaml").read_text())["pretrain"]["dna"]
    src = tmp_path / "shipped"
    shutil.copytree(pretrain.shipped_weights(recipe), src)
    flip_bit(src / "model.safetensors", 100_000)
    with pytest.raises(IntegrityError, match=r"shipped/model.safetensors.*reinstall genomic-icl"):
        pretrain.install_shipped(src, tmp_path / "out", recipe)
    assert not (tmp_path / "out").exists()


def test_local_checkpoint_changed_is_recomputed_not_reused(tmp_path):
    """A checkpoint without SHA256SUMS cannot tell damage from a change; its content
    is still the fingerprint, so changed bytes never reuse old predictions."""
    spec, jobs = tiny_jobs(tmp_path, shots=(1,))
    assert predict_files(spec, jobs, 5, progress=False) == {str(jobs[0][1]): "computed"}
    model = Path(spec["checkpoint"]) / "model.safetensors"
    flip_bit(model, model.stat().st_size - 10, bit=1)
    assert predict_files(spec, jobs, 5, progress=False) == {str(jobs[0][1]): "computed"}


# -- predictions tables and the store --------------------------------------------------


@pytest.fixture
def computed(tmp_path):
    spec, jobs = tiny_jobs(tmp_path)
    assert set(predict_files(spec, jobs, 5, progress=False).values()) == {"computed"}
    return spec, jobs, {out: out.read_bytes() for _, out in jobs}


def test_store_holds_copies_not_links(computed):
    spec, jobs, clean = computed
    out = jobs[1][1]
    (entry,) = store_dir(out).glob(f"{out.stem}-*.parquet")
    assert entry.stat().st_ino != out.stat().st_ino and entry.read_bytes() == clean[out]
    truncate(out)  # damage to the live table is not damage to the store
    assert entry.read_bytes() == clean[out]


@pytest.mark.parametrize("damage", ["truncated", "bit flip"])
def test_damaged_live_table_is_refused_not_scored(computed, damage):
    spec, jobs, clean = computed
    prompts, out = jobs[1]
    if damage == "truncated":
        truncate(out)
    else:
        flip_bit(out, parsing_flip(out, "target_logprob"))
        assert len(pq.read_table(out)) == len(read_table(prompts))  # parses, other numbers
    with pytest.raises(
        IntegrityError, match=re.escape(f"{out}: damaged table") + f".*rm {re.escape(str(out))}"
    ):
        read_table(out)
    # the fix the message gives: delete it and rerun (the store gives it back)
    out.unlink()
    assert predict_files(spec, jobs, 5, progress=False)[str(out)] == "reused"
    assert out.read_bytes() == clean[out]


@pytest.mark.parametrize("damage", ["truncated", "bit flip"])
def test_damaged_store_entry_is_reported_and_recomputed(computed, damage, capsys):
    spec, jobs, clean = computed
    out = jobs[1][1]
    (entry,) = store_dir(out).glob(f"{out.stem}-*.parquet")
    if damage == "truncated":
        truncate(entry)
    else:
        flip_bit(entry, parsing_flip(entry, "target_logprob"))
    for _, o in jobs:
        o.unlink()  # as Snakemake does before rerunning the job
    capsys.readouterr()
    status = predict_files(spec, jobs, 5, progress=False)
    assert status == {str(jobs[0][1]): "reused", str(out): "computed"}
    assert f"damaged store entry removed, its table is computed again: {entry}" in (
        capsys.readouterr().err
    )
    assert all(o.read_bytes() == clean[o] for _, o in jobs)
    # the store holds the recomputed table, whole, under the same name (same bytes)
    assert entry.read_bytes() == clean[out]
    assert len(list(store_dir(out).glob(f"{out.stem}-*"))) == 1


def interrupt_during_third_batch(spec, prompts, out, backend, **kwargs) -> None:
    """Run ``predict_file`` as a job killed during its third batch (two batch
    checkpoints are left); ``backend.run`` is restored afterwards."""
    real, calls = backend.run, []

    def interrupted(batch):
        calls.append(len(batch))
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(batch)

    backend.run = interrupted
    try:
        with pytest.raises(KeyboardInterrupt):
            predict_file(spec, prompts, out, 5, backend=backend, progress=False, **kwargs)
    finally:
        backend.run = real


def test_damaged_batch_checkpoint_is_computed_again(tmp_path, capsys):
    spec, jobs = tiny_jobs(tmp_path, shots=(4,))
    prompts, out = jobs[0]
    backend = get_backend("hf")(spec, 5)
    predict_file(spec, prompts, tmp_path / "clean.parquet", 5, backend=backend, progress=False)
    interrupt_during_third_batch(spec, prompts, out, backend)
    first = _batch_file(partial_dir(out), 0)
    text = first.read_text()
    start = text.index('"logprob": [')
    i = next(k for k in range(start, len(text)) if text[k].isdigit())  # of the first value
    first.write_text(text[:i] + str((int(text[i]) + 1) % 10) + text[i + 1 :])  # JSON, other number
    truncate(_batch_file(partial_dir(out), 1))
    capsys.readouterr()
    predict_file(spec, prompts, out, 5, backend=backend, progress=False)
    err = capsys.readouterr().err
    assert f"{first}: batch checkpoint not used (its content does not match its sha256)" in err
    assert "batch-00001.json: batch checkpoint not used (not a JSON object" in err
    assert out.read_bytes() == (tmp_path / "clean.parquet").read_bytes()


def test_checkpoints_of_other_code_are_not_resumed(tmp_path, capsys):
    """A job interrupted under one version of the code leaves batch checkpoints; a rerun
    under changed code (another rule fingerprint) computes every batch again."""
    spec, jobs = tiny_jobs(tmp_path, shots=(4,))
    prompts, out = jobs[0]
    backend = get_backend("hf")(spec, 5)
    real = backend.run
    interrupt_during_third_batch(spec, prompts, out, backend, code="old")
    assert _batch_file(partial_dir(out), 0).is_file()
    calls = []
    backend.run = lambda batch: calls.append(len(batch)) or real(batch)
    capsys.readouterr()
    predict_file(spec, prompts, out, 5, backend=backend, progress=False, code="new")
    assert "discarding checkpoints of another job" in capsys.readouterr().err
    assert sum(calls) == len(read_table(prompts))  # nothing resumed from the old code


# -- predictions against their prompts ------------------------------------------------


def test_predictions_must_match_their_prompts(computed):
    spec, jobs, _ = computed
    prompts_path, out = jobs[1]
    prompts, preds = read_table(prompts_path), read_table(out)
    check_predictions(prompts, preds, str(out), model="tiny")
    cases = {
        "not of model": (prompts, preds, "other"),
        "n_shots": (read_table(jobs[0][0]), preds, "tiny"),
        "encoding": (prompt_table(FUNCS, 4, 2, GEN, 3), preds, "tiny"),
        "rows are not the": (prompt_table(FUNCS, 4, 3, LING, 3), preds, "tiny"),
        "repeat": (prompts, pd.concat([preds, preds.iloc[:1]]), "tiny"),
        "not scored as": (prompt_table(FUNCS, 4, 2, LING, 4), preds, "tiny"),
        "no column": (prompts, preds.drop(columns="pred_bits"), "tiny"),
    }
    for what, (p, q, model) in cases.items():
        with pytest.raises(ValueError, match=f"{out}: .*{what}"):
            check_predictions(p, q, str(out), model=model)


# -- concurrent writers -----------------------------------------------------------------


def test_second_writer_waits_for_the_store(computed, tmp_path):
    """Two jobs of one model at once (e.g. after `snakemake --unlock` while a run is
    live): each waits for the store's lock, says so, and the tables come out whole."""
    spec, jobs, clean = computed
    store = store_dir(jobs[0][1])
    for _, out in jobs:
        out.unlink()
    for entry in store.glob("*.parquet"):
        entry.unlink()
    results: list[dict] = []
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        with exclusive(store / ".lock", "the test's hold"):
            writers = [
                threading.Thread(
                    target=lambda: results.append(predict_files(spec, jobs, 5, progress=False))
                )
                for _ in range(2)
            ]
            for w in writers:
                w.start()
            deadline = time.monotonic() + 60
            while err.getvalue().count("waiting for the predictions store") < 2:
                assert time.monotonic() < deadline, err.getvalue()
                time.sleep(0.05)
            assert all(w.is_alive() for w in writers)
            assert not any(out.exists() for _, out in jobs)  # nothing written while held
        for w in writers:
            w.join(timeout=120)
    assert "another job is writing it (pid" in err.getvalue()
    # one computed every table while the other waited, then reused them all
    assert sorted(tuple(set(r.values())) for r in results) == [("computed",), ("reused",)]
    assert all(out.read_bytes() == clean[out] for _, out in jobs)
    assert len(list(store.glob("*.parquet"))) == len(jobs)


# -- through the workflow ----------------------------------------------------------------


def test_workflow_refuses_a_damaged_table_and_recovers(tmp_path):
    """A live predictions table with a bit flip that still parses: the scoring job fails
    naming it and the fix; after that fix the run gives the original bytes."""
    write_config(tmp_path, small_config())
    target = "results/scored/mode.parquet"
    snakemake(tmp_path, "--cores", "2", target)
    scored = (tmp_path / target).read_bytes()
    live = tmp_path / "results/predictions/mode/n4.parquet"
    flip_bit(live, parsing_flip(live, "pred_bits"))
    (tmp_path / target).unlink()
    proc = snakemake(tmp_path, "--cores", "2", target, check=False)
    log = (tmp_path / "logs/score/mode.log").read_text()
    assert proc.returncode != 0 and not (tmp_path / target).exists()
    assert "results/predictions/mode/n4.parquet: damaged table" in log
    assert "rm results/predictions/mode/n4.parquet" in log
    live.unlink()
    snakemake(tmp_path, "--cores", "2", target)
    assert "unchanged, reused" in (tmp_path / "logs/predict/mode.log").read_text()
    assert (tmp_path / target).read_bytes() == scored


def test_sums_read_what_sha256sum_writes(tmp_path):
    """SHA256SUMS written by hand with `sha256sum` (text or binary mode, any case) is
    read; a line of something else is refused by name."""
    from genomic_icl.integrity import read_sums

    (tmp_path / "a.bin").write_bytes(b"a")
    (tmp_path / "b c.bin").write_bytes(b"b")
    out = subprocess.run(
        ["sha256sum", "-b", "a.bin", "b c.bin"], cwd=tmp_path, capture_output=True, text=True
    ).stdout
    sums = tmp_path / "SHA256SUMS"
    sums.write_text(out.upper().replace("A.BIN", "a.bin").replace("B C.BIN", "b c.bin"))
    got = read_sums(sums)
    assert got == {
        name: hashlib.sha256((tmp_path / name).read_bytes()).hexdigest()
        for name in ("a.bin", "b c.bin")
    }
    sums.write_text("not a digest  a.bin\n")
    with pytest.raises(IntegrityError, match="not a sha256sum line"):
        read_sums(sums)
