"""Each step's requirement set (envs/STEP.txt) resolves against the package index.

``pip install --dry-run --ignore-installed --report`` resolves a set as the
image's pip would, for the image's Python and platform (``# python:`` and
``# glibc:`` in the set's header; Linux x86_64), without installing anything:
pip reads wheel metadata only. What the base image provides (``#
provided-by-base: NAME==VERSION``, e.g. the NGC image's torch) stands in as an
empty local wheel of that version, so pip takes it as given instead of
resolving PyPI's. Pure-Python packages that PyPI has only as sources (e.g.
connection_pool, a dependency of snakemake) are built into wheels first, since
a resolve for another Python version may use wheels only.

Network: the test skips, with the reason, when PyPI cannot be reached. An
extra index named in a set (PyPI's CPU torch index for the cpu set) that cannot
be reached is reported: pip then resolves torch from PyPI alone.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path

import pytest

from conftest import REPO
from genomic_icl.models import software_steps

pytestmark = pytest.mark.slow

STEPS = software_steps()  # of the registered backends (Backend.software_step), with cpu
PYPI = "https://pypi.org/simple"


def reachable(url: str, timeout: float = 10) -> str | None:
    """None when ``url`` answers, else why not."""
    try:
        with urllib.request.urlopen(url, timeout=timeout):
            return None
    except Exception as err:  # noqa: BLE001 - any failure means "not reachable"
        return f"{type(err).__name__}: {err}"


def header(text: str, key: str) -> list[str]:
    return re.findall(rf"^# {key}: (\S+)$", text, re.M)


def stub_wheel(directory: Path, requirement: str) -> None:
    """An empty wheel that only declares ``NAME==VERSION`` (a package the base has)."""
    name, version = requirement.split("==")
    dist = f"{name.replace('-', '_')}-{version}"
    info = f"{dist}.dist-info"
    with zipfile.ZipFile(directory / f"{dist}-py3-none-any.whl", "w") as whl:
        whl.writestr(
            f"{info}/METADATA", f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
        )
        whl.writestr(
            f"{info}/WHEEL",
            "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        )
        whl.writestr(f"{info}/RECORD", f"{info}/METADATA,,\n{info}/WHEEL,,\n{info}/RECORD,,\n")


def pip_env() -> dict[str, str]:
    """This machine's pip settings left out (local wheel dirs, mirrors, constraints),
    its certificate bundle kept: pip sees the public index only."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env["PIP_CONFIG_FILE"] = os.devnull
    if os.environ.get("PIP_CERT"):
        env["PIP_CERT"] = os.environ["PIP_CERT"]
    return env


def resolve(step: str, tmp: Path) -> tuple[dict, str, float]:
    """(pip's report, pip's stderr, seconds) of resolving envs/STEP.txt."""
    reqs = REPO / "envs" / f"{step}.txt"
    text = reqs.read_text()
    (python,) = header(text, "python")
    (glibc,) = header(text, "glibc")
    major, minor = (int(x) for x in glibc.split("."))
    wheels = tmp / "wheels"
    wheels.mkdir()
    constraints = tmp / "base.txt"
    base = header(text, "provided-by-base")
    for req in base:
        stub_wheel(wheels, req)
    constraints.write_text("".join(f"{r}\n" for r in base))
    platforms = [f"manylinux_2_{m}_x86_64" for m in range(minor, 16, -1)] if major == 2 else []
    platforms += ["manylinux2014_x86_64", "linux_x86_64"]
    report = tmp / "report.json"
    cmd = [
        sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed",
        "--report", str(report), "--quiet", "--retries", "1", "--timeout", "30",
        "--target", str(tmp / "target"), "--python-version", python,
        "--implementation", "cp", "--only-binary=:all:",
        *(f"--platform={p}" for p in platforms),
        "--index-url", PYPI, "--find-links", str(wheels), "-c", str(constraints), "-r", str(reqs),
    ]  # fmt: skip
    t0 = time.perf_counter()
    for _ in range(5):  # build wheels of source-only packages, then try again
        proc = subprocess.run(cmd, capture_output=True, text=True, env=pip_env(), timeout=900)
        missing = re.search(r"No matching distribution found for (\S+)", proc.stderr)
        if proc.returncode == 0 or not missing:
            break
        built = subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--index-url", PYPI,
             "--no-binary", ":all:", "-w", str(wheels), missing[1]],
            capture_output=True, text=True, env=pip_env(), timeout=600,
        )  # fmt: skip
        if built.returncode != 0:
            break
    seconds = time.perf_counter() - t0
    assert proc.returncode == 0, f"envs/{step}.txt does not resolve:\n{proc.stderr[-4000:]}"
    return json.loads(report.read_text()), proc.stderr, seconds


