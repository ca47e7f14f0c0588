"""Code fingerprints for the workflow's rerun decisions.

Every rule with a ``script:`` passes the fingerprint of its code as its ``code`` param
(rules/fingerprints.smk), so a change to what the code does reruns exactly the jobs
whose code changed (Snakemake's ``params`` rerun trigger; its own ``code`` trigger,
which compares the script's modification time with the outputs', is switched off in
profiles/default).

The contract: a job's code identity is

* its script (the rule's entry module);
* every ``genomic_icl`` module the script imports, directly or through other modules
  of the package: the transitive closure of its ``import`` and ``from ... import``
  statements, read from the source with :mod:`ast`, never by executing it. An import
  inside a function counts; so does every package on an import's way (its
  ``__init__.py`` runs on import), but not the package's other modules unless that
  ``__init__.py`` imports them. A module loaded by name at run time (the backend
  registry's ``module:Class`` strings) is not followed;
* for inference, the module of the model's backend (from the registry, or the
  ``package.module:Class`` named in config) and, in turn, what it imports.

Nothing else: editing any other file reruns nothing. ``tests/test_codeversion.py`` pins
the files of every rule, so moving code shows up there as a test diff.

The fingerprint hashes each file's syntax tree in a canonical form: comments,
docstrings, blank lines and formatting do not enter it; nor do absolute paths (files
are named relative to ``src/``, scripts and modules outside the package by file name)
or the Python version (fields a version leaves empty are left out).
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
from functools import lru_cache
from pathlib import Path

PACKAGE = "genomic_icl"
PACKAGE_DIR = Path(__file__).resolve().parent

_DOCSTRING_HOLDERS = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)


def _is_docstring(stmt: ast.stmt) -> bool:
    return (
        isinstance(stmt, ast.Expr)
        and isinstance(stmt.value, ast.Constant)
        and isinstance(stmt.value.value, str)
    )


def _canonical(node: ast.AST, out: list[str], imports: list[ast.Import | ast.ImportFrom]) -> None:
    """Append to ``out`` a canonical text of a syntax tree without docstrings: node
    types and their non-empty fields by name (the same on every Python version that
    parses the code alike); collect the tree's import statements into ``imports``."""
    out.append(type(node).__name__)
    out.append("(")
    if isinstance(node, ast.Import | ast.ImportFrom):
        imports.append(node)
    for name, value in ast.iter_fields(node):
        if value is None or value == []:
            continue
        if name == "body" and isinstance(node, _DOCSTRING_HOLDERS) and _is_docstring(value[0]):
            value = value[1:] or [ast.Pass()]
        out.append(name)
        if isinstance(value, list):
            out.append("=[")
            for item in value:
                if isinstance(item, ast.AST):
                    _canonical(item, out, imports)
                else:
                    out.append(repr(item))
                out.append(",")
            out.append("]")
        elif isinstance(value, ast.AST):
            out.append("=")
            _canonical(value, out, imports)
        else:
            out.append("=" + repr(value))
        out.append(",")
    out.append(")")


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
        rel = path.parent.relative_to(package_dir)
    except ValueError:
        return None
    return ".".join([PACKAGE, *rel.parts])


