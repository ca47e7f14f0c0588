"""The Evo 2 backend on the real evo2 0.6.0 / vtx 1.1.0 code, on a CPU.

A tiny random StripedHyena 2 (evo2's packaged 7B config cut down to 4 blocks) is
saved as a checkpoint and loaded through vortex's ``load_checkpoint`` (Wqkv
permutation, dtype conversion), as a user's own checkpoint with ``config:`` is. The
only stand-ins are the two CUDA-only imports of vortex
(genomic_icl.models.evo2.patches.install_cpu_standins),
each installed only where the machine lacks what it stands in for.
Greedy tokens are compared, in fp32, with plain step-by-step greedy decoding by full
forward passes.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

if importlib.util.find_spec("evo2") is None:
    pytest.skip(
        "evo2 is not installed (the test extras install it where Python < 3.13)",
        allow_module_level=True,
    )
SUPPORT = Path(__file__).resolve().parent / "support"

from genomic_icl.models.evo2.patches import ROTARY_MODULE, install_cpu_standins  # noqa: E402

install_cpu_standins()
import torch  # noqa: E402

from conftest import (  # noqa: E402
    DEVICES,
    REPO,
    SNAKEMAKE,
    result_digests,
    small_config,
    snakemake,
    write_config,
)
from genomic_icl.io import read_table  # noqa: E402
from genomic_icl.models import BackendError, preflight  # noqa: E402
from genomic_icl.models.evo2 import PACKAGED, Evo2Backend, check_fp8, model_name  # noqa: E402
from genomic_icl.models.evo2.decoding import cached_greedy  # noqa: E402
from genomic_icl.models.evo2.random_weights import write_tiny_evo2  # noqa: E402
from genomic_icl.prompts import Encoding, prompt_table  # noqa: E402

torch.set_num_threads(1)
GEN = Encoding("genomic", "ACGT")
FUNCS = ["identity", "rotl1", "majority", "flip_bits>reverse_bits", "meta_constant", "parity_fill"]
#: the Snakemake job environment that installs the CPU stand-ins (sitecustomize.py)
CPU_ENV = {
    "PYTHONPATH": os.pathsep.join(filter(None, [str(SUPPORT), os.environ.get("PYTHONPATH")])),
    "GENOMIC_ICL_VORTEX_CPU": "1",
}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> tuple[Path, Path]:
    """(checkpoint, config) of the tiny random StripedHyena 2."""
    return write_tiny_evo2(tmp_path_factory.mktemp("evo2"))


def tiny_spec(tiny, **extra) -> dict:
    ckpt, config = tiny
    return {
        "name": "tiny-evo2",
        "backend": "evo2",
        "checkpoint": str(ckpt),
        "config": str(config),
        "encoding": "genomic",
        "device": "cpu",
        **extra,
    }


@pytest.fixture(scope="module", params=DEVICES)
def backend(tiny, request) -> Evo2Backend:
    """The tiny model in fp32 on the CPU, and (marked gpu) on a visible GPU."""
    if request.param == "cpu" and torch.cuda.is_available():
        pytest.skip("vortex places the layers on the GPU where one is visible")
    spec = tiny_spec(tiny, dtype="float32", device=request.param)
    Evo2Backend.preflight(spec)
    Evo2Backend.check_environment(spec)
    return Evo2Backend(spec)


def stepwise_greedy(model, prompt: str, steps: int = 8) -> list[int]:
    """Plain greedy decoding: one full forward pass per new token (logits checked finite)."""
    seq = list(prompt.encode())
    for _ in range(steps):
        with torch.inference_mode():
            logits, _ = model(torch.tensor([seq], device=device_of(model)))
        assert torch.isfinite(logits).all()
        seq.append(int(logits[0, -1].argmax()))
    return seq[-steps:]


def teacher_forced_logprob(model, prompt: str, target: str) -> float:
    ids = list(prompt.encode()) + list(target.encode())
    with torch.inference_mode():
        logits, _ = model(torch.tensor([ids[:-1]], device=device_of(model)))
    logp = torch.log_softmax(logits[0, -len(target) :].double().cpu(), -1)
    return float(logp.gather(1, torch.tensor(list(target.encode()))[:, None]).sum())


def device_of(model) -> torch.device:
    return next(model.parameters()).device


# -- loading ---------------------------------------------------------------------------------


def test_packaged_models_match_the_evo2_package():
    from evo2.utils import CONFIG_MAP, HF_MODEL_NAME_MAP

    assert {n: repo for n, (repo, _) in PACKAGED.items()} == HF_MODEL_NAME_MAP
    assert {n: cfg for n, (_, cfg) in PACKAGED.items()} == CONFIG_MAP
    assert model_name("evo-design/evo-2-7b-8k-microviridae") == "evo2_7b_microviridae"
    assert model_name("arcinstitute/evo2_40b") == "evo2_40b"


def test_checkpoint_loads_through_vortex(tiny):
    """The default dtype is vortex's own: bf16 except the poles and residues; Wqkv is
    permuted from the checkpoint's layout; the logits are finite."""
    model = Evo2Backend(tiny_spec(tiny)).model
    saved = torch.load(tiny[0])
    dtypes = {name: p.dtype for name, p in model.named_parameters()}
    assert dtypes["blocks.2.filter.log_poles"] == torch.float32
    assert dtypes["blocks.2.filter.residues"] == torch.float32
    assert dtypes["blocks.3.inner_mha_cls.Wqkv.weight"] == torch.bfloat16
    loaded = model.blocks[3].inner_mha_cls.Wqkv.weight.float()
    raw = saved["blocks.3.inner_mha_cls.Wqkv.weight"].bfloat16().float()
    assert not torch.equal(loaded, raw)  # permuted rows ...
    assert torch.equal(loaded.sort(0).values, raw.sort(0).values)  # ... of the same weights
    with torch.inference_mode():  # vortex placed the layers on a visible GPU
        logits, _ = model(torch.tensor([list(b"ACGTACGTAC")], device=device_of(model)))
    assert torch.isfinite(logits).all()


