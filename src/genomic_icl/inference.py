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
``{out dir}/.store/{name}-{fingerprint}-{sha256}.parquet``: a copy (never a second
name for the live file, so damage to one is not damage to both), keyed by the
fingerprint of its prompts, model entry, seed, weights and code, and named with the
sha256 of its bytes. Snakemake deletes a job's outputs before it runs the job again
(e.g. after a shot count was added); the tables whose fingerprint is unchanged are
then copied back from the store, their bytes checked against that sha256, instead
of being recomputed, so only the new or changed ones cost model time. A damaged
entry is reported, removed and its table computed again.

Nothing reused is trusted unchecked (:mod:`genomic_icl.integrity`): the weights of a
local checkpoint are hashed (and checked against their ``SHA256SUMS``) before any
table is computed or reused, and their digests, not modification times, are part of
the fingerprint; each batch checkpoint carries the sha256 of its content and a
damaged one is computed again; one job at a time writes a model's store (an
exclusive ``flock`` on ``.store/.lock``: a second one waits, saying for whom).
"""

from __future__ import annotations

import contextlib
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
from genomic_icl.integrity import (
    IntegrityError,
    copy_verified,
    exclusive,
    file_sha256,
)
from genomic_icl.io import read_arrow, read_table, write_table
from genomic_icl.models import Backend, BackendError, Continuations, get_backend
from genomic_icl.models.base import N_TARGET
from genomic_icl.models.util import check_gpus, looks_like_path
from genomic_icl.scoring import score

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"


def partial_dir(out_path: str | os.PathLike) -> Path:
    out = Path(out_path)
    return out.with_name(out.name + ".partial")


def checkpoint_identity(spec: dict[str, Any]) -> list:
    """What identifies the weights a model entry loads: its backend's
    :meth:`~genomic_icl.models.Backend.weights_identity` (by default the checked sha256
    of a local checkpoint's files, or the commit a hub revision points to in the local
    cache; empty when there is nothing local to read)."""
    return get_backend(spec.get("backend", "")).weights_identity(spec)


def _fingerprint(
    spec: dict[str, Any],
    prompts_path: str | os.PathLike,
    seed: int,
    code: str = "",
    weights: list | None = None,
) -> str:
    """What a predictions table depends on: the prompts' bytes, the model entry's
    result settings, the seed, the weights (``weights``, default
    :func:`checkpoint_identity`) and the code that computes it (``code``: the
    workflow's fingerprint of it)."""
    h = hashlib.sha256()
    h.update(file_sha256(prompts_path).encode())
    weights = checkpoint_identity(spec) if weights is None else weights
    ident = [result_settings(spec), int(seed), weights, code]
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


def _chunk_digest(chunk: dict) -> str:
    """The sha256 of a batch checkpoint's content (all but its own ``sha256``)."""
    body = {k: v for k, v in chunk.items() if k != "sha256"}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def _chunk_problem(chunk: Any, rows: list[int]) -> str | None:
    """Why a batch checkpoint read back cannot be used for ``rows`` (None: it can)."""
    if not isinstance(chunk, dict):
        return "not a JSON object (truncated?)"
    if chunk.get("sha256") != _chunk_digest(chunk):
        return "its content does not match its sha256"
    if chunk.get("rows") != rows:
        return "it holds other rows (another batch plan)"
    n = len(rows)
    shapes = [len(chunk[k]) for k in ("text", "logprob", "position_logprobs", "answer_logprobs")]
    if shapes != [n] * 4:
        return f"{shapes} values for {n} rows"
    return None


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
    weights: list | None = None,
    code: str = "",
) -> None:
    """Predict every prompt of ``prompts_path`` with the model ``spec`` (a config
    model entry) and write the predictions table to ``out_path``, resuming from the
    checkpoints of an interrupted run of the same job. ``backend``: an already
    loaded backend (tests, benchmarks), or a function that returns one, called only
    when some batch is left to compute; by default the spec's backend is loaded.
    ``weights``: :func:`checkpoint_identity` of the spec when already computed.
    ``code``: the fingerprint of the code that computes predictions (see
    :func:`predict_files`): checkpoints of an interrupted run of other code are discarded.
    A batch checkpoint is used only when its content matches its sha256; a damaged
    one is reported and computed again."""
    from tqdm import tqdm

    spec = resolve_checkpoint(spec)
    prompts = read_table(prompts_path)
    part = partial_dir(out_path)
    fingerprint = _fingerprint(spec, prompts_path, seed, code, weights)
    manifest = _read_json(part / MANIFEST)
    if manifest is None or manifest.get("fingerprint") != fingerprint:
        if part.exists():
            print(f"discarding checkpoints of another job in {part}", file=sys.stderr)
            shutil.rmtree(part)
        manifest = None

    def finished(plan: list[list[int]]) -> dict[int, dict]:
        out = {}
        for i in range(len(plan)):
            path = _batch_file(part, i)
            if not path.exists():
                continue
            chunk = _read_json(path)
            why = _chunk_problem(chunk, plan[i])
            if why is None:
                out[i] = chunk
            else:
                print(f"{path}: batch checkpoint not used ({why}); computing it again",
                      file=sys.stderr)  # fmt: skip
                path.unlink(missing_ok=True)
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
                chunk["sha256"] = _chunk_digest(chunk)
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
        positions[rows] = _floats(chunk["position_logprobs"])
        answers[rows] = _floats(chunk["answer_logprobs"])
    table = score(prompts, text, logprob, spec["name"], positions, answers)
    write_table(table, out_path)
    shutil.rmtree(part, ignore_errors=True)