def _imported_files(
    imports: list[ast.Import | ast.ImportFrom], path: Path, package_dir: Path
) -> frozenset[Path]:
    """Files of the genomic_icl modules that these import statements of ``path`` load
    (relative imports resolved), with every package on the way."""
    found: set[Path] = set()
    package = _package_of(path, package_dir)
    for node in imports:
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            if node.level:
                if package is None:
                    continue
                parent = package.split(".")
                parent = parent[: len(parent) - (node.level - 1)]
                base = ".".join(parent + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            # `from pkg import name`: name may be a submodule of pkg
            names = [base] + [f"{base}.{alias.name}" for alias in node.names]
        for name in names:
            parts = name.split(".")
            for i in range(1, len(parts) + 1):
                file = _module_file(".".join(parts[:i]), package_dir)
                if file is not None:
                    found.add(file)
    return frozenset(found)


@lru_cache(maxsize=1024)
def _analysed(path: Path, text: str, package_dir: Path) -> tuple[str, frozenset[Path]]:
    """(digest of the canonical tree, imported library files) of a file's text; cached
    by content, so an edited file is read anew."""
    out: list[str] = []
    imports: list[ast.Import | ast.ImportFrom] = []
    _canonical(ast.parse(text, filename=str(path)), out, imports)
    digest = hashlib.sha256("".join(out).encode()).hexdigest()
    return digest, _imported_files(imports, path, package_dir)


def _analyse(path: Path, package_dir: Path) -> tuple[str, frozenset[Path]]:
    return _analysed(path, path.read_text(encoding="utf-8"), package_dir)


def _package(package_dir: str | Path | None) -> Path:
    return Path(package_dir).resolve() if package_dir else PACKAGE_DIR


def code_files(*entries: str | Path, package_dir: str | Path | None = None) -> list[Path]:
    """The entry modules (scripts) and every genomic_icl module they import, directly
    or through other modules of the package (modules looked up in ``package_dir``,
    default: this installed package), sorted."""
    pkg = _package(package_dir)
    seen: set[Path] = set()
    todo = [Path(e).resolve() for e in entries]
    while todo:
        path = todo.pop()
        if path not in seen:
            seen.add(path)
            todo.extend(_analyse(path, pkg)[1] - seen)
    return sorted(seen)


def module_path(module: str, package_dir: str | Path | None = None) -> Path | None:
    """The source file of a module: a genomic_icl module looked up in ``package_dir``,
    any other one where Python finds it (a user's backend); None if there is none."""
    pkg = _package(package_dir)
    file = _module_file(module, pkg)
    if file is None and module.split(".")[0] != PACKAGE:
        try:
            spec = importlib.util.find_spec(module)
        except (ImportError, ValueError):
            spec = None
        if spec is not None and spec.origin and spec.origin.endswith(".py"):
            file = Path(spec.origin)
    return file.resolve() if file is not None else None


def backend_module(backend: str) -> str:
    """The module of a model entry's ``backend:``: the registry's ``module:Class`` (or
    registered class), or the module of a ``package.module:Class`` given in config."""
    from genomic_icl.models import BACKENDS

    target = BACKENDS.get(backend, backend)
    if isinstance(target, type):
        return target.__module__
    return target.partition(":")[0]


def code_version(*entries: str | Path, package_dir: str | Path | None = None) -> str:
    """Fingerprint (16 hex digits) of what the files of :func:`code_files` do."""
    pkg = _package(package_dir)
    named = []
    for path in code_files(*entries, package_dir=pkg):
        name = (
            path.relative_to(pkg.parent).as_posix()
            if path.is_relative_to(pkg.parent)
            else path.name
        )
        named.append((name, _analyse(path, pkg)[0]))
    digest = hashlib.sha256()
    for name, tree in sorted(named):
        digest.update(f"{name}\0{tree}\0".encode())
    return digest.hexdigest()[:16]


def _workflow_entries(
    basedir: str | Path, script: str, backend: str | None
) -> tuple[list[Path], Path | None]:
    """The entry files of a rule's code identity and the package they are read from:
    the checkout's ``src/genomic_icl`` when there is one, else the installed package."""
    pkg = Path(basedir) / "src" / PACKAGE
    package_dir = pkg if pkg.is_dir() else None
    entries = [Path(basedir) / script]
    if backend is not None:
        own = module_path(backend_module(backend), package_dir)
        entries += [own] if own is not None else []
    return entries, package_dir


def workflow_code_files(basedir: str | Path, script: str, backend: str | None = None) -> list[Path]:
    """The files of a rule's code identity: its ``script`` (relative to the workflow's
    ``basedir``), the library modules it imports and, with ``backend`` (a model
    entry's ``backend:``), that backend's module and what it imports."""
    entries, package_dir = _workflow_entries(basedir, script, backend)
    return code_files(*entries, package_dir=package_dir)


def workflow_code_version(basedir: str | Path, script: str, backend: str | None = None) -> str:
    """The ``code`` param of a rule: the fingerprint of :func:`workflow_code_files`."""
    entries, package_dir = _workflow_entries(basedir, script, backend)
    return code_version(*entries, package_dir=package_dir)