# -- exact greedy ------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 4, 16, 64])
def test_predictions_equal_stepwise_greedy(backend, n):
    df = prompt_table(FUNCS, n, 3, GEN, 5)
    for rows in backend.plan(df):
        batch = df.iloc[rows]
        res = backend.run(batch)
        for j, (prompt, target) in enumerate(zip(batch["prompt"], batch["target"], strict=True)):
            assert res.token_ids[j] == stepwise_greedy(backend.model, prompt)
            assert res.text[j] == bytes(res.token_ids[j]).decode()[:8]
            want = teacher_forced_logprob(backend.model, prompt, target)
            assert res.logprob[j] == pytest.approx(want, rel=1e-4, abs=1e-3)


def test_every_point_where_greedy_leaves_the_target(backend):
    """Targets built from the model's own greedy output: row k agrees with it for k
    symbols, then differs, so the cached path branches at every position (k = 8: never)."""
    df = prompt_table(FUNCS[:3], 16, 3, GEN, 9).iloc[:9].reset_index(drop=True)
    greedy = [stepwise_greedy(backend.model, p) for p in df["prompt"]]
    targets = []
    for k, g in enumerate(greedy):
        t = list(g)
        if k < 8:
            t[k] = next(c for c in b"ACGT" if c != g[k])
        targets.append(bytes(t).decode())
    batch = df.assign(target=targets)
    device = device_of(backend.model)
    prompt_ids = torch.tensor([list(p.encode()) for p in batch["prompt"]], device=device)
    target_ids = torch.tensor([list(t.encode()) for t in targets], device=device)
    tokens, logprob = cached_greedy(backend.model, prompt_ids, target_ids)
    assert tokens == greedy
    for j in range(len(batch)):
        want = teacher_forced_logprob(backend.model, batch["prompt"][j], targets[j])
        assert logprob[j].sum() == pytest.approx(want, rel=1e-4, abs=1e-3)


