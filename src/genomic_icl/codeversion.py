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
  ``__init__.py`` imports them;
* the modules a registry names by string, where the module that loads them by name is
  in the closure (:data:`NAMED_BY`): every plot module a ``draw="module.function"``
  of :mod:`genomic_icl.figure_registry` points at, once ``figures/context.py`` is in
  (read from the registry's source, as the imports are), and what they import;
* the package data files a module of the closure reads in a job (:data:`DATA_FILES`:
  ``data/table4.tsv``, read by ``stats/inputs.py``), hashed byte for byte;
* for inference, the module of the model's backend (from the registry, or the
  ``package.module:Class`` named in config) and, in turn, what it imports: modules of
  ``genomic_icl`` and, for a backend outside it, modules of the backend's own
  top-level package (``pkgx.mod`` importing ``pkgx.helpers``). A backend whose module
  has no source file is an error (planning refuses it first, naming its config key).

Nothing else: editing any other file reruns nothing (the config schema, which
planning reads, included: what it fills in reaches jobs through their ``params``).
``tests/test_codeversion.py`` pins the files of every rule, so moving code shows up
there as a test diff.

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


#: Top-level packages whose imports the closure follows, by name: (name, directory).
Roots = tuple[tuple[str, Path], ...]

#: Modules that load modules by a name a registry gives as a string (relative to the
#: package): module -> (registry module, keyword of its entries, package of the named
#: modules). The named modules join the closure with the loading module.
NAMED_BY: dict[str, tuple[str, str, str]] = {
    "figures/context.py": ("figure_registry.py", "draw", f"{PACKAGE}.figures"),
}

#: Package data files a module reads in a job (relative to the package): module ->
#: data files, which join the code identity of every job whose closure has the module.
DATA_FILES: dict[str, tuple[str, ...]] = {
    "stats/inputs.py": ("data/table4.tsv",),
}


def _module_file(module: str, roots: Roots) -> Path | None:
    """The file of ``pkg.x.y`` (a module or a package's __init__) for a package of
    ``roots``."""
    parts = module.split(".")
    for name, directory in roots:
        if parts[0] != name:
            continue
        base = directory.joinpath(*parts[1:])
        if base.with_suffix(".py").is_file():
            return base.with_suffix(".py")
        if (base / "__init__.py").is_file():
            return base / "__init__.py"
    return None


def _package_of(path: Path, roots: Roots) -> str | None:
    """Dotted name of the package holding ``path`` when it lies in one of ``roots``."""
    for name, directory in roots:
        if path.parent.is_relative_to(directory):
            return ".".join([name, *path.parent.relative_to(directory).parts])
    return None


def _imported_files(
    imports: list[ast.Import | ast.ImportFrom], path: Path, roots: Roots
) -> frozenset[Path]:
    """Files of the modules of ``roots`` that these import statements of ``path`` load
    (relative imports resolved), with every package on the way."""
    found: set[Path] = set()
    package = _package_of(path, roots)
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
                file = _module_file(".".join(parts[:i]), roots)
                if file is not None:
                    found.add(file)
    return frozenset(found)


@lru_cache(maxsize=1024)
def _analysed(path: Path, text: str, roots: Roots) -> tuple[str, frozenset[Path]]:
    """(digest of the canonical tree, imported files of ``roots``) of a file's text;
    cached by content, so an edited file is read anew."""
    out: list[str] = []
    imports: list[ast.Import | ast.ImportFrom] = []
    _canonical(ast.parse(text, filename=str(path)), out, imports)
    digest = hashlib.sha256("".join(out).encode()).hexdigest()
    return digest, _imported_files(imports, path, roots)


def _analyse(path: Path, roots: Roots) -> tuple[str, frozenset[Path]]:
    return _analysed(path, path.read_text(encoding="utf-8"), roots)


def registry_named(registry: Path, keyword: str) -> list[str]:
    """The string values of ``keyword=`` in the calls of a registry module's source
    (``draw="accuracy.accuracy_vs_shots"``), read with :mod:`ast`."""
    tree = ast.parse(registry.read_text(encoding="utf-8"), filename=str(registry))
    return [
        kw.value.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        for kw in node.keywords
        if kw.arg == keyword
        and isinstance(kw.value, ast.Constant)
        and isinstance(kw.value.value, str)
    ]


def _named_files(path: Path, pkg: Path, roots: Roots) -> set[Path]:
    """What a module of the package brings beyond its imports: the modules its
    registry names (:data:`NAMED_BY`) and the data files it reads (:data:`DATA_FILES`)."""
    if not path.is_relative_to(pkg):
        return set()
    rel = path.relative_to(pkg).as_posix()
    found = {pkg / data for data in DATA_FILES.get(rel, ())}
    if rel in NAMED_BY:
        registry, keyword, package = NAMED_BY[rel]
        for target in registry_named(pkg / registry, keyword):
            module = f"{package}.{target.rpartition('.')[0]}"
            if (file := _module_file(module, roots)) is not None:
                found.add(file)
    return found


