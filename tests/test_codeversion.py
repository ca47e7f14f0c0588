"""The fingerprint contract (genomic_icl.codeversion): a job's code identity is its
script, the library modules the script imports (statically, transitively), the plot
modules the figure registry names, the package data its modules read and, for
inference, its backend's module and what that imports. The table below pins the
library files of every rule: moving code between modules shows up here as a test diff,
never as a silent change of what reruns. Update it when a change of imports is meant;
the message says what moved.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
import shutil
import sys
from pathlib import Path

import pytest

from conftest import REPO, small_config
from genomic_icl import stats
from genomic_icl.codeversion import (
    _canonical,
    backend_module,
    code_version,
    workflow_code_files,
    workflow_code_version,
)
from genomic_icl.figure_registry import FIGURES
from genomic_icl.models import BACKENDS
from genomic_icl.table_registry import builders

PACKAGE = REPO / "src" / "genomic_icl"

# modules of the library most jobs import: the glue (logged), the tables' io
_BASE = {"__init__.py", "workflow.py"}
_TABLES = {"integrity.py", "io.py"}
_PROMPTS = {"bits.py", "functions.py", "prompts.py"}
_STATS = {
    "learners.py",
    "metadata.py",
    "stats/__init__.py",
    "stats/bootstrap.py",
    "stats/breakdowns.py",
    "stats/common.py",
    "stats/comparisons.py",
    "stats/fits.py",
    "stats/inputs.py",
    "stats/loss.py",
    "stats/mistakes.py",
    "stats/power.py",
    "stats/tables.py",
    "table_registry.py",
    "data/table4.tsv",  # read by stats/inputs.py (codeversion.DATA_FILES)
}
_FIGURES = {"figure_registry.py"} | {
    f"figures/{name}.py"
    for name in (
        "__init__",
        "accuracy",
        "breakdowns",
        "comparisons",
        "context",
        "errors",
        "fits",
        "loss",
        "pretrain",
        "sizes",
        "style",
    )
}
_PRETRAIN = {"corpus.py", "integrity.py", "pretrain.py", "tokenization.py"}
_PREDICT = {
    "config.py",
    "inference.py",
    "models/__init__.py",
    "models/base.py",
    "models/util.py",
    "scoring.py",
}

#: rule (inference: rule[backend]) -> (script, library files of its code identity,
#: relative to src/genomic_icl). `figure_{kind}` is the one rule per figure kind.
RULE_CODE: dict[str, tuple[str, set[str]]] = {
    "prompts": ("prompts.py", _BASE | _TABLES | _PROMPTS),
    "predict[reference]": (
        "predict.py",
        _BASE | _TABLES | _PROMPTS | _PREDICT | {"learners.py", "models/reference.py"},
    ),
    "predict[hf]": (
        "predict.py",
        _BASE
        | _TABLES
        | _PROMPTS
        | _PREDICT
        | {"models/answers.py", "models/greedy.py", "models/hf.py"},
    ),
    "predict[evo2]": (
        "predict.py",
        _BASE
        | _TABLES
        | _PROMPTS
        | _PREDICT
        | {
            "models/answers.py",
            "models/greedy.py",
            "models/evo2/__init__.py",
            "models/evo2/decoding.py",
            "models/evo2/patches.py",
        },
    ),
    "score": ("score.py", _BASE | _TABLES | _PROMPTS | {"scoring.py"}),
    "accuracy": ("stats_accuracy.py", _BASE | _TABLES | _PROMPTS | _STATS),
    "stats_fits": ("stats_fits.py", _BASE | _TABLES | _PROMPTS | _STATS),
    "stats_trials": ("stats_trials.py", _BASE | _TABLES | _PROMPTS | _STATS),
    "stats_breakdowns": ("stats_breakdowns.py", _BASE | _TABLES | _PROMPTS | _STATS),
    "stats_paired": ("stats_paired.py", _BASE | _TABLES | _PROMPTS | _STATS),
    "stats_loss": ("stats_loss.py", _BASE | _TABLES | _PROMPTS | _STATS),
    # the plot functions import statistics helpers inside functions
    "figure_{kind}": ("figure_draw.py", _BASE | _TABLES | _PROMPTS | _STATS | _FIGURES),
    "pretrain_loss_figure": (
        "pretrain_loss_figure.py",
        _BASE | _TABLES | _PROMPTS | _STATS | _FIGURES,
    ),
    "corpus": ("corpus.py", _BASE | {"corpus.py"}),
    "pretrain": ("pretrain.py", _BASE | _PRETRAIN),
    "pretrained_shipped": ("pretrained_shipped.py", _BASE | _PRETRAIN),
}


def split_rule(key: str) -> tuple[str, str | None]:
    """``predict[hf]`` -> ("predict", "hf"); ``score`` -> ("score", None)."""
    m = re.fullmatch(r"(\w+|figure_\{kind\})(?:\[(\w+)\])?", key)
    return m[1], m[2]


def rules_with_scripts() -> dict[str, tuple[str, str]]:
    """rule -> (script file name, its `code=` param) of every rule in rules/*.smk with a
    `script:` (the loop over figure kinds as ``figure_{kind}``)."""
    found = {}
    for smk in sorted((REPO / "rules").glob("*.smk")):
        text = smk.read_text()
        starts = list(re.finditer(r"^\s*rule(?: (\w+))?:\n", text, re.M))
        for i, start in enumerate(starts):
            block = text[start.end() : starts[i + 1].start() if i + 1 < len(starts) else None]
            script = re.search(r"^\s+script:\n\s+\"\.\./scripts/(\w+\.py)\"", block, re.M)
            if not script:
                continue
            name = start[1]
            if name is None:  # `rule:` + `name: fig.rule` (rules/figures.smk)
                assert re.search(r"^\s+name:\n\s+fig\.rule$", block, re.M), block[:200]
                name = "figure_{kind}"
            code = re.search(r"^\s+code=(.*),$", block, re.M)
            assert code, f"{smk.name}: rule {name} runs a script but passes no code= param"
            found[name] = (script[1], code[1])
    return found


def test_every_rule_with_a_script_fingerprints_that_script():
    rules = rules_with_scripts()
    assert set(rules) == {split_rule(key)[0] for key in RULE_CODE}
    for name, (script, code) in rules.items():
        if name == "predict":
            assert code == "lambda w: predict_code(w.model)"
            assert "scripts/predict.py" in (REPO / "rules/fingerprints.smk").read_text()
        else:
            assert code == f'code_of("scripts/{script}")', name
        assert all(s == script for key, (s, _) in RULE_CODE.items() if split_rule(key)[0] == name)
    # every backend of the package has its inference row
    packaged = {b for b in BACKENDS if backend_module(b).startswith("genomic_icl.")}
    assert {b for key in RULE_CODE if (b := split_rule(key)[1])} == packaged


def relative(files: list[Path], base: Path) -> set[str]:
    return {p.relative_to(base).as_posix() for p in files if p.is_relative_to(base)}


@pytest.mark.parametrize("key", sorted(RULE_CODE))
def test_code_identity_of_each_rule_is_pinned(key):
    rule, backend = split_rule(key)
    script, want = RULE_CODE[key]
    files = workflow_code_files(REPO, f"scripts/{script}", backend)
    assert REPO / "scripts" / script in files
    got = relative(files, PACKAGE)
    assert len(files) == len(got) + 1, "files outside the script and the library"
    assert got == want, (
        f"{key}: its code identity changed; now also {sorted(got - want)}, "
        f"no longer {sorted(want - got)} (update RULE_CODE if that is meant)"
    )


def copy_workflow_code(root: Path) -> Path:
    shutil.copytree(REPO / "scripts", root / "scripts")
    shutil.copytree(
        PACKAGE, root / "src" / "genomic_icl", ignore=shutil.ignore_patterns("__pycache__")
    )
    return root


def fingerprints(root: Path) -> dict[str, str]:
    out = {}
    for key, (script, _) in RULE_CODE.items():
        out[key] = workflow_code_version(root, f"scripts/{script}", split_rule(key)[1])
    return out


def test_an_edit_changes_exactly_the_fingerprints_of_the_rules_that_cover_the_file(tmp_path):
    """Each library file in turn gets a line of code: the fingerprints that change are
    those of the rules whose identity lists the file, and no other."""
    root = copy_workflow_code(tmp_path)
    before = fingerprints(root)
    assert len(set(before.values())) == len(before)
    pkg = root / "src" / "genomic_icl"
    library = sorted(pkg.rglob("*.py")) + [pkg / "data/table4.tsv"]
    assert len(library) > 30
    for path in library:
        rel = path.relative_to(pkg).as_posix()
        text = path.read_text()
        path.write_text(text + ("\n_EDITED = 1\n" if path.suffix == ".py" else "edited\t1\n"))
        after = fingerprints(root)
        path.write_text(text)
        changed = {key for key in before if after[key] != before[key]}
        covering = {key for key, (_, files) in RULE_CODE.items() if rel in files}
        assert changed == covering, rel
    for key, (script, _) in RULE_CODE.items():  # the script itself
        path = root / "scripts" / script
        text = path.read_text()
        path.write_text(text + "\n_EDITED = 1\n")
        assert workflow_code_version(root, f"scripts/{script}", split_rule(key)[1]) != before[key]
        path.write_text(text)
    assert fingerprints(root) == before


def test_every_module_a_registry_names_is_in_the_code_of_its_rule():
    """Plot modules are loaded by the name a figure entry gives (``draw=``) and table
    builders are named by string: each is in the files of the rule that runs it."""
    script, _ = RULE_CODE["figure_{kind}"]
    figure_files = set(workflow_code_files(REPO, f"scripts/{script}"))
    for kind, spec in FIGURES.items():
        module = importlib.import_module(f"genomic_icl.figures.{spec.draw.rpartition('.')[0]}")
        assert Path(module.__file__).resolve() in figure_files, kind
    rules = rules_with_scripts()
    for builder in builders():
        source = Path(inspect.getsourcefile(getattr(stats, builder))).resolve()
        writers = [
            name
            for name, (script, _) in rules.items()
            if f'write_tables("{builder}"' in (REPO / "scripts" / script).read_text()
        ]
        assert writers, f"no rule's script writes the tables of {builder}"
        for name in writers:
            assert source in workflow_code_files(REPO, f"scripts/{rules[name][0]}"), builder


def test_a_plot_module_only_the_registry_names_is_fingerprinted(tmp_path):
    """A new plot module that no module imports, pointed at by a registry entry, is in
    the figure rule's code: editing it reruns the figures."""
    root = copy_workflow_code(tmp_path)
    pkg = root / "src" / "genomic_icl"
    script = f"scripts/{RULE_CODE['figure_{kind}'][0]}"
    (pkg / "figures" / "newplot.py").write_text("def plot(ctx):\n    return None\n")
    assert pkg / "figures/newplot.py" not in workflow_code_files(root, script)
    with (pkg / "figure_registry.py").open("a") as fh:
        fh.write(
            '\n\n@figure("newplot", draw="newplot.plot", tables=("accuracy",),'
            ' caption="newplot.rst", category="extra")\ndef _newplot(ctx):\n    return []\n'
        )
    assert (pkg / "figures/newplot.py").resolve() in workflow_code_files(root, script)
    before = workflow_code_version(root, script)
    (pkg / "figures" / "newplot.py").write_text("def plot(ctx):\n    return 1\n")
    assert workflow_code_version(root, script) != before


BACKEND_MODULE = """from fixprint_backend_pkg import helpers
from .sub.deep import DEPTH


class Backend:
    pass
"""


def test_a_backend_outside_the_package_brings_what_it_imports_from_its_own_package(
    tmp_path, monkeypatch
):
    """``pkgx.mod:Class`` in config: the closure follows pkgx's own modules too, and a
    backend module with no source file is a clear error, not a silent gap."""
    top = tmp_path / "plugins" / "fixprint_backend_pkg"
    (top / "sub").mkdir(parents=True)
    (top / "__init__.py").write_text("")
    (top / "mod.py").write_text(BACKEND_MODULE)
    (top / "helpers.py").write_text("import numpy\n\nSCALE = 1\n")
    (top / "unused.py").write_text("X = 1\n")
    (top / "sub" / "__init__.py").write_text("")
    (top / "sub" / "deep.py").write_text("from ..helpers import SCALE\n\nDEPTH = SCALE\n")
    monkeypatch.syspath_prepend(str(top.parent))
    importlib.invalidate_caches()
    backend = "fixprint_backend_pkg.mod:Backend"
    try:
        files = workflow_code_files(REPO, "scripts/predict.py", backend)
        before = workflow_code_version(REPO, "scripts/predict.py", backend)
        (top / "sub" / "deep.py").write_text("from ..helpers import SCALE\n\nDEPTH = 2\n")
        after = workflow_code_version(REPO, "scripts/predict.py", backend)
    finally:
        for name in [m for m in sys.modules if m.startswith("fixprint_backend_pkg")]:
            del sys.modules[name]
    outside = relative(files, top)
    assert outside == {"__init__.py", "mod.py", "helpers.py", "sub/__init__.py", "sub/deep.py"}
    assert relative(files, PACKAGE) == RULE_CODE["predict[reference]"][1] - {
        "learners.py",
        "models/reference.py",
    }
    assert after != before
    with pytest.raises(ValueError, match=r"backend 'no_such_pkg\.mod:X': no source file"):
        workflow_code_files(REPO, "scripts/predict.py", "no_such_pkg.mod:X")


def test_planning_refuses_a_backend_whose_code_cannot_be_fingerprinted(monkeypatch):
    """A registered class whose module has no source file (defined in ``__main__``, a
    compiled module) would drop out of the fingerprint: planning names its key."""
    from genomic_icl.config import ConfigError
    from genomic_icl.models.reference import ReferenceBackend
    from genomic_icl.planning import check_config

    hidden = type("Hidden", (ReferenceBackend,), {"__module__": "fixprint_no_source_module"})
    monkeypatch.setitem(BACKENDS, "hidden", hidden)
    entry = {"name": "h", "backend": "hidden", "checkpoint": "mode", "encoding": "genomic"}
    with pytest.raises(ConfigError, match=r"models\[0\]\.backend: 'hidden': its module"):
        check_config(small_config(models=[entry]))
    check_config(small_config(models=[{**entry, "backend": "reference"}]))


def test_fingerprints_do_not_depend_on_where_the_workflow_lies(tmp_path):
    here = fingerprints(copy_workflow_code(tmp_path / "a"))
    there = fingerprints(copy_workflow_code(tmp_path / "elsewhere" / "b"))
    assert here == there == fingerprints(REPO)


def test_docstrings_comments_and_formatting_do_not_count(tmp_path):
    plain = tmp_path / "plain.py"
    plain.write_text("def f(x):\n    return x + 1\n")
    dressed = tmp_path / "dressed.py"
    dressed.write_text(
        '"""Module."""\n\n\ndef f(x):  # add\n    """Add one."""\n\n    return (x +\n 1)\n'
    )
    changed = tmp_path / "changed.py"
    changed.write_text("def f(x):\n    return x + 2\n")
    # the same file name in each fingerprint: only the contents differ
    versions = []
    for src in (plain, dressed, changed):
        (tmp_path / "m.py").write_text(src.read_text())
        versions.append(code_version(tmp_path / "m.py"))
    assert versions[0] == versions[1] != versions[2]


def test_the_canonical_form_is_pinned():
    """The text fingerprints hash, for a small module: fields left empty are left out,
    so Python versions that add fields (3.12's type_params) give the same text."""
    out: list[str] = []
    imports: list = []
    source = '"""Doc."""\nfrom genomic_icl import bits\n\ndef f(x, y=None):\n'
    tree = ast.parse(source + '    """Doc."""\n    return x[0]\n')
    _canonical(tree, out, imports)
    assert "".join(out) == (
        "Module(body=[ImportFrom(module='genomic_icl',names=[alias(name='bits',),],level=0,),"
        "FunctionDef(name='f',args=arguments(args=[arg(arg='x',),arg(arg='y',),],"
        "defaults=[Constant(),],),body=[Return(value=Subscript(value=Name(id='x',ctx=Load(),),"
        "slice=Constant(value=0,),ctx=Load(),),),],),],)"
    )
    assert [type(i).__name__ for i in imports] == ["ImportFrom"]