def _floats(values: list) -> np.ndarray:
    """JSON numbers back to floats (``json`` writes NaN as ``NaN``, None stays NaN)."""
    return np.array(values, dtype=np.float64)


STORE = ".store"


def store_dir(out_path: str | os.PathLike) -> Path:
    """The store of the predictions tables written beside ``out_path``."""
    return Path(out_path).parent / STORE


def store_path(out_path: str | os.PathLike, fingerprint: str, sha256: str) -> Path:
    """Where a finished predictions table with this fingerprint and these bytes
    (``sha256``) is kept for reuse (see the module doc)."""
    out = Path(out_path)
    return store_dir(out) / f"{out.stem}-{fingerprint[:24]}-{sha256}{out.suffix}"


def _restore(out: Path, fingerprint: str) -> Path | None:
    """Copy the stored table of this fingerprint back to ``out``, its bytes checked
    against the sha256 in its name; a damaged entry is reported and removed.
    Returns the entry used, or None when there is none (left)."""
    for entry in sorted(store_dir(out).glob(f"{out.stem}-{fingerprint[:24]}-*{out.suffix}")):
        recorded = entry.stem.rsplit("-", 1)[-1]
        try:
            copy_verified(entry, out, recorded)
        except IntegrityError as err:
            print(f"damaged store entry removed, its table is computed again: {err}",
                  file=sys.stderr)  # fmt: skip
            entry.unlink(missing_ok=True)
            continue
        return entry
    return None


def _store(out: Path, fingerprint: str) -> Path:
    """Keep a verified copy of the just-written table ``out`` in the store (its
    content digest read back first), replacing that table's older entries."""
    read_arrow(out)
    digest = file_sha256(out)
    for old in store_dir(out).glob(f"{out.stem}-*{out.suffix}"):
        old.unlink()  # superseded by this table
    entry = store_path(out, fingerprint, digest)
    copy_verified(out, entry, digest)
    return entry


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
    whose prompts, model entry, weights and seed are unchanged since it was last
    computed is copied back from the store (checked); the others are computed
    (resuming from checkpoints). The weights are checked first (see
    :func:`checkpoint_identity`), and the job holds the store's lock throughout.
    ``code``: a fingerprint of the code that computes predictions (the workflow
    passes its rule's), so that changed code recomputes rather than reuses.
    Returns ``{out_path: "reused" | "computed"}``; the backend is loaded on demand
    and released at the end."""
    spec = resolve_checkpoint(spec)
    t0 = time.perf_counter()
    weights = checkpoint_identity(spec)
    if looks_like_path(str(spec.get("checkpoint") or "")) and weights:
        print(f"{spec['checkpoint']}: {len(weights)} file(s) checked by sha256 in "
              f"{time.perf_counter() - t0:.3f}s", file=sys.stderr)  # fmt: skip
    loaded: list[Backend] = []

    def backend() -> Backend:
        if not loaded:
            loaded.append(load_backend(spec, seed))
        return loaded[0]

    status = {}
    stores = sorted({store_dir(out) for _, out in jobs})
    with contextlib.ExitStack() as locks:
        for store in stores:
            locks.enter_context(exclusive(store / ".lock", f"the predictions store {store}"))
        try:
            for prompts_path, out_path in jobs:
                out = Path(out_path)
                fingerprint = _fingerprint(spec, prompts_path, seed, code, weights)
                kept = _restore(out, fingerprint)
                if kept is not None:
                    status[str(out_path)] = "reused"
                    print(f"{out_path}: unchanged, reused from {kept.parent}", file=sys.stderr)
                    continue
                predict_file(spec, prompts_path, out, seed, backend=backend,
                             progress=progress, weights=weights, code=code)  # fmt: skip
                _store(out, fingerprint)
                status[str(out_path)] = "computed"
        finally:
            if loaded:
                loaded[0].close()
    print(
        f"{spec['name']}: {len(loaded)} weight load(s) for {len(status)} table(s)", file=sys.stderr
    )
    return status
