"""Helpers for the workflow's scripts (thin glue around the library)."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import traceback
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def logged(log_path: str | os.PathLike | None) -> Iterator[None]:
    """Send a script's stdout, stderr (tqdm bars, warnings) and logging to its log file;
    a failure's traceback is written there too before it propagates."""
    if not log_path:
        yield
        return
    Path(log_path).parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "w", buffering=1) as fh:
        handler = logging.StreamHandler(fh)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root = logging.getLogger()
        root.addHandler(handler)
        root.setLevel(logging.INFO)
        try:
            with contextlib.redirect_stdout(fh), contextlib.redirect_stderr(fh):
                yield
        except BaseException:
            traceback.print_exc(file=fh)
            raise
        finally:
            root.removeHandler(handler)
            sys.stderr.flush()


def export_library_path(repo: str | os.PathLike) -> None:
    """Put ``repo/src`` first on ``PYTHONPATH`` (when it holds this package), so jobs
    import the checkout's library inside conda environments and containers too.
    The workflow sets the variable itself: users need not define it."""
    src = os.path.join(repo, "src")
    if not os.path.isdir(os.path.join(src, "genomic_icl")):
        return
    paths = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p and p != src]
    os.environ["PYTHONPATH"] = os.pathsep.join([src, *paths])
