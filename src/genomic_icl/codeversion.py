"""Code fingerprints for the workflow's rerun decisions.

A rule passes ``code_version(script)`` as a param. The fingerprint covers the
script and every ``genomic_icl`` module it imports, directly or through other
modules of the package, as parsed Python: comments, docstrings, blank lines and
formatting do not enter it, so editing them reruns nothing, while a change to what
the code does reruns exactly the rules whose code changed (Snakemake's ``params``
rerun trigger). Snakemake's own ``code`` trigger, which compares the script's
modification time with the outputs', is switched off in profiles/default.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path

PACKAGE = "genomic_icl"
PACKAGE_DIR = Path(__file__).resolve().parent


def _strip_docstrings(tree: ast.AST) -> ast.AST:
    """Drop the docstring of the module and of every class and function."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if (
                body
                and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)
            ):
                node.body = body[1:] or [ast.Pass()]
    return tree


def _module_file(module: str, package_dir: Path) -> Path | None:
    """The file of ``genomic_icl.x.y`` (a module or a package's __init__)."""
    parts = module.split(".")
    if parts[0] != PACKAGE:
        return None
    base = package_dir.joinpath(*parts[1:])
    if base.with_suffix(".py").is_file():
        return base.with_suffix(".py")
    if (base / "__init__.py").is_file():
        return base / "__init__.py"
    return None


def _package_of(path: Path, package_dir: Path) -> str | None:
    """Dotted name of the package holding ``path`` when it lies in genomic_icl."""
    try:
        rel = path.resolve().parent.relative_to(package_dir)
    except ValueError:
        return None
    return ".".join([PACKAGE, *rel.parts])


def _imports(tree: ast.AST, path: Path, package_dir: Path) -> set[Path]:
    """Files of the genomic_icl modules imported in ``tree`` (relative imports too)."""
    found: set[Path] = set()
    package = _package_of(path, package_dir)
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                if package is None:
                    continue
                parent = package.split(".")
                parent = parent[: len(parent) - (node.level - 1)]
                base = ".".join(parent + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            names = [base] + [f"{base}.{alias.name}" for alias in node.names]
        for name in names:
            parts = name.split(".")
            # the module itself and every package on the way (their __init__ runs)
            for i in range(1, len(parts) + 1):
                file = _module_file(".".join(parts[:i]), package_dir)
                if file is not None:
                    found.add(file.resolve())
    # a package whose registry loads its members by name: take them all
    for file in list(found):
        if file.name == "__init__.py" and file.parent != package_dir:
            found.update(p.resolve() for p in file.parent.glob("*.py"))
    return found


@cache
def _parsed(path: Path, package_dir: Path) -> tuple[str, frozenset[Path]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    imports = frozenset(_imports(tree, path, package_dir))
    return ast.dump(_strip_docstrings(tree), annotate_fields=False), imports


def code_files(
    *scripts: str | Path,
    package_dir: str | Path | None = None,
    skip: Iterable[str | Path] = (),
) -> list[Path]:
    """The scripts and every genomic_icl module they reach through imports
    (modules looked up in ``package_dir``, default: this installed package), not
    entering the files in ``skip``."""
    pkg = Path(package_dir).resolve() if package_dir else PACKAGE_DIR
    seen: set[Path] = {Path(s).resolve() for s in skip}
    skipped = set(seen)
    todo = [Path(s).resolve() for s in scripts]
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        todo.extend(_parsed(path, pkg)[1] - seen)
    return sorted(seen - skipped)


def module_path(module: str, package_dir: str | Path | None = None) -> Path | None:
    """The source file of a module: a genomic_icl module looked up in ``package_dir``,
    any other one where Python finds it (a user's backend); None if there is none."""
    pkg = Path(package_dir).resolve() if package_dir else PACKAGE_DIR
    file = _module_file(module, pkg)
    if file is None and module.split(".")[0] != PACKAGE:
        try:
            spec = importlib.util.find_spec(module)
        except (ImportError, ValueError):
            spec = None
        if spec is not None and spec.origin and spec.origin.endswith(".py"):
            file = Path(spec.origin)
    return file.resolve() if file is not None else None


def backend_code_version(
    script: str | Path,
    backend: str,
    backends: Mapping[str, str | type],
    package_dir: str | Path | None = None,
) -> str:
    """Fingerprint of an inference ``script`` for the models of one ``backend``: the
    script, the library it uses and that backend's module, but none of the other
    backends' modules (``backends``: the registry, key -> ``module:Class`` or class), so a change in
    one backend reruns only the models that use it. ``backend`` may be a
    ``package.module:Class`` outside the registry; its module is fingerprinted too."""
    modules = {
        name: target.__module__ if isinstance(target, type) else target.partition(":")[0]
        for name, target in backends.items()
    }
    own = module_path(modules.get(backend, backend.partition(":")[0]), package_dir)
    others = {
        path
        for name, module in modules.items()
        if name != backend and (path := module_path(module, package_dir))
    } - {own}
    extra = [own] if own is not None else []
    return code_version(script, *extra, package_dir=package_dir, skip=others)


def code_version(
    *scripts: str | Path,
    package_dir: str | Path | None = None,
    skip: Iterable[str | Path] = (),
) -> str:
    """Fingerprint (16 hex digits) of what ``scripts`` and their library modules do
    (not entering the files in ``skip``)."""
    pkg = Path(package_dir).resolve() if package_dir else PACKAGE_DIR
    digest = hashlib.sha256()
    for path in code_files(*scripts, package_dir=pkg, skip=skip):
        name = str(path.relative_to(pkg.parent)) if path.is_relative_to(pkg.parent) else path.name
        digest.update(name.encode() + b"\0" + _parsed(path, pkg)[0].encode() + b"\0")
    return digest.hexdigest()[:16]


def workflow_code_version(basedir: str | Path, script: str, backend: str | None = None) -> str:
    """The ``code`` param of a rule: the fingerprint of ``script`` (relative to the
    workflow's ``basedir``) and the library modules it imports, taken from the checkout's
    ``src/genomic_icl`` when there is one, else the installed package; with ``backend``
    (a model entry's ``backend:``), that backend's module too (:func:`backend_code_version`)."""
    pkg = Path(basedir) / "src" / PACKAGE
    package_dir = pkg if pkg.is_dir() else None
    path = Path(basedir) / script
    if backend is None:
        return code_version(path, package_dir=package_dir)
    from genomic_icl.models import BACKENDS

    return backend_code_version(path, backend, BACKENDS, package_dir=package_dir)
