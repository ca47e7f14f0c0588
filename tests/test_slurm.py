"""The workflow on a real SLURM cluster through profiles/slurm.

tests/slurm/setup_cluster.sh starts a one-node cluster on this machine (slurmctld
and slurmd as root, two GPUs declared as a counted generic resource, no
accounting database). The module is skipped, with the reason, when that cannot be
done (not root, no apt-get, daemons that do not start).

One small config runs twice: locally, and on SLURM through
``--profile profiles/slurm`` with two faults on the way:

1. Snakemake itself is killed (SIGKILL) once the prompts are done and inference
   jobs are in the queue; after ``--unlock`` it is started again and must finish
   without submitting the finished prompt jobs again.
2. In the restarted run the first inference or scoring job is cancelled with
   ``scancel`` (an inference job when run A's did not finish: with one job per
   model they may have finished on the cluster after Snakemake was killed); the
   profile's retries must resubmit it (with more memory and time) and the run
   must complete.

Then: the results equal the local run's byte for byte, every job of the
workflow went through sbatch (job ids in the log, SLURM logs on disk, nothing ran
as a local rule but ``all``), and inference jobs of the model that asks for a GPU
hold one (``scontrol show job``), the others none. Each model's inference is one
job that loads the model once for both shot counts.

A third run adds a shot count and switches to ``slurm.gpu_request: gres``: each
model's job loads the model once, computes only the new table and reuses the two
unchanged ones, and the GPU model's job holds its GPU as ``--gres=gpu:1``.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import REPO, result_digests, small_config, snakemake, write_config

pytestmark = pytest.mark.slow

SETUP = REPO / "tests" / "slurm" / "setup_cluster.sh"
TEARDOWN = REPO / "tests" / "slurm" / "teardown_cluster.sh"
# Faster status polling than a production profile wants: the jobs here take seconds.
FAST = [
    "--slurm-init-seconds-before-status-checks",
    "1",
    "--seconds-between-status-checks",
    "1",
    "--slurm-keep-successful-logs",
    "--latency-wait",
    "5",
]
SUBMITTED = re.compile(r"Job (\d+) has been submitted with SLURM jobid (\d+) \(log: (\S+)\)")


def slurm_config() -> dict:
    """Few jobs, short ones: one encoding, one shot count, two trials; the oracle
    asks for a GPU (the reference learner ignores it, the scheduler does not)."""
    return small_config(
        shots=[1, 2],
        encodings={"genomic": {"alphabet": "ACGT"}},
        models=[
            {"name": "mode", "backend": "reference", "checkpoint": "mode", "encoding": "genomic"},
            {
                "name": "oracle",
                "backend": "reference",
                "checkpoint": "oracle",
                "encoding": "genomic",
                "resources": {"gpu": 1, "mem_mb": 600, "runtime": 5, "cpus_per_task": 1},
            },
        ],
    )


@pytest.fixture(scope="module")
def cluster():
    if os.geteuid() != 0:
        pytest.skip("starting slurmctld/slurmd needs root")
    if shutil.which("sbatch") is None and shutil.which("apt-get") is None:
        pytest.skip("SLURM is not installed and apt-get is not available to install it")
    proc = subprocess.run(["bash", str(SETUP)], capture_output=True, text=True, timeout=900)
    if proc.returncode != 0:
        lines = proc.stderr.splitlines()
        reason = [ln for ln in lines if "IMPOSSIBLE" in ln] or [proc.stderr[-500:]]
        pytest.skip(f"no SLURM cluster: {reason[0]}")
    yield
    if os.environ.get("SLURM_TEST_TEARDOWN") == "1":
        subprocess.run(["bash", str(TEARDOWN)], capture_output=True, timeout=120)


def slurm_cmd(workdir: Path, *extra: str, config: str = "config.yaml") -> list[str]:
    return [
        sys.executable,
        "-m",
        "snakemake",
        "-s",
        str(REPO / "Snakefile"),
        "-d",
        str(workdir),
        "--configfile",
        str(workdir / config),
        "--profile",
        str(REPO / "profiles" / "slurm"),
        *FAST,
        *extra,
    ]


def start(workdir: Path, log: Path, config: str = "config.yaml") -> subprocess.Popen:
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    return subprocess.Popen(
        slurm_cmd(workdir, config=config),
        cwd=workdir,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def wait_for(predicate, proc: subprocess.Popen, log: Path, timeout: float, what: str):
    """Poll ``predicate(log text)`` until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = predicate(log.read_text())
        if found:
            return found
        if proc.poll() is not None:
            pytest.fail(
                f"snakemake ended (rc {proc.returncode}) before {what}:\n{log.read_text()[-4000:]}"
            )
        time.sleep(0.5)
    proc.kill()
    pytest.fail(f"timed out waiting for {what}:\n{log.read_text()[-4000:]}")


def submissions(text: str) -> list[tuple[str, str]]:
    """(rule directory of the SLURM log, SLURM job id) of every submission."""
    return [
        (str(Path(m[3]).parent).split("slurm_logs/", 1)[1], m[2]) for m in SUBMITTED.finditer(text)
    ]