def test_answer_distribution_and_rank_match_brute_force(backend):
    """All 256 answers from the answer tree (state rows repeated level by level) equal
    their full teacher-forced passes; per-position log-probabilities sum to the target's;
    ``decoding: rank`` answers with the brute-force argmax."""
    from genomic_icl.models.answers import answer_texts

    df = prompt_table(FUNCS, 8, 2, GEN, 4)
    answers = Evo2Backend({**backend.spec, "answers": True}, model=backend.model)
    rank = Evo2Backend({**backend.spec, "decoding": "rank"}, model=backend.model)
    same_greedy = same_rank = 0
    for rows in backend.plan(df):
        batch = df.iloc[rows]
        res, ranked = answers.run(batch), rank.run(batch)
        for j, row in enumerate(batch.itertuples()):
            texts = [row.prompt + a for a in answer_texts(row.sym0, row.sym1)]
            ids = torch.tensor([list(t.encode()) for t in texts], device=device_of(backend.model))
            with torch.inference_mode():
                logits, _ = backend.model(ids[:, :-1])
            logp = torch.log_softmax(logits[:, -8:].double(), -1)
            want = logp.gather(-1, ids[:, -8:, None])[..., 0].sum(1).cpu().numpy()
            np.testing.assert_allclose(res.answer_logprobs[j], want, atol=2e-3)
            assert res.position_logprobs[j].sum() == pytest.approx(res.logprob[j], abs=1e-9)
            same_greedy += res.token_ids[j] == stepwise_greedy(backend.model, row.prompt)
            same_rank += ranked.text[j] == answer_texts(row.sym0, row.sym1)[int(want.argmax())]
    print(f"tiny Evo 2: greedy {same_greedy}/{len(df)}, rank {same_rank}/{len(df)} identical")
    assert same_greedy == same_rank == len(df)


def test_prompt_keys_tree_equals_the_row_copy_tree(backend, monkeypatch):
    """The answer tree whose rows share their prompt's attention keys (vortex's KV cache
    keeps only each step's token, the rows' path keys kept beside it) is taken and gives
    the row-copy tree's greedy tokens, per-position and answer log-probabilities."""
    import genomic_icl.models.evo2.decoding as decoding

    df = prompt_table(FUNCS, 8, 2, GEN, 5)
    dev = device_of(backend.model)
    ids = torch.tensor(decoding.tokenize(df.prompt.tolist()), device=dev)
    sym = torch.tensor(decoding.tokenize((df.sym0 + df.sym1).tolist()), device=dev)
    bits = df.target_bits.to_numpy()
    calls, shared_step = [], decoding._prompt_keys_step

    def counted(*a):
        step = shared_step(*a)
        assert step is not None
        return lambda index, feed: calls.append(len(index)) or step(index, feed)

    monkeypatch.setattr(decoding, "_prompt_keys_step", counted)
    got = decoding.tree_answers(backend.model, ids, sym, bits)
    want = decoding.tree_answers(backend.model, ids, sym, bits, prompt_keys=False)
    assert calls == [len(df) << d for d in range(1, 8)]  # no greedy streams here
    assert got.tokens == want.tokens
    np.testing.assert_allclose(got.answer_logprobs, want.answer_logprobs, atol=1e-5)
    np.testing.assert_allclose(got.position_logprobs, want.position_logprobs, atol=1e-5)


def test_benchmark_hooks_agree_with_the_model(backend):
    """The optional hooks benchmarks/gpu.py calls: ``encode`` gives the byte tokens,
    ``logits`` the plain forward pass's, ``baseline_greedy`` (vortex's own cached
    ``Generator``) the backend's greedy tokens and plain step-by-step greedy decoding's."""
    df = prompt_table(FUNCS[:3], 4, 1, GEN, 5)
    prompt_ids, target_ids = backend.encode(df.prompt.tolist(), df.target.tolist())
    assert prompt_ids == [list(p.encode()) for p in df.prompt]
    assert target_ids == [list(t.encode()) for t in df.target]
    x = torch.tensor(prompt_ids, device=device_of(backend.model))
    with torch.inference_mode():
        want = backend.model(x)[0][:, -2:]
    torch.testing.assert_close(backend.logits(x, keep=2), want)
    res = backend.run(df)
    for j, prompt in enumerate(df.prompt):
        assert backend.baseline_greedy(prompt) == res.token_ids[j]
        assert res.token_ids[j] == stepwise_greedy(backend.model, prompt)


