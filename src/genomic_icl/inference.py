"""Running one model over prompt tables into predictions files, resumably, loading
its weights at most once.

The backend's plan splits the table into batches; each finished batch is written at
once as a checkpoint file ``{out}.partial/batch-NNNNN.json`` (atomically). A rerun
after any kill (``kill -9``, preemption, Ctrl-C) finds the checkpoints of the same
job (same prompts, model entry, seed and plan), skips those batches and computes
only the rest with the very same batches, so the final table is byte-identical to
an uninterrupted run. The checkpoints are removed once the final file is written.

:func:`predict_files` runs one model over several prompt tables (the workflow: every
shot count of a model in one job) and loads the weights once, and not at all when
every table is already done. Each finished table is also kept in a store beside it,
``{out dir}/.store/{name}-{fingerprint}.parquet`` (a hard link: no second copy on
disk), keyed by the fingerprint of its prompts, model entry, seed, weights and
code. Snakemake
deletes a job's outputs before it runs the job again (e.g. after a shot count was
added); the tables whose fingerprint is unchanged are then linked back from the
store instead of being recomputed, so only the new or changed ones cost model time.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from genomic_icl.config import resolve_checkpoint, result_settings
from genomic_icl.io import read_table, write_table
from genomic_icl.models import Backend, BackendError, Continuations, get_backend
from genomic_icl.models.base import N_TARGET, check_gpus, expand, hub_cache, looks_like_path
from genomic_icl.scoring import score

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"


def partial_dir(out_path: str | os.PathLike) -> Path:
    out = Path(out_path)
    return out.with_name(out.name + ".partial")


def checkpoint_identity(spec: dict[str, Any]) -> list:
    """What identifies the weights a model entry loads, cheaply: for a local
    checkpoint (a pretrained directory, a ``.pt`` file) the name, size and
    modification time of each of its files, so a retrained model is a new one; for
    a hub id the commit its revision points to in the local cache (``refs/``), so
    a moved ``main`` is too. Empty when there is nothing local to read."""
    ckpt = str(spec.get("checkpoint") or "")
    repo = get_backend(spec.get("backend", "")).hub_repo(spec)
    if not ckpt or (repo is None and not looks_like_path(ckpt)):
        return []
    if repo is None:
        root = expand(ckpt)
        files = sorted(root.rglob("*")) if root.is_dir() else [root]
        return [
            [str(f.relative_to(root)) if root.is_dir() else f.name, s.st_size, s.st_mtime_ns]
            for f in files
            if f.is_file() and (s := f.stat())
        ]
    ref = (
        hub_cache()
        / f"models--{repo.replace('/', '--')}"
        / "refs"
        / (spec.get("revision") or "main")
    )
    return [ref.read_text().strip()] if ref.is_file() else []


def _fingerprint(
    spec: dict[str, Any], prompts_path: str | os.PathLike, seed: int, code: str = ""
) -> str:
    """What a predictions table depends on: the prompts' bytes, the model entry's
    result settings, the seed, the weights (:func:`checkpoint_identity`) and the
    code that computes it (``code``: the workflow's fingerprint of it)."""
    h = hashlib.sha256()
    with open(prompts_path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    ident = [result_settings(spec), int(seed), checkpoint_identity(spec), code]
    h.update(json.dumps(ident, sort_keys=True, default=str).encode())
    return h.hexdigest()


def _write_json(path: Path, obj: Any) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w") as fh:
        json.dump(obj, fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _read_json(path: Path) -> Any | None:
    try:
        with open(path) as fh:
            return json.load(fh)
    except (OSError, ValueError):
        return None


def _batch_file(part: Path, i: int) -> Path:
    return part / f"batch-{i:05d}.json"


class _Runner:
    """Runs batches, halving them after a device out-of-memory error."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.limit: int | None = None  # rows per forward after an OOM

    def __call__(self, batch) -> Continuations:
        n = len(batch)
        if self.limit is not None and n > self.limit:
            parts = [batch.iloc[i : i + self.limit] for i in range(0, n, self.limit)]
            return _concat([self(p) for p in parts])
        try:
            return self.backend.run(batch)
        except Exception as exc:
            if n == 1 or not self.backend.is_out_of_memory(exc):
                raise
        self.backend.after_out_of_memory()
        self.limit = max(1, n // 2)
        log.warning("out of memory on a batch of %d prompts; going on with %d", n, self.limit)
        print(f"out of memory at {n} prompts per batch; halving to {self.limit}", file=sys.stderr)
        return self(batch)


def _concat(parts: list[Continuations]) -> Continuations:
    return Continuations(
        [t for p in parts for t in p.text],
        np.concatenate([p.logprob for p in parts]),
        position_logprobs=np.concatenate([p.position_logprobs for p in parts]),
        answer_logprobs=np.concatenate([p.answer_logprobs for p in parts]),
    )


def load_backend(spec: dict[str, Any], seed: int) -> Backend:
    """Check a model entry and its environment (cheap, before any weights are read):
    a model that asks for GPUs gets them or the job stops; then load its backend."""
    cls = get_backend(spec.get("backend", ""))
    cls.preflight(spec)
    if cls.uses_gpu:
        check_gpus(spec)
    cls.check_environment(spec)
    t0 = time.perf_counter()
    backend = cls(spec, seed)
    print(f"loaded {backend.describe()} in {time.perf_counter() - t0:.1f}s", file=sys.stderr)
    return backend


def predict_file(
    spec: dict[str, Any],
    prompts_path: str | os.PathLike,
    out_path: str | os.PathLike,
    seed: int,
    *,
    backend: Backend | Callable[[], Backend] | None = None,
    progress: bool = True,
) -> None:
    """Predict every prompt of ``prompts_path`` with the model ``spec`` (a config
    model entry) and write the predictions table to ``out_path``, resuming from the
    checkpoints of an interrupted run of the same job. ``backend``: an already
    loaded backend (tests, benchmarks), or a function that returns one, called only
    when some batch is left to compute; by default the spec's backend is loaded."""
    from tqdm import tqdm

    spec = resolve_checkpoint(spec)
    prompts = read_table(prompts_path)
    part = partial_dir(out_path)
    fingerprint = _fingerprint(spec, prompts_path, seed)
    manifest = _read_json(part / MANIFEST)
    if manifest is None or manifest.get("fingerprint") != fingerprint:
        if part.exists():
            print(f"discarding checkpoints of another job in {part}", file=sys.stderr)
            shutil.rmtree(part)
        manifest = None

    def finished(plan: list[list[int]]) -> dict[int, dict]:
        out = {}
        for i in range(len(plan)):
            chunk = _read_json(_batch_file(part, i))
            if chunk is not None and chunk.get("rows") == plan[i]:
                out[i] = chunk
        return out

    plan: list[list[int]] | None = manifest["plan"] if manifest else None
    done = finished(plan) if plan is not None else {}
    if plan is None or len(done) < len(plan):
        if backend is None:
            backend = load_backend(spec, seed)
        elif not isinstance(backend, Backend):
            backend = backend()
        fresh = [np.asarray(b).tolist() for b in backend.plan(prompts)]
        if sorted(r for b in fresh for r in b) != list(range(len(prompts))):
            raise BackendError(
                f"backend {spec['backend']!r} planned batches that miss or repeat prompts"
            )
        if plan is not None and fresh != plan:
            print(f"batch plan changed; discarding checkpoints in {part}", file=sys.stderr)
            shutil.rmtree(part)
            done = {}
        plan = fresh
        part.mkdir(parents=True, exist_ok=True)
        _write_json(
            part / MANIFEST, {"fingerprint": fingerprint, "model": spec["name"], "plan": plan}
        )

        run = _Runner(backend)
        n_done = sum(len(plan[i]) for i in done)
        if done:
            print(
                f"resuming: {len(done)}/{len(plan)} batches ({n_done} prompts) already done",
                file=sys.stderr,
            )
        bar = tqdm(
            total=len(prompts),
            initial=n_done,
            unit="prompt",
            file=sys.stderr,
            desc=spec["name"],
            disable=not progress,
            mininterval=5.0 if not sys.stderr.isatty() else 0.1,
        )
        with bar:
            for i, rows in enumerate(plan):
                if i in done:
                    continue
                res = run(prompts.iloc[rows])
                chunk = {
                    "rows": rows,
                    "text": res.text,
                    "logprob": res.logprob.tolist(),
                    "position_logprobs": res.position_logprobs.tolist(),
                    "answer_logprobs": res.answer_logprobs.tolist(),
                }
                _write_json(_batch_file(part, i), chunk)
                done[i] = chunk
                bar.update(len(rows))

    text: list[str] = [""] * len(prompts)
    logprob = np.full(len(prompts), np.nan)
    positions = np.full((len(prompts), N_TARGET), np.nan)
    answers = np.full((len(prompts), 1 << N_TARGET), np.nan)
    for chunk in done.values():
        rows = chunk["rows"]
        for r, t in zip(rows, chunk["text"], strict=True):
            text[r] = t
        logprob[rows] = _floats(chunk["logprob"])
        if "position_logprobs" in chunk:  # checkpoints written before these existed
            positions[rows] = _floats(chunk["position_logprobs"])
            answers[rows] = _floats(chunk["answer_logprobs"])
    table = score(prompts, text, logprob, spec["name"], positions, answers)
    write_table(table, out_path)
    shutil.rmtree(part, ignore_errors=True)


def _floats(values: list) -> np.ndarray:
    """JSON numbers back to floats (``json`` writes NaN as ``NaN``, None stays NaN)."""
    return np.array(values, dtype=np.float64)


STORE = ".store"


def store_path(out_path: str | os.PathLike, fingerprint: str) -> Path:
    """Where a finished predictions table is kept for reuse (see the module doc)."""
    out = Path(out_path)
    return out.parent / STORE / f"{out.stem}-{fingerprint[:24]}{out.suffix}"


def _link(src: Path, dst: Path) -> None:
    """``dst`` becomes the same file as ``src`` (a hard link; a copy where the
    filesystem has none), replacing ``dst`` atomically."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(dst.name + ".link")
    tmp.unlink(missing_ok=True)
    try:
        os.link(src, tmp)
    except OSError:
        shutil.copy2(src, tmp)
    os.replace(tmp, dst)


def predict_files(
    spec: dict[str, Any],
    jobs: Sequence[tuple[str | os.PathLike, str | os.PathLike]],
    seed: int,
    *,
    code: str = "",
    progress: bool = True,
) -> dict[str, str]:
    """Predict each ``(prompts_path, out_path)`` of ``jobs`` with one model, loading
    its weights at most once (not at all when every table is in the store). A table
    whose prompts, model entry and seed are unchanged since it was last computed is
    linked back from the store; the others are computed (resuming from checkpoints).
    ``code``: a fingerprint of the code that computes predictions (the workflow
    passes its rule's), so that changed code recomputes rather than reuses.
    Returns ``{out_path: "reused" | "computed"}``; the backend is loaded on demand
    and released at the end."""
    spec = resolve_checkpoint(spec)
    loaded: list[Backend] = []

    def backend() -> Backend:
        if not loaded:
            loaded.append(load_backend(spec, seed))
        return loaded[0]

    status = {}
    try:
        for prompts_path, out_path in jobs:
            kept = store_path(out_path, _fingerprint(spec, prompts_path, seed, code))
            if kept.is_file():
                _link(kept, Path(out_path))
                status[str(out_path)] = "reused"
                print(f"{out_path}: unchanged, reused from {kept.parent}", file=sys.stderr)
                continue
            predict_file(spec, prompts_path, out_path, seed, backend=backend, progress=progress)
            for old in kept.parent.glob(f"{Path(out_path).stem}-*{kept.suffix}"):
                old.unlink()  # superseded by this table
            _link(Path(out_path), kept)
            status[str(out_path)] = "computed"
    finally:
        if loaded:
            loaded[0].close()
    print(
        f"{spec['name']}: {len(loaded)} weight load(s) for {len(status)} table(s)", file=sys.stderr
    )
    return status