def squeue_state(jobid: str) -> str:
    out = subprocess.run(
        ["squeue", "-h", "--states=all", "-j", jobid, "-o", "%T"], capture_output=True, text=True
    ).stdout.strip()
    return out


def scontrol(jobid: str) -> str:
    return subprocess.run(["scontrol", "show", "job", jobid], capture_output=True, text=True).stdout


@pytest.fixture(scope="module")
def local_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("local")
    write_config(workdir, slurm_config())
    snakemake(workdir, "--cores", "2")
    return workdir


@pytest.fixture(scope="module")
def slurm_run(cluster, tmp_path_factory):
    """The SLURM run with its two faults; returns what the assertions need."""
    workdir = tmp_path_factory.mktemp("slurm")
    write_config(workdir, slurm_config())
    planned = snakemake(workdir, "-n", "--profile", str(REPO / "profiles" / "slurm")).stdout
    t0 = time.monotonic()

    # run A: killed once the prompts are done and inference jobs are queued
    log_a = workdir / "run_a.log"
    proc = start(workdir, log_a)
    wait_for(
        lambda t: "Rule: prompts" in t and "rule_predict" in t,
        proc,
        log_a,
        240,
        "prompt jobs finished and inference jobs submitted",
    )
    prompt_outputs = sorted((workdir / "results" / "prompts").rglob("*.parquet"))
    mtimes = {p: p.stat().st_mtime_ns for p in prompt_outputs}
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    killed_at = time.monotonic() - t0

    # restart: unlock (the killed run held the lock), then run B to the end
    subprocess.run(slurm_cmd(workdir, "--unlock"), cwd=workdir, capture_output=True, check=True)
    log_b = workdir / "run_b.log"
    proc = start(workdir, log_b)

    def first_model_job(text):
        subs = [s for s in submissions(text) if s[0].startswith(("rule_predict/", "rule_score/"))]
        return subs[0] if subs else None

    rule_dir, victim = wait_for(first_model_job, proc, log_b, 240, "a model's job in run B")
    subprocess.run(["scancel", victim], check=True)
    cancelled_at = time.monotonic() - t0
    try:
        rc = proc.wait(timeout=420)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail(f"run B did not finish:\n{log_b.read_text()[-4000:]}")
    assert rc == 0, log_b.read_text()[-5000:]
    loads_b = {m: load_counts(workdir, m) for m in ("mode", "oracle")}
    digests_b = result_digests(workdir)
    total_b = time.monotonic() - t0

    # run C: a shot count added, GPUs asked for as generic resources
    config = slurm_config()
    config["shots"] = [1, 2, 4]
    config["slurm"] = {"gpu_request": "gres"}
    write_config(workdir, config, "more.yaml")
    log_c = workdir / "run_c.log"
    proc = start(workdir, log_c, config="more.yaml")
    try:
        rc = proc.wait(timeout=420)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail(f"run C did not finish:\n{log_c.read_text()[-4000:]}")
    assert rc == 0, log_c.read_text()[-5000:]
    return {
        "workdir": workdir,
        "planned": planned,
        "log_a": log_a.read_text(),
        "log_b": log_b.read_text(),
        "mtimes": mtimes,
        "digests_b": digests_b,
        "log_c": log_c.read_text(),
        "loads_b": loads_b,
        "loads_c": {m: load_counts(workdir, m) for m in ("mode", "oracle")},
        "victim": (rule_dir, victim),
        "times": {
            "killed_at": killed_at,
            "cancelled_at": cancelled_at,
            "total": total_b,
            "more_shots": time.monotonic() - t0 - total_b,
        },
    }


def load_counts(workdir: Path, model: str) -> dict[str, int]:
    """What the last attempt of a model's inference job did, from its job log:
    weight loads, tables computed, tables reused."""
    log = (workdir / "logs" / "predict" / f"{model}.log").read_text()
    return {
        "loads": len(re.findall(r"^loaded ", log, re.M)),
        "reused": log.count("unchanged, reused"),
        "tables": int(re.search(r"weight load\(s\) for (\d+) table", log)[1]),
    }


def test_results_equal_local_run(slurm_run, local_run):
    assert slurm_run["digests_b"] == result_digests(local_run)  # before run C
    assert result_digests(local_run), "the local run wrote no tables"


def test_every_job_went_through_sbatch(slurm_run):
    workdir = slurm_run["workdir"]
    subs = submissions(slurm_run["log_a"]) + submissions(slurm_run["log_b"])
    # every planned job but `all` was submitted, and nothing else ran locally
    planned = re.findall(r"^(?:local)?rule (\w+):", slurm_run["planned"], re.M)
    submitted_rules = {s[0].split("/")[0].removeprefix("rule_") for s in subs}
    assert set(planned) - {"all"} <= submitted_rules
    for log in (slurm_run["log_a"], slurm_run["log_b"]):
        assert set(re.findall(r"^localrule (\w+):", log, re.M)) <= {"all"}
    # sbatch's own log of each job is on disk (kept with --slurm-keep-successful-logs)
    for rule_dir, jobid in subs:
        log = workdir / ".snakemake" / "slurm_logs" / rule_dir / f"{jobid}.log"
        assert log.exists() or jobid == slurm_run["victim"][1], log