@pytest.fixture(scope="module")
def index():
    why = reachable(f"{PYPI}/pip/")
    if why:
        pytest.skip(f"no package index reachable ({PYPI}: {why})")


@pytest.mark.parametrize("step", STEPS)
def test_requirement_set_resolves(step, index, tmp_path, capsys):
    report, stderr, seconds = resolve(step, tmp_path)
    got = {i["metadata"]["name"].lower().replace("_", "-"): i for i in report["install"]}
    version = {name: item["metadata"]["version"] for name, item in got.items()}
    text = (REPO / "envs" / f"{step}.txt").read_text()
    # every pin is what gets installed
    for line in text.splitlines():
        m = re.fullmatch(r"([A-Za-z0-9_.-]+)==([\w.+-]+)", line.strip())
        if m:
            name = m[1].lower().replace("_", "-")
            assert version[name].split("+")[0] == m[2], (name, version[name], m[2])
    # what the base provides is taken as given, not fetched
    for req in header(text, "provided-by-base"):
        name, pinned = req.split("==")
        assert version[name] == pinned and got[name]["download_info"]["url"].startswith("file:")
    note = ""
    if step == "cpu":
        cpu_index = re.search(r"^--extra-index-url (\S+)", text, re.M)[1]
        why = reachable(cpu_index + "/torch/")
        if why is None:  # the image's torch: the CPU build, no CUDA wheels
            assert version["torch"].endswith("+cpu"), version["torch"]
            assert not [n for n in got if n.startswith(("nvidia-", "cuda-"))]
        else:
            note = f"; CPU index unreachable ({why}): torch {version['torch']} from PyPI"
    if step == "hf":  # PyPI's Linux torch: the CUDA 13 build with its runtime as wheels
        assert version["cuda-toolkit"].startswith("13.")
        assert "nvidia-cudnn-cu13" in version and "nvidia-nccl-cu13" in version
    with capsys.disabled():
        print(
            f"\nenvs/{step}.txt: resolves, {len(got)} packages "
            f"(torch {version.get('torch')}) in {seconds:.0f} s{note}"
        )


def test_slurm_plugin_floor_has_every_profile_key(index, tmp_path):
    """pyproject.toml's lowest allowed snakemake-executor-plugin-slurm knows every
    `slurm-*` key of profiles/slurm/config.yaml (its settings fields, read from
    that release's wheel on PyPI)."""
    import tomllib

    import yaml

    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    floors = {
        re.fullmatch(r"snakemake-executor-plugin-slurm>=([\d.]+)", req)[1]
        for group in ("slurm", "test")
        for req in extras["optional-dependencies"][group]
        if req.startswith("snakemake-executor-plugin-slurm")
    }
    (floor,) = floors
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "--index-url", PYPI,
         "-d", str(tmp_path), f"snakemake-executor-plugin-slurm=={floor}"],
        capture_output=True, text=True, env=pip_env(), timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    (wheel,) = tmp_path.glob("*.whl")
    source = zipfile.ZipFile(wheel).read("snakemake_executor_plugin_slurm/__init__.py").decode()
    fields = set(re.findall(r"^    (\w+): [^=\n]+= field\(", source, re.M))
    profile = yaml.safe_load((REPO / "profiles" / "slurm" / "config.yaml").read_text())
    keys = {k.removeprefix("slurm-").replace("-", "_") for k in profile if k.startswith("slurm-")}
    assert keys, "the profile sets no slurm-* key"
    assert keys <= fields, f"plugin {floor} lacks {sorted(keys - fields)}"
