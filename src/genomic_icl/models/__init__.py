"""Model backends, keyed by the ``backend:`` of a config model entry.

Backends are named here as ``module:Class`` strings and imported on first use,
so importing this package (or planning the workflow) never imports torch,
transformers or evo2. :func:`register_backend` adds a user backend.
"""

from __future__ import annotations

import difflib
import importlib
from typing import Any

from genomic_icl.models.base import Backend, BackendError, Continuations

__all__ = [
    "BACKENDS",
    "Backend",
    "BackendError",
    "Continuations",
    "get_backend",
    "preflight",
    "register_backend",
    "software_steps",
]

BACKENDS: dict[str, str | type[Backend]] = {
    "reference": "genomic_icl.models.reference:ReferenceBackend",
    "hf": "genomic_icl.models.hf:HFBackend",
    "evo2": "genomic_icl.models.evo2:Evo2Backend",
}


def register_backend(name: str, backend: str | type[Backend]) -> None:
    """Register a backend class (or a ``"module:Class"`` string) under ``name``."""
    BACKENDS[name] = backend


def _load(name: str, target: str | type) -> type[Backend]:
    """The class a registry entry names, checked to be a :class:`Backend` subclass."""
    if isinstance(target, str):
        module, _, attr = target.partition(":")
        try:
            target = getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as err:
            raise BackendError(f"backend {name!r} cannot be imported: {err}") from None
    if not (isinstance(target, type) and issubclass(target, Backend)):
        raise BackendError(
            f"backend {name!r} is {target!r}, not a subclass of genomic_icl.models.Backend "
            "(docs/models.md: a backend implements run() and, optionally, plan(), preflight() "
            "and check_environment())"
        )
    return target


def get_backend(name: str) -> type[Backend]:
    """The backend class registered as ``name`` or named as ``package.module:Class``.

    Raises:
        BackendError: unknown name (with close matches), an import path that does
            not import, or a class that is not a :class:`Backend`.
    """
    if name not in BACKENDS:
        if ":" not in name:
            close = difflib.get_close_matches(name, list(BACKENDS), n=3)
            hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
            raise BackendError(
                f"unknown backend {name!r}{hint} (known: {', '.join(sorted(BACKENDS))}; a new "
                "one is named in config as `package.module:Class`, or registered with "
                "genomic_icl.models.register_backend)"
            )
    BACKENDS[name] = _load(name, BACKENDS.get(name, name))
    return BACKENDS[name]


def software_steps() -> list[str]:
    """The software steps of the registered backends (``Backend.software_step``), with
    ``cpu``, the step of every job other than inference: one image
    (containers/STEP.def) and one conda env (envs/STEP.yaml, envs/STEP.txt) each.
    Imports every registered backend's module (no heavy imports: numpy at most)."""
    return sorted({"cpu", *(get_backend(name).software_step for name in list(BACKENDS))})


def preflight(spec: dict[str, Any], alphabet: str | None = None) -> type[Backend]:
    """Static checks of one model entry (no heavy imports), and of the ``alphabet`` of
    its encoding when given; returns its backend class."""
    cls = get_backend(spec.get("backend", ""))
    cls.preflight(spec)
    if alphabet is not None:
        cls.check_alphabet(spec, alphabet)
    return cls
