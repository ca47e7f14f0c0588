"""Reruns only what changed: dry runs after a finished run of a small config.

The workflow (Snakefile, rules, scripts, the library in src/, profiles) is copied
to a temporary directory so that the tests can edit scripts and library modules
without touching the checkout; the copy's profiles/default is the workflow
profile, as in the repository. Each test plans a change with ``-n`` against the
same finished run, so the tests do not depend on each other.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from conftest import REPO, small_config, snakemake

pytestmark = pytest.mark.slow

# Rules with one job per encoding and n, or per model: a change must add or redo
# exactly the jobs it concerns. Every other rule aggregates them (tables, figures, targets).
FAN_OUT = ("prompts", "predict", "score")
COPY = ["Snakefile", "rules", "scripts", "src", "profiles", "report", "envs", "containers"]


def run(wf: Path, *args: str, config: dict | None = None) -> subprocess.CompletedProcess:
    """The copied workflow in ``wf``, on its config or on ``config``."""
    cfg = wf / "config.yaml"
    if config is not None:
        cfg = wf / "changed.yaml"
        cfg.write_text(yaml.safe_dump(config, sort_keys=False))
    return snakemake(wf, *args, configfile=cfg, snakefile=wf / "Snakefile")


def plan(wf: Path, config: dict | None = None) -> dict[str, list[dict[str, str]]]:
    """rule -> wildcards of each job a dry run would execute ({} when none)."""
    out = run(wf, "-n", config=config).stdout
    if "Nothing to be done" in out:
        return {}
    jobs: dict[str, list[dict[str, str]]] = {}
    for block in re.split(r"\n(?=\[.*\]\n)", out):
        m = re.search(r"^(?:local)?rule (\w+):", block, re.M)
        if not m:
            continue
        wc = re.search(r"^\s+wildcards: (.*)$", block, re.M)
        wildcards = dict(kv.split("=", 1) for kv in wc[1].split(", ")) if wc else {}
        jobs.setdefault(m[1], []).append(wildcards)
    return jobs


def aggregates_only(jobs: dict, allowed: set[str] = frozenset()) -> None:
    """Nothing of FAN_OUT is planned beyond ``allowed``."""
    extra = {r for r in jobs if r in FAN_OUT and r not in allowed}
    assert not extra, f"unexpected per-item jobs: { ({r: jobs[r] for r in extra}) }"


@pytest.fixture(scope="module")
def wf(tmp_path_factory) -> Path:
    """A copy of the workflow, run once to completion on the small config."""
    root = tmp_path_factory.mktemp("wf")
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "*.sif")
    for name in COPY:
        src = REPO / name
        if src.is_dir():
            shutil.copytree(src, root / name, ignore=ignore, symlinks=True)
        elif src.exists():
            shutil.copy2(src, root / name)
    (root / "config.yaml").write_text(yaml.safe_dump(small_config(), sort_keys=False))
    run(root, "--cores", "2")
    return root


@pytest.fixture
def edit(wf):
    """Edit a file of the copy for one test; its text is restored afterwards."""
    saved: dict[Path, str] = {}

    def change(rel: str, old: str, new: str, *, last: bool = False) -> None:
        """Replace the first occurrence of ``old`` (the last one with ``last``: edits
        after a file's last line, which may also occur earlier in the file)."""
        path = wf / rel
        saved.setdefault(path, path.read_text())
        current = path.read_text()
        assert old in current, f"{old!r} not in {rel}"
        if last:
            head, _, tail = current.rpartition(old)
            path.write_text(head + new + tail)
        else:
            path.write_text(current.replace(old, new, 1))

    yield change
    for path, text in saved.items():
        path.write_text(text)


def test_nothing_to_do_after_a_run(wf):
    assert plan(wf) == {}


def test_changing_one_model_reruns_only_its_inference_and_aggregates(wf):
    config = small_config()
    config["models"][1]["batch_tokens"] = 4096  # the oracle
    jobs = plan(wf, config)
    assert [w["model"] for w in jobs["predict"]] == ["oracle"]  # one job, every n
    assert [w["model"] for w in jobs["score"]] == ["oracle"]
    assert "prompts" not in jobs
    assert "accuracy" in jobs


def test_changing_a_models_job_resources_reruns_nothing(wf):
    config = small_config()
    config["models"][1]["resources"] = {"gpu": 1, "mem_mb": 64000, "runtime": 240}
    assert plan(wf, config) == {}


def test_changing_a_family_or_parameter_count_reruns_only_what_reads_them(wf):
    config = small_config()
    config["models"][1]["family"] = "learners"
    config["models"][1]["params"] = 10
    jobs = plan(wf, config)
    aggregates_only(jobs)
    # labels feed the fits-by-size/scaling tables and the figures, not accuracy
    assert "stats_fits" in jobs and "accuracy" not in jobs, jobs


def test_a_backend_change_reruns_only_the_models_on_that_backend(wf, edit):
    last = last_line(wf, "src/genomic_icl/models/hf.py")
    edit(
        "src/genomic_icl/models/hf.py",
        last,
        f"{last}\n\n\ndef _unused():\n    return 1\n",
        last=True,
    )
    assert plan(wf) == {}  # the small config has no hf model
    last = last_line(wf, "src/genomic_icl/models/reference.py")
    edit("src/genomic_icl/models/reference.py", last, f"{last}\n\n_UNUSED = 1", last=True)
    jobs = plan(wf)  # positive control: the reference learners' inference reruns
    assert sorted(w["model"] for w in jobs["predict"]) == ["mode", "oracle"]


def test_adding_a_model_adds_only_its_jobs_and_aggregates(wf):
    config = small_config()
    config["models"].append(
        {
            "name": "mode-ling",
            "backend": "reference",
            "checkpoint": "mode",
            "encoding": "linguistic",
        }
    )
    jobs = plan(wf, config)
    assert [w["model"] for w in jobs["predict"]] == ["mode-ling"]
    assert [w["model"] for w in jobs["score"]] == ["mode-ling"]
    # its encoding had no model before, so it had no prompts: now it has, at every n
    # (prompts are built only for encodings some model uses)
    assert {w["encoding"] for w in jobs["prompts"]} == {"linguistic"}
    assert sorted(int(w["n"]) for w in jobs["prompts"]) == sorted(small_config()["shots"])
    assert "accuracy" in jobs


def test_adding_a_shot_count_adds_only_its_jobs_and_aggregates(wf):
    jobs = plan(wf, small_config(shots=[1, 2, 4]))
    # one prompt table per encoding in use (the small config's models read one)
    assert jobs["prompts"] == [{"encoding": "genomic", "n": "2"}]
    # each model's one inference job runs again for the new table; it reuses the
    # unchanged ones instead of recomputing them (tests/test_model_cache.py,
    # tests/test_slurm.py count the loads and what was reused)
    assert sorted(w["model"] for w in jobs["predict"]) == ["mode", "oracle"]
    # a model's scored table holds all its n: it is an aggregate of the new one
    assert sorted(w["model"] for w in jobs["score"]) == ["mode", "oracle"]


def test_changing_a_figure_option_reruns_only_figures(wf):
    jobs = plan(wf, small_config(reference_curves=True))
    assert jobs, "the figure option changed nothing"
    assert {r for r in jobs if r != "all"} <= {r for r in jobs if r.startswith("figure")}, jobs


def first_import(wf: Path, rel: str) -> str:
    """The first import line of a file (after its docstring)."""
    return re.search(r"^(?:from|import) .*$", (wf / rel).read_text(), re.M)[0]


def last_line(wf: Path, rel: str) -> str:
    return (wf / rel).read_text().rstrip("\n").rsplit("\n", 1)[-1]


def test_docstring_and_comment_edits_rerun_nothing(wf, edit):
    edit("scripts/score.py", '"""', '"""Edited docstring.\n\n')
    imp = first_import(wf, "scripts/predict.py")
    edit("scripts/predict.py", imp, f"# an added comment\n{imp}  # and a trailing one")
    imp = first_import(wf, "src/genomic_icl/scoring.py")
    edit("src/genomic_icl/scoring.py", imp, f"{imp}\n\n# a comment in the library\n")
    lib = (wf / "src/genomic_icl/prompts.py").read_text()
    m = re.search(r'def \w+\([^)]*\)[^:]*:\n\s+"""', lib)
    edit("src/genomic_icl/prompts.py", m[0], m[0] + "Reworded. ")
    assert plan(wf) == {}


def test_code_change_reruns_the_rules_that_use_the_script(wf, edit):
    # what the accuracy script does changes: statistics and figures only
    last = last_line(wf, "scripts/stats_accuracy.py")
    edit("scripts/stats_accuracy.py", last, f"{last}\n_UNUSED = 1", last=True)
    jobs = plan(wf)
    assert "accuracy" in jobs
    aggregates_only(jobs)


def test_library_change_reruns_the_rules_that_import_it(wf, edit):
    last = last_line(wf, "src/genomic_icl/scoring.py")
    edit("src/genomic_icl/scoring.py", last, f"{last}\n\n_UNUSED = 1", last=True)
    jobs = plan(wf)
    assert "score" in jobs and "prompts" not in jobs


STATS_RULES = {
    "accuracy",
    "stats_fits",
    "stats_trials",
    "stats_breakdowns",
    "stats_paired",
    "stats_loss",
}


def test_every_stats_module_is_in_the_fingerprint_of_every_stats_script():
    # a script imports genomic_icl.stats, whose __init__ imports every module of the package
    from genomic_icl.codeversion import code_files

    package = REPO / "src" / "genomic_icl"
    modules = {p.resolve() for p in (package / "stats").glob("*.py")}
    assert len(modules) > 2, "genomic_icl.stats is not a package of modules"
    for script in sorted(REPO.glob("scripts/stats_*.py")):
        assert modules <= set(code_files(script, package_dir=package)), script.name


def test_a_change_in_one_stats_module_reruns_the_statistics(wf, edit):
    # power.py: no script imports it by name, only through the package
    last = last_line(wf, "src/genomic_icl/stats/power.py")
    edit("src/genomic_icl/stats/power.py", last, f"{last}\n\n_UNUSED = 1", last=True)
    jobs = plan(wf)
    assert STATS_RULES <= set(jobs), jobs
    aggregates_only(jobs)


def figure_jobs_only(jobs: dict) -> None:
    """Every figure job is planned again and nothing but figures (and `all`)."""
    assert jobs, "the change reruns nothing"
    assert {r for r in jobs if r != "all"} <= {r for r in jobs if r.startswith("figure_")}, jobs
    assert "figure_accuracy" in jobs and "figure_mistakes" in jobs, jobs


def test_drawing_code_change_reruns_the_figures_only(wf, edit):
    # what a plot does changes (the genomic_icl.figures package, imported only by figure jobs)
    edit("src/genomic_icl/figures/style.py", "FULL_WIDTH = 7.0", "FULL_WIDTH = 7.0\n_UNUSED = 1")
    figure_jobs_only(plan(wf))


def test_planning_code_change_reruns_the_figures_only(wf, edit):
    # what the figure registry does changes, the plan itself staying the same
    last = last_line(wf, "src/genomic_icl/figure_registry.py")
    edit("src/genomic_icl/figure_registry.py", last, f"{last}\n\n\n_UNUSED = 1", last=True)
    figure_jobs_only(plan(wf))