def _package(package_dir: str | Path | None) -> Path:
    return Path(package_dir).resolve() if package_dir else PACKAGE_DIR


def _roots(pkg: Path, extra: Roots = ()) -> Roots:
    return ((PACKAGE, pkg), *extra)


def code_files(
    *entries: str | Path, package_dir: str | Path | None = None, extra_roots: Roots = ()
) -> list[Path]:
    """The entry modules (scripts) and every genomic_icl module they import, directly
    or through other modules of the package (modules looked up in ``package_dir``,
    default: this installed package), with the modules its registries name and the data
    files it reads; ``extra_roots``: other top-level packages whose imports are
    followed, ``(name, directory)`` (a backend's own). Sorted."""
    pkg = _package(package_dir)
    roots = _roots(pkg, extra_roots)
    seen: set[Path] = set()
    todo = [Path(e).resolve() for e in entries]
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        if path.suffix == ".py":
            todo.extend((_analyse(path, roots)[1] | _named_files(path, pkg, roots)) - seen)
    return sorted(seen)


def module_path(module: str, package_dir: str | Path | None = None) -> Path | None:
    """The source file of a module: a genomic_icl module looked up in ``package_dir``,
    any other one where Python finds it (a user's backend); None if there is none."""
    pkg = _package(package_dir)
    file = _module_file(module, _roots(pkg))
    if file is None and module.split(".")[0] != PACKAGE:
        try:
            spec = importlib.util.find_spec(module)
        except (ImportError, ValueError):
            spec = None
        if spec is not None and spec.origin and spec.origin.endswith(".py"):
            file = Path(spec.origin)
    return file.resolve() if file is not None else None


def top_package(module: str, file: Path) -> tuple[str, Path] | None:
    """(name, directory) of the top-level package of ``module``, found from its source
    ``file``; None for a top-level module that is no package."""
    parts = module.split(".")
    depth = len(parts) - (1 if file.name == "__init__.py" else 2)
    if depth < 0:
        return None
    return parts[0], file.parents[depth]


def backend_module(backend: str) -> str:
    """The module of a model entry's ``backend:``: the registry's ``module:Class`` (or
    registered class), or the module of a ``package.module:Class`` given in config."""
    from genomic_icl.models import BACKENDS

    target = BACKENDS.get(backend, backend)
    if isinstance(target, type):
        return target.__module__
    return target.partition(":")[0]


def code_version(
    *entries: str | Path, package_dir: str | Path | None = None, extra_roots: Roots = ()
) -> str:
    """Fingerprint (16 hex digits) of what the files of :func:`code_files` do (data
    files by their bytes)."""
    pkg = _package(package_dir)
    roots = _roots(pkg, extra_roots)
    named = []
    for path in code_files(*entries, package_dir=pkg, extra_roots=extra_roots):
        holder = next((d.parent for _, d in roots if path.is_relative_to(d)), None)
        name = path.relative_to(holder).as_posix() if holder is not None else path.name
        if path.suffix == ".py":
            tree = _analyse(path, roots)[0]
        else:
            tree = hashlib.sha256(path.read_bytes()).hexdigest()
        named.append((name, tree))
    digest = hashlib.sha256()
    for name, tree in sorted(named):
        digest.update(f"{name}\0{tree}\0".encode())
    return digest.hexdigest()[:16]


def _workflow_entries(
    basedir: str | Path, script: str, backend: str | None
) -> tuple[list[Path], Path | None, Roots]:
    """The entry files of a rule's code identity, the package they are read from (the
    checkout's ``src/genomic_icl`` when there is one, else the installed package) and
    the backend's own top-level package when it lies outside genomic_icl."""
    pkg = Path(basedir) / "src" / PACKAGE
    package_dir = pkg if pkg.is_dir() else None
    entries = [Path(basedir) / script]
    extra: Roots = ()
    if backend is not None:
        module = backend_module(backend)
        own = module_path(module, package_dir)
        if own is None:
            raise ValueError(
                f"backend {backend!r}: no source file of its module {module!r} on the Python "
                "path, so no fingerprint of its code (models[*].backend)"
            )
        entries.append(own)
        if module.split(".")[0] != PACKAGE and (top := top_package(module, own)):
            extra = (top,)
    return entries, package_dir, extra


def workflow_code_files(basedir: str | Path, script: str, backend: str | None = None) -> list[Path]:
    """The files of a rule's code identity: its ``script`` (relative to the workflow's
    ``basedir``), the library modules it imports and, with ``backend`` (a model
    entry's ``backend:``), that backend's module and what it imports."""
    entries, package_dir, extra = _workflow_entries(basedir, script, backend)
    return code_files(*entries, package_dir=package_dir, extra_roots=extra)


def workflow_code_version(basedir: str | Path, script: str, backend: str | None = None) -> str:
    """The ``code`` param of a rule: the fingerprint of :func:`workflow_code_files`."""
    entries, package_dir, extra = _workflow_entries(basedir, script, backend)
    return code_version(*entries, package_dir=package_dir, extra_roots=extra)
