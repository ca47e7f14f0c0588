"""Model backends, keyed by the ``backend:`` of a config model entry.

Backends are named here as ``module:Class`` strings and imported on first use,
so importing this package (or planning the workflow) never imports torch,
transformers or evo2. :func:`register_backend` adds a user backend.
"""

from __future__ import annotations

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
]

BACKENDS: dict[str, str | type[Backend]] = {
    "reference": "genomic_icl.models.reference:ReferenceBackend",
    "hf": "genomic_icl.models.hf:HFBackend",
    "evo2": "genomic_icl.models.evo2:Evo2Backend",
}


def register_backend(name: str, backend: str | type[Backend]) -> None:
    """Register a backend class (or a ``"module:Class"`` string) under ``name``."""
    BACKENDS[name] = backend


def get_backend(name: str) -> type[Backend]:
    """The backend class registered as ``name``; :class:`BackendError` if unknown."""
    if name not in BACKENDS and ":" in name:  # "package.module:Class" from a config
        try:
            module, _, attr = name.partition(":")
            BACKENDS[name] = getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as err:
            raise BackendError(f"backend {name!r} cannot be imported: {err}") from None
    try:
        entry = BACKENDS[name]
    except KeyError:
        raise BackendError(
            f"unknown backend {name!r}; known: {', '.join(sorted(BACKENDS))} "
            "(a new one is named in config as `package.module:Class`, or registered with "
            "genomic_icl.models.register_backend)"
        ) from None
    if isinstance(entry, str):
        module, _, attr = entry.partition(":")
        entry = getattr(importlib.import_module(module), attr)
        BACKENDS[name] = entry
    return entry


def preflight(spec: dict[str, Any], alphabet: str | None = None) -> type[Backend]:
    """Static checks of one model entry (no heavy imports), and of the ``alphabet`` of
    its encoding when given; returns its backend class."""
    cls = get_backend(spec.get("backend", ""))
    cls.preflight(spec)
    if alphabet is not None:
        cls.check_alphabet(spec, alphabet)
    return cls
