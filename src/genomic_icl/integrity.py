"""Content digests: nothing reused (weights, stored predictions, checkpoints of a
batch) is trusted without checking its bytes.

Weights directories (the shipped DNA model, weights trained by the workflow) carry
a ``SHA256SUMS`` file in ``sha256sum`` format (``sha256sum -c SHA256SUMS`` checks
it by hand). :func:`weights_digest` hashes every file of a checkpoint, checks those
listed there, checks that ``.safetensors`` files are complete, and returns the
digests, which make the weights' part of a predictions table's reuse fingerprint:
content only, never a modification time, and never hidden files such as Snakemake's
``.snakemake_timestamp`` marker in a directory output.

Local checkpoints are hashed in full every time a job uses them (no cache keyed on
size and modification time, which would miss damage that keeps both): about 1 s
per GB where sha256 runs at disk speed, small next to loading the same bytes.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import socket
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SUMS = "SHA256SUMS"
BLOCK = 1 << 20


class IntegrityError(ValueError):
    """A file that does not hold what was written: its message names the file and
    the command that fixes it."""


def file_sha256(path: str | os.PathLike) -> str:
    """The sha256 of a file's bytes (hex)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(BLOCK), b""):
            h.update(block)
    return h.hexdigest()


def content_files(root: Path) -> list[Path]:
    """The files a checkpoint's content is: every file under ``root`` (or ``root``
    itself) except hidden ones (``.snakemake_timestamp``, ``.cache``) and ``SHA256SUMS``."""
    if not root.is_dir():
        return [root]
    return sorted(
        f
        for f in root.rglob("*")
        if f.is_file()
        and f.name != SUMS
        and not any(p.startswith(".") for p in f.relative_to(root).parts)
    )


def write_sums(root: str | os.PathLike) -> Path:
    """Write ``root/SHA256SUMS`` listing every content file of the directory."""
    root = Path(root)
    lines = [f"{file_sha256(f)}  {f.relative_to(root).as_posix()}\n" for f in content_files(root)]
    path = root / SUMS
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("".join(lines))
    os.replace(tmp, path)
    return path


def read_sums(path: Path) -> dict[str, str]:
    """``{relative path: sha256}`` of a ``SHA256SUMS`` file."""
    sums = {}
    for line in path.read_text().splitlines():
        # text mode "HASH  name", binary mode "HASH *name" (sha256sum -b), any case
        m = _SUM_LINE.fullmatch(line)
        if m is None:
            raise IntegrityError(f"{path}: not a sha256sum line: {line!r}")
        sums[m["name"]] = m["digest"].lower()
    return sums


_SUM_LINE = re.compile(r"(?P<digest>[0-9a-fA-F]{64}) [ *](?P<name>.+)")


def check_safetensors(path: Path, fix: str) -> None:
    """A ``.safetensors`` file is whole: its header parses and its tensors end at the
    end of the file (cheap: reads the header only). Catches truncated weights in any
    checkpoint, with or without ``SHA256SUMS``."""
    size = path.stat().st_size
    try:
        with open(path, "rb") as fh:
            n = int.from_bytes(fh.read(8), "little")
            if not 0 < n <= size - 8:
                raise ValueError(f"header length {n}")
            header = json.loads(fh.read(n))
        end = max(
            (t["data_offsets"][1] for k, t in header.items() if k != "__metadata__"), default=0
        )
    except (ValueError, KeyError, TypeError, IndexError) as err:
        raise IntegrityError(f"{path}: damaged weights (unreadable header: {err}); {fix}") from None
    if 8 + n + end != size:
        raise IntegrityError(
            f"{path}: damaged weights ({size} bytes, its header says {8 + n + end}: truncated "
            f"or cut short while copying); {fix}"
        )


def weights_digest(root: str | os.PathLike, fix: str) -> list[list[str]]:
    """``[[relative path, sha256], ...]`` of a checkpoint (directory or single file),
    checked: every file listed in its ``SHA256SUMS`` (when it has one) is there with
    that digest, and every ``.safetensors`` file is whole. Raises
    :class:`IntegrityError` naming the file, with ``fix`` (what to do) appended."""
    root = Path(root)
    files = content_files(root)
    digests = [[f.relative_to(root).as_posix() if root.is_dir() else f.name, ""] for f in files]
    for f in files:
        if f.suffix == ".safetensors":
            check_safetensors(f, fix)
    for entry, f in zip(digests, files, strict=True):
        entry[1] = file_sha256(f)
    sums_path = root / SUMS if root.is_dir() else None
    if sums_path is not None and sums_path.is_file():
        have = dict(map(tuple, digests))
        for name, digest in read_sums(sums_path).items():
            if name not in have:
                raise IntegrityError(f"{root / name}: missing (listed in {sums_path}); {fix}")
            if have[name] != digest:
                raise IntegrityError(
                    f"{root / name}: content does not match its sha256 in {sums_path} "
                    f"(damaged or changed since it was written); {fix}"
                )
    return digests


def copy_verified(src: Path, dst: Path, digest: str) -> None:
    """Copy ``src`` (whose sha256 must be ``digest``) to ``dst`` atomically, checking
    the bytes written: a damaged source or copy raises :class:`IntegrityError` and
    leaves ``dst`` as it was."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(dst.name + f".{os.getpid()}.copy")
    h = hashlib.sha256()
    try:
        with open(src, "rb") as fi, open(tmp, "wb") as fo:
            for block in iter(lambda: fi.read(BLOCK), b""):
                h.update(block)
                fo.write(block)
            fo.flush()
            os.fsync(fo.fileno())
        if h.hexdigest() != digest:
            raise IntegrityError(f"{src}: content does not match its recorded sha256 {digest}")
        if file_sha256(tmp) != digest:
            raise IntegrityError(f"{dst}: copy of {src} differs from it (disk or filesystem error)")
        os.replace(tmp, dst)
    finally:
        tmp.unlink(missing_ok=True)


@contextmanager
def exclusive(lock_path: Path, what: str) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``lock_path`` for the block: one writer at a time.
    A second one prints who holds it and waits; the lock is released when the holder
    ends, however it ends (``kill -9`` included). ``what`` names the guarded thing."""
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "another process"
            print(
                f"waiting for {what}: another job is writing it ({holder}; lock {lock_path})",
                file=sys.stderr,
                flush=True,
            )
            t0 = time.monotonic()
            fcntl.flock(fh, fcntl.LOCK_EX)
            print(f"got {what} after {time.monotonic() - t0:.1f}s", file=sys.stderr, flush=True)
        except OSError as err:
            raise OSError(
                f"{lock_path}: cannot be locked ({err}); this filesystem lacks flock "
                "(NFS v4 has it; Lustre needs the -o flock mount option)"
            ) from None
        fh.seek(0)
        fh.truncate()
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        fh.write(f"pid {os.getpid()} on {socket.gethostname()} since {stamp}\n")
        fh.flush()
        try:
            yield
        finally:
            fh.seek(0)
            fh.truncate()
            fh.flush()
            fcntl.flock(fh, fcntl.LOCK_UN)