# -- checks before any weights are read -----------------------------------------------------


def test_bad_entries_are_refused_with_the_reason(tiny, tmp_path):
    ckpt, config = tiny

    def refused(spec, match, alphabet=None):
        with pytest.raises(BackendError, match=match):
            preflight({"name": "e", "backend": "evo2", "encoding": "genomic", **spec}, alphabet)

    refused({"checkpoint": "evo3_1t"}, "unknown Evo 2 model 'evo3_1t'")
    refused({"checkpoint": str(ckpt)}, "needs `config:`")  # tiny.pt is no packaged name
    refused({"checkpoint": str(ckpt), "config": str(tmp_path / "no.yml")}, "cannot be read")
    bad = tmp_path / "bad.yml"
    bad.write_text(yaml.safe_dump({"hidden_size": 64}))
    refused({"checkpoint": str(ckpt), "config": str(bad)}, "lacks vocab_size")
    layers = yaml.safe_load(config.read_text()) | {"attn_layer_idxs": [2]}
    bad.write_text(yaml.safe_dump(layers))
    refused({"checkpoint": str(ckpt), "config": str(bad)}, "exactly once")
    refused({"checkpoint": str(tmp_path / "x.pt"), "config": str(config)}, "not a file")
    refused({"checkpoint": "evo2_7b", "dtype": "float16"}, "float16")
    refused({"checkpoint": str(tmp_path / "evo2_7b.pt")}, "does not exist")
    refused({"checkpoint": "evo2_7b"}, "read DNA", alphabet="0123456789")
    refused({"checkpoint": str(ckpt), "config": str(config)}, "printable ASCII", alphabet="AĈGT")
    # a StripedHyena of one's own may read any ASCII alphabet
    preflight(tiny_spec(tiny), "0123456789")


def test_wrong_encoding_is_refused_at_planning(tmp_path):
    config = small_config()
    config["models"].append(
        {"name": "evo2-7b", "backend": "evo2", "checkpoint": "evo2_7b", "encoding": "linguistic"}
    )
    write_config(tmp_path, config)
    proc = snakemake(tmp_path, "-n", check=False, env={"HF_HUB_OFFLINE": "0"})
    assert proc.returncode != 0
    assert "the packaged Evo 2 models read DNA" in proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr


def test_environment_checks(tiny, monkeypatch):
    spec = tiny_spec(tiny)
    if torch.cuda.is_available():  # vortex would put the layers on the GPU anyway
        with pytest.raises(BackendError, match="CUDA_VISIBLE_DEVICES"):
            Evo2Backend.check_environment(spec)
        spec = {**spec, "device": "auto"}
    else:
        with pytest.raises(BackendError, match="--nv"):
            Evo2Backend.check_environment({**spec, "device": "auto"})
    Evo2Backend.check_environment(spec)  # the stand-in rotary registered where needed
    # without the stand-in, vortex needs flash-attn's CUDA extension to import at all
    monkeypatch.delitem(sys.modules, ROTARY_MODULE, raising=False)
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "flash_attn_2_cuda" else real(name, *a),
    )
    with pytest.raises(BackendError, match="flash-attn"):
        Evo2Backend.check_environment(spec)
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "evo2" else real(name, *a)
    )
    with pytest.raises(BackendError, match="`evo2` package is not installed"):
        Evo2Backend.check_environment({"name": "e", "checkpoint": "evo2_7b"})


A100, H100 = (8, 0), (9, 0)


@pytest.mark.parametrize(
    "checkpoint, gpus, have_te, error",
    [
        ("evo2_7b", [A100], False, None),  # evo2 falls back to bf16 for 7B without TE
        ("evo2_7b", [A100], True, "environment without transformer_engine"),  # evo2 #9, #208
        ("evo2_7b", [H100], True, None),
        ("evo2_40b", [H100, H100], True, None),
        ("evo2_40b", [A100, A100], True, "compute capability 8.9"),
        ("evo2_1b_base", [H100], False, "Transformer Engine"),
        ("evo2_20b", [H100], False, "Transformer Engine"),
        ("evo2_20b", [H100], True, None),
        ("evo-design/evo-2-7b-8k-microviridae", [A100], False, None),
    ],
)
def test_fp8_rules_follow_evo2(checkpoint, gpus, have_te, error):
    spec = {"name": "e", "checkpoint": checkpoint}
    if error is None:
        check_fp8(spec, gpus, have_te)
    else:
        with pytest.raises(BackendError, match=error):
            check_fp8(spec, gpus, have_te)