def test_inference_jobs_ask_for_their_gpus(slurm_run):
    subs = submissions(slurm_run["log_a"]) + submissions(slurm_run["log_b"])
    predict = [s for s in subs if s[0].startswith("rule_predict/")]
    assert {s[0].split("/")[1].split("_")[0] for s in predict} == {"mode", "oracle"}
    for rule_dir, jobid in predict:
        info = scontrol(jobid)
        assert info, f"scontrol knows no job {jobid}"
        gpus = re.search(r"TresPer(?:Job|Node)=\S*gres:gpu:(\d+)", info)
        if rule_dir.startswith("rule_predict/oracle"):
            assert gpus and gpus[1] == "1", info
        else:
            assert gpus is None, info
    # CPU steps ask for no GPU and the memory of their rule
    prompts = [s for s in subs if s[0].startswith("rule_prompts/")]
    info = scontrol(prompts[0][1])
    assert "gres:gpu" not in info and re.search(r"mem=1000M", info), info


def test_killed_snakemake_restarts_without_redoing_finished_jobs(slurm_run):
    subs = submissions(slurm_run["log_a"]) + submissions(slurm_run["log_b"])
    prompts = [s for s in subs if s[0].startswith("rule_prompts/")]
    # one encoding x two shot counts, each submitted once
    assert sorted(d for d, _ in prompts) == ["rule_prompts/genomic_1", "rule_prompts/genomic_2"]
    assert not [s for s in submissions(slurm_run["log_b"]) if s[0].startswith("rule_prompts/")]
    for path, mtime in slurm_run["mtimes"].items():
        assert path.stat().st_mtime_ns == mtime, f"{path} was written again"


def test_cancelled_job_is_retried_with_more_resources(slurm_run):
    rule_dir, victim = slurm_run["victim"]
    assert squeue_state(victim) == "CANCELLED"
    again = [j for d, j in submissions(slurm_run["log_b"]) if d == rule_dir and j != victim]
    assert again, f"{rule_dir} was not submitted again after scancel {victim}"
    first, retry = scontrol(victim), scontrol(again[-1])
    assert retry and "JobState=COMPLETED" in retry, retry

    def limit(info):  # TimeLimit=HH:MM:SS or MM:SS
        parts = [int(x) for x in re.search(r"TimeLimit=([\d:]+)", info)[1].split(":")]
        return sum(v * 60**i for i, v in enumerate(reversed(parts)))

    assert limit(retry) > limit(first), (first, retry)


def test_one_weight_load_per_model(slurm_run, local_run, capsys):
    """Each model's inference job loads its model at most once for both shot counts:
    exactly once in a run from scratch (the local run); in run B, after the kill, the
    job of a model whose tables run A had finished reuses them and loads nothing."""
    for model in ("mode", "oracle"):
        assert load_counts(local_run, model) == {"loads": 1, "reused": 0, "tables": 2}, model
    for model, counts in slurm_run["loads_b"].items():
        assert counts["loads"] <= 1 and counts["tables"] == 2, (model, counts)
        assert counts["loads"] == 1 or counts["reused"] == 2, (model, counts)
    with capsys.disabled():
        print(f"\nrun B (after the kill), per model: {slurm_run['loads_b']}")


def test_added_shot_count_computes_only_the_new_table(slurm_run, capsys):
    subs = submissions(slurm_run["log_c"])
    prompts = [d for d, _ in subs if d.startswith("rule_prompts/")]
    assert len(prompts) == 1 and "4" in prompts[0], prompts  # only n = 4 is new
    predict = sorted(d for d, _ in subs if d.startswith("rule_predict/"))
    assert len(predict) == 2, predict  # one job per model
    for model, counts in slurm_run["loads_c"].items():
        # one load, for the new table; the two unchanged ones linked back from the store
        assert counts == {"loads": 1, "reused": 2, "tables": 3}, (model, counts)
    with capsys.disabled():
        print(f"\nafter adding n = 4: {slurm_run['loads_c']}")
    # the GPU model's job asked for its GPU as a generic resource (--gres=gpu:1)
    for rule_dir, jobid in subs:
        if rule_dir.startswith("rule_predict/oracle"):
            assert re.search(r"TresPerNode=\S*gres:gpu:1", scontrol(jobid)), scontrol(jobid)
            assert (
                "TresPerJob" not in scontrol(jobid)
                or "gres:gpu" not in re.search(r"TresPerJob=(\S*)", scontrol(jobid))[1]
            )


def test_timings_recorded(slurm_run, capsys):
    with capsys.disabled():
        t = slurm_run["times"]
        print(
            f"\nSLURM run: killed at {t['killed_at']:.0f}s, scancel at {t['cancelled_at']:.0f}s,"
            f" finished at {t['total']:.0f}s; adding a shot count: {t['more_shots']:.0f}s"
        )
    assert slurm_run["times"]["total"] < 600