def test_fp8_of_a_custom_config(tiny, tmp_path):
    spec = tiny_spec(tiny)
    check_fp8(spec, [], have_te=False)  # the tiny config has FP8 off
    cfg = yaml.safe_load(Path(spec["config"]).read_text()) | {"use_fp8_input_projections": True}
    (tmp_path / "fp8.yml").write_text(yaml.safe_dump(cfg))
    with pytest.raises(BackendError, match="use_fp8_input_projections: false"):
        check_fp8({**spec, "config": str(tmp_path / "fp8.yml")}, [], have_te=False)


# -- through the workflow ------------------------------------------------------------------


@pytest.mark.slow
def test_evo2_entry_runs_in_the_workflow_and_resumes_after_a_kill(tiny, tmp_path):
    """An `evo2` model entry through Snakemake (the real job script, the CPU stand-ins
    installed by sitecustomize): a run killed mid-inference resumes from its
    checkpoints and gives the same bytes as an uninterrupted run."""
    config = small_config(shots=[1, 64], trials=3)
    config["models"].append(tiny_spec(tiny, dtype="float32", batch_tokens=1200))
    clean, killed = tmp_path / "clean", tmp_path / "killed"
    target = "results/scored/tiny-evo2.parquet"
    for d in (clean, killed):
        d.mkdir()
        write_config(d, config)
    snakemake(clean, "--cores", "1", target, env=CPU_ENV)
    scored = read_table(clean / target)
    assert len(scored) == 2 * 4 * 3 and scored["prediction"].str.len().eq(8).all()

    cmd = [*SNAKEMAKE, "-s", str(REPO / "Snakefile"), "-d", str(killed), "--cores", "1", target]
    env = {**os.environ, "PYTHONHASHSEED": "0", **CPU_ENV}
    proc = subprocess.Popen(
        [*cmd, "--configfile", str(killed / "config.yaml")],
        cwd=killed,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.time() + 300
    batches: list[Path] = []
    while time.time() < deadline and len(batches) < 2:
        batches = list((killed / "results/predictions/tiny-evo2").glob("*.partial/batch-*.json"))
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert len(batches) >= 2, "no inference checkpoint appeared"
    snakemake(killed, "--unlock", env=CPU_ENV)
    res = snakemake(killed, "--cores", "1", "--rerun-incomplete", target, env=CPU_ENV)
    logs = "".join(p.read_text() for p in (killed / "logs").rglob("*.log") if "evo2" in str(p))
    assert "resuming" in logs, res.stderr[-2000:]
    assert result_digests(killed) == result_digests(clean)


def test_float32_scores_are_stable_across_batchings(tiny):
    """Batch composition must not change a prediction: one prompt per batch gives the
    same tokens and log-probabilities as the planned batches."""
    spec = tiny_spec(tiny, dtype="float32")
    big, small = Evo2Backend(spec), Evo2Backend({**spec, "batch_size": 1})
    df = prompt_table(FUNCS, 8, 2, GEN, 13)
    outs = []
    for b in (big, small):
        text, lp = [""] * len(df), np.zeros(len(df))
        for rows in b.plan(df):
            res = b.run(df.iloc[rows])
            for j, r in enumerate(rows):
                text[r], lp[r] = res.text[j], res.logprob[j]
        outs.append((text, lp))
    assert outs[0][0] == outs[1][0]
    np.testing.assert_allclose(outs[0][1], outs[1][1], rtol=1e-5)
    assert len(pd.unique(pd.Series(outs[0][0]))) > 1  # the model does not answer one thing


class DelayedScalingLinear(torch.nn.Module):
    """A stand-in for Transformer Engine's FP8 ``Linear`` under delayed scaling (TE has
    no wheels to install here): each call scales by the largest input of the calls
    before it, and keeps its state in ``fp8_meta`` behind get/set_extra_state."""

    use_fp8_input_projections = True

    def __init__(self, saved: bool) -> None:
        super().__init__()
        meta = type("Meta", (), {})()
        meta.amax_history, meta.scale = torch.zeros(16), torch.ones(1)
        self.fp8_meta = {"scaling_fwd": meta}
        self.saved = saved

    def get_extra_state(self):
        m = self.fp8_meta["scaling_fwd"]
        return torch.cat([m.amax_history, m.scale]) if self.saved else torch.empty(0)

    def set_extra_state(self, state) -> None:
        m = self.fp8_meta["scaling_fwd"]
        m.amax_history.copy_(state[:16])
        m.scale.copy_(state[16:])

    def forward(self, x):
        m = self.fp8_meta["scaling_fwd"]
        out = torch.round(x * m.scale * 8) / 8  # quantised with the delayed scale
        m.amax_history.copy_(torch.cat([m.amax_history[1:], x.abs().max().reshape(1)]))
        m.scale.fill_(1.0 / max(float(m.amax_history.max()), 1e-3))
        return out


@pytest.mark.parametrize("saved", [True, False])
def test_fp8_batches_do_not_depend_on_the_batches_before(saved):
    """Restoring the loaded FP8 scaling state before each batch (as Evo2Backend.run
    does) gives a batch the outputs it has in a fresh job: a resumed job's bytes."""
    from genomic_icl.models.evo2.patches import fp8_states, restore_fp8_states

    model = torch.nn.Sequential(DelayedScalingLinear(saved))
    torch.manual_seed(0)
    batches = [torch.randn(4, 3) * scale for scale in (1.0, 9.0, 0.5)]
    fresh = [torch.nn.Sequential(DelayedScalingLinear(saved))(b) for b in batches]
    states = fp8_states(model)
    assert list(states) == ["0"]
    drifting = [model(b) for b in batches]  # without the restore: history leaks in
    assert not all(torch.equal(a, b) for a, b in zip(drifting, fresh, strict=True))
    for b, want in zip(batches, fresh, strict=True):
        restore_fp8_states(model, states)
        assert torch.equal(model(b), want)


def test_read_only_cache_without_the_merged_weights_is_caught_at_planning(tmp_path, monkeypatch):
    """evo2 merges the hub's weight shards into <HF_HOME>/<model>.pt on first use: where
    the job cannot write that (a shared read-only cache), planning says so with the one
    command that merges them, and that command works."""
    import genomic_icl.models.evo2 as evo2_backend

    home = tmp_path / "hf"
    snapshot = home / "hub" / "models--arcinstitute--evo2_40b" / "snapshots" / "abc123"
    snapshot.mkdir(parents=True)
    (home / "hub" / "models--arcinstitute--evo2_40b" / "refs").mkdir()
    (home / "hub" / "models--arcinstitute--evo2_40b" / "refs" / "main").write_text("abc123")
    for i, chunk in enumerate([b"first-", b"second-", b"third"]):
        (snapshot / f"evo2_40b.pt.part{i}").write_bytes(chunk)
    monkeypatch.setenv("HF_HOME", str(home))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    spec = {"name": "e40", "backend": "evo2", "checkpoint": "evo2_40b", "encoding": "genomic"}
    preflight(spec)  # a cache this account may write: evo2 merges it itself
    # root may write anywhere, so the read-only mount is what `writable` reports
    monkeypatch.setattr(evo2_backend, "writable", lambda folder: folder != home)
    with pytest.raises(BackendError, match="Merge them once, on a login node") as err:
        preflight(spec)
    command = str(err.value).rsplit("as the cache's owner: ", 1)[1]
    assert "3 weight shards" in str(err.value) and command.endswith(f"> {home}/evo2_40b.pt")
    subprocess.run(["bash", "-c", command], check=True)
    assert (home / "evo2_40b.pt").read_bytes() == b"first-second-third"
    preflight(spec)  # merged: nothing left to write
