"""Model inference: exact greedy decoding, the fallback for merging tokenizers,
kill-and-resume, the command line and the errors raised before anything heavy.

Every model here is a tiny random-weight model built from a config, with a
tokenizer built in code: no network, no downloaded weights."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
torch.set_num_threads(1)

from conftest import DEVICES  # noqa: E402
from genomic_icl.inference import partial_dir, predict_file  # noqa: E402
from genomic_icl.io import read_table, write_table  # noqa: E402
from genomic_icl.models import BackendError, get_backend, preflight  # noqa: E402
from genomic_icl.models.hf import HFBackend  # noqa: E402
from genomic_icl.prompts import Encoding, prompt_table  # noqa: E402
from genomic_icl.tokenization import char_tokenizer  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
LING = Encoding("linguistic", "0123456789")
GEN = Encoding("genomic", "ACGT")
FUNCS = ["identity", "rotl1", "majority", "flip_bits>reverse_bits", "meta_constant", "parity_fill"]


# -- tiny models and tokenizers --------------------------------------------------------


def digit_bpe_tokenizer():
    """A BPE tokenizer with merged words but every digit split into its own token
    (as Qwen's), and a BOS token added in front (as Llama's)."""
    from tokenizers import Tokenizer, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split("|", behavior="isolated"),
            pre_tokenizers.Digits(individual_digits=True),
        ]
    )
    trainer = trainers.BpeTrainer(vocab_size=80, special_tokens=["<pad>", "<unk>", "<s>", "</s>"])
    rng = np.random.default_rng(0)
    corpus = ["".join(rng.choice(list("abcdefgh0123456789"), 40)) for _ in range(300)]
    tok.train_from_iterator(corpus + ["abcabcab", "defdefde"] * 50, trainer)
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A", special_tokens=[("<s>", tok.token_to_id("<s>"))]
    )
    from tokenizers import decoders

    tok.decoder = decoders.Fuse()
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<s>",
        eos_token="</s>",
        pad_token="<pad>",
        unk_token="<unk>",
        model_input_names=["input_ids", "attention_mask"],
    )


def merging_tokenizer():
    """A BPE tokenizer over ACGT that merges nucleotides into multi-symbol tokens (k-mer like)."""
    from tokenizers import Tokenizer, decoders, models, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    trainer = trainers.BpeTrainer(vocab_size=40, special_tokens=["<pad>", "<unk>", "<s>", "</s>"])
    rng = np.random.default_rng(1)
    tok.train_from_iterator(["".join(rng.choice(list("ACGT"), 64)) for _ in range(200)], trainer)
    tok.decoder = decoders.Fuse()
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token="</s>",
        pad_token="<pad>",
        unk_token="<unk>",
        model_input_names=["input_ids", "attention_mask"],
    )


def _tiny(config_cls, model_cls, vocab: int, seed: int, eos: int | None, **kw):
    """A tiny random model of one architecture (width 32, 4 heads, MLP 64)."""
    torch.manual_seed(seed)
    kw.setdefault("num_hidden_layers", 2)
    cfg = config_cls(
        vocab_size=vocab,
        hidden_size=32,
        intermediate_size=64,
        num_attention_heads=4,
        max_position_embeddings=4096,
        eos_token_id=eos,
        **kw,
    )
    return model_cls(cfg).eval()


def tiny_qwen3(vocab: int, seed: int = 0, eos: int | None = None):
    return _tiny(
        transformers.Qwen3Config,
        transformers.Qwen3ForCausalLM,
        vocab,
        seed,
        eos,
        num_key_value_heads=2,
        head_dim=8,
    )


def tiny_llama(vocab: int, seed: int = 0, eos: int | None = None):
    return _tiny(
        transformers.LlamaConfig,
        transformers.LlamaForCausalLM,
        vocab,
        seed,
        eos,
        num_key_value_heads=4,
    )


def tiny_lfm2(vocab: int, seed: int = 0, eos: int | None = None):
    """LFM2 as the default config's DNA model builds it: a short convolution of
    kernel 8 (its cache holds 7 symbols during generation), then attention."""
    return _tiny(
        transformers.Lfm2Config,
        transformers.Lfm2ForCausalLM,
        vocab,
        seed,
        eos,
        num_key_value_heads=4,
        num_hidden_layers=2,
        layer_types=["conv", "full_attention"],
        conv_L_cache=8,
    )


TINY = {"qwen3": tiny_qwen3, "llama": tiny_llama, "lfm2": tiny_lfm2}


def sharpen(model, scale: float = 8.0):
    """Scale the output layer so greedy picks are decisive and varied (random tiny
    models are otherwise near-uniform)."""
    with torch.no_grad():
        model.get_output_embeddings().weight.mul_(scale)
    return model


def reference_greedy(model, tokenizer, prompt: str) -> list[int]:
    """What plain ``generate(do_sample=False)`` produces, one prompt at a time."""
    enc = tokenizer(prompt, return_tensors="pt").to(model.device)
    with torch.inference_mode():
        out = model.generate(
            **enc,
            do_sample=False,
            max_new_tokens=8,
            pad_token_id=tokenizer.pad_token_id,
            eos_token_id=model.generation_config.eos_token_id,
        )
    return out[0, enc["input_ids"].shape[1] :].tolist()


def run_backend(backend, df):
    """All rows of ``df`` through the backend's plan: (token ids, texts, logprobs) in row order."""
    ids, text, lp = [None] * len(df), [None] * len(df), np.zeros(len(df))
    for rows in backend.plan(df):
        res = backend.run(df.iloc[rows])
        for j, r in enumerate(rows):
            ids[r], text[r], lp[r] = res.token_ids[j], res.text[j], res.logprob[j]
    return ids, text, lp


def with_src() -> str:
    """PYTHONPATH with the repository's src/ first and the caller's kept after it (a GPU
    session puts its carried wheels there)."""
    return os.pathsep.join(filter(None, [str(REPO / "src"), os.environ.get("PYTHONPATH")]))


def hf_spec(**kw):
    return {
        "name": "tiny",
        "backend": "hf",
        "checkpoint": "unused",
        "encoding": "linguistic",
        "batch_tokens": 4096,
        **kw,
    }


# -- exact greedy ------------------------------------------------------------------------


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("arch", sorted(TINY))
def test_char_tokenizer_matches_generate(arch, device):
    tok = char_tokenizer("0123456789")
    model = sharpen(TINY[arch](len(tok), seed=3, eos=tok.eos_token_id)).to(device)
    backend = HFBackend(hf_spec(), model=model, tokenizer=tok)
    n_checked = 0
    for n, fns in [(1, FUNCS), (2, FUNCS), (8, FUNCS), (32, FUNCS[:3]), (128, FUNCS[:2])]:
        df = prompt_table(fns, n, 2, LING, 5)
        ids, text, lp = run_backend(backend, df)
        for r in range(len(df)):
            assert ids[r] == reference_greedy(model, tok, df.prompt.iloc[r]), (n, r)
            assert np.isfinite(lp[r]) and lp[r] < 0
        n_checked += len(df)
    assert n_checked == 46


@pytest.mark.parametrize("device", DEVICES)
def test_bf16_agreement_with_generate_is_reported(device):
    """bf16, the production dtype: batched greedy and per-prompt ``generate()`` may round
    a near tie differently, so agreement is reported, not required to be exact: the
    rate, and for every disagreement the logit gap between the two tokens where they
    part (printed; appended to ``$GENOMIC_ICL_REPORT_DIR/bf16_agreement.tsv`` when set,
    as benchmarks/gpu_session.sh does). A broken path agrees on almost nothing."""
    tok = char_tokenizer("0123456789")
    model = sharpen(tiny_qwen3(len(tok), seed=3, eos=tok.eos_token_id))
    model = model.to(device=device, dtype=torch.bfloat16)
    backend = HFBackend(hf_spec(), model=model, tokenizer=tok)
    df = pd.concat([prompt_table(FUNCS, n, 2, LING, 5) for n in (1, 8, 32)], ignore_index=True)
    ids, _, lp = run_backend(backend, df)
    margins = []
    for r in range(len(df)):
        want = reference_greedy(model, tok, df.prompt.iloc[r])
        if ids[r] != want:
            j = next(i for i, (a, b) in enumerate(zip(ids[r], want, strict=False)) if a != b)
            ctx = tok(df.prompt.iloc[r])["input_ids"] + ids[r][:j]
            with torch.inference_mode():
                logits = model(torch.tensor([ctx], device=model.device)).logits[0, -1].float()
            margins.append(abs(float(logits[ids[r][j]] - logits[want[j]])))
    agree = 1 - len(margins) / len(df)
    line = f"{device}\t{len(df)}\t{agree:.4f}\t{','.join(f'{m:.4g}' for m in margins)}"
    print(f"bf16 agreement on {device}: {agree:.1%} of {len(df)}; margins {margins}")
    if os.environ.get("GENOMIC_ICL_REPORT_DIR"):
        report = Path(os.environ["GENOMIC_ICL_REPORT_DIR"]) / "bf16_agreement.tsv"
        new = not report.exists()
        with open(report, "a") as fh:
            fh.write("device\tprompts\tagreement\tdisagree_margins\n" * new + line + "\n")
    assert np.isfinite(lp).all()
    assert agree >= 0.5, line


def test_lfm2_decodes_from_one_prompt_pass():
    """LFM2's convolution cache cannot be cropped: greedy_stepwise encodes each prompt
    once and gives greedy_kv's tokens (its re-encoding path) and log-probabilities."""
    from genomic_icl.models.greedy import greedy_kv, greedy_stepwise, rows_only_cache

    tok = char_tokenizer("ACGT")
    lfm2 = sharpen(tiny_lfm2(len(tok), seed=4, eos=tok.eos_token_id))
    assert not rows_only_cache(tiny_llama(len(tok)))  # a DynamicCache is cropped instead
    backend = HFBackend(hf_spec(), model=lfm2, tokenizer=tok)
    if not rows_only_cache(lfm2):  # older transformers: another LFM2 cache layout
        assert backend._greedy is greedy_kv  # the exact path that works for any model
        pytest.skip(f"transformers {transformers.__version__}: LFM2's cache has no row states")
    assert backend._greedy is greedy_stepwise
    df = prompt_table(FUNCS, 16, 3, GEN, 2)
    p, t = backend.encode(df.prompt.tolist(), df.target.tolist())
    prompt_ids, target_ids = torch.tensor(p), torch.tensor(t)
    lengths = []
    real_forward = lfm2.forward

    def forward(input_ids=None, **k):
        lengths.append(input_ids.shape[1])
        return real_forward(input_ids=input_ids, **k)

    lfm2.forward = forward
    tokens, logprob = greedy_stepwise(lfm2, prompt_ids, target_ids, 8, backend.eos_ids)
    assert lengths == [prompt_ids.shape[1]] + [1] * 7  # one prompt pass, then 7 steps
    want_tokens, want_logprob = greedy_kv(lfm2, prompt_ids, target_ids, 8, backend.eos_ids)
    assert tokens == want_tokens
    assert sum(len(x) == 8 and x != y for x, y in zip(tokens, t, strict=True)) > 0
    np.testing.assert_allclose(logprob, want_logprob, rtol=1e-5)


def test_digit_splitting_tokenizer_matches_generate_and_logprob():
    tok = digit_bpe_tokenizer()
    model = sharpen(tiny_llama(len(tok), seed=1, eos=tok.eos_token_id))
    backend = HFBackend(hf_spec(), model=model, tokenizer=tok)
    df = prompt_table(FUNCS, 4, 2, LING, 9)
    # one symbol is one token here: the fast path decides every row
    assert all(len(tok(t, add_special_tokens=False)["input_ids"]) == 8 for t in df.target)
    ids, text, lp = run_backend(backend, df)
    for r in range(len(df)):
        assert ids[r] == reference_greedy(model, tok, df.prompt.iloc[r])
        # the target log-probability, computed the slow way
        full = tok(df.prompt.iloc[r] + df.target.iloc[r], return_tensors="pt")["input_ids"]
        with torch.inference_mode():
            logp = torch.log_softmax(model(full).logits[0, -9:-1].float(), -1)
        want = logp.gather(-1, full[0, -8:, None]).sum().item()
        assert lp[r] == pytest.approx(want, abs=1e-4)


def test_correct_rows_settled_by_teacher_forcing():
    """A model that always answers right is decided in one pass (no continuation)."""
    tok = char_tokenizer("0123456789")
    model = tiny_qwen3(len(tok), seed=2)
    df = prompt_table(FUNCS, 2, 2, LING, 1)
    calls = []
    real_forward = model.forward

    def forward(input_ids=None, logits_to_keep=0, **k):
        calls.append(input_ids.shape)
        out = real_forward(input_ids=input_ids, logits_to_keep=logits_to_keep, **k)
        # make the target the argmax everywhere: exact match, no decoding needed
        ids = input_ids
        tgt = torch.tensor(tok(list(df.target), add_special_tokens=False)["input_ids"])[
            : ids.shape[0]
        ]
        logits = torch.full_like(out.logits, -1e4)
        logits.scatter_(-1, tgt[:, -logits.shape[1] :, None], 0.0)
        out.logits = logits
        return out

    model.forward = forward
    # greedy alone (answers: false); the answer tree is tests/test_answers.py's
    backend = HFBackend(hf_spec(batch_tokens=100000, answers=False), model=model, tokenizer=tok)
    ids, text, lp = run_backend(backend, df)
    assert text == list(df.target)
    assert len(calls) == 1


@pytest.mark.parametrize("arch", ["qwen3", "llama"])
def test_continuation_reuses_the_sliced_kv_cache(arch):
    """With a cache of plain attention layers (transformers 4.56+ and 5.x alike),
    rows that leave the target continue from the teacher-forced pass's cache, cut
    to their settled prefix: after that one pass every forward call feeds one
    token, and no prompt is encoded again. The output is still ``generate``'s."""
    tok = char_tokenizer("0123456789")
    model = sharpen(TINY[arch](len(tok), seed=5, eos=tok.eos_token_id))
    widths: list[int] = []
    model.register_forward_pre_hook(
        lambda _m, _args, kw: widths.append(kw["input_ids"].shape[1]), with_kwargs=True
    )
    backend = HFBackend(hf_spec(batch_tokens=100000, answers=False), model=model, tokenizer=tok)
    df = prompt_table(FUNCS, 4, 2, LING, 7)
    batches = backend.plan(df)
    assert len(batches) == 1
    ids, _, _ = run_backend(backend, df)
    n_prompt = len(tok(df.prompt.iloc[0])["input_ids"])
    assert widths[0] == n_prompt + 7  # prompt + target without its last symbol
    assert len(widths) > 1, "some rows should need decoding past the teacher-forced pass"
    assert set(widths[1:]) == {1}, widths
    for r in range(len(df)):
        assert ids[r] == reference_greedy(model, tok, df.prompt.iloc[r])


def live_kv_bytes() -> int:
    """Bytes of the distinct storages of every live 4-d tensor (a KV cache's layers)."""
    import gc

    seen = {}
    for obj in gc.get_objects():
        if isinstance(obj, torch.Tensor) and obj.ndim == 4:
            storage = obj.untyped_storage()
            seen[storage.data_ptr()] = storage.nbytes()
    return sum(seen.values())


def test_cached_greedy_holds_the_cache_once():
    """While rows decode, the KV cache is held once: never more than the teacher-forced
    pass's whole cache (before, that cache stayed alive beside per-group copies)."""
    from genomic_icl.models.greedy import greedy_kv

    tok = char_tokenizer("0123456789")
    model = sharpen(tiny_qwen3(len(tok), seed=5, eos=tok.eos_token_id))
    df = prompt_table(FUNCS, 16, 4, LING, 7)
    p, t = HFBackend(hf_spec(), model=model, tokenizer=tok).encode(
        df.prompt.tolist(), df.target.tolist()
    )
    prompt_ids, target_ids = torch.tensor(p), torch.tensor(t)
    B, width = prompt_ids.shape[0], prompt_ids.shape[1] + target_ids.shape[1] - 1
    cfg = model.config
    whole = 2 * cfg.num_hidden_layers * B * cfg.num_key_value_heads * width * cfg.head_dim * 4
    baseline, during = live_kv_bytes(), []
    model.register_forward_pre_hook(
        lambda _m, _a, kw: (
            during.append(live_kv_bytes() - baseline) if kw["input_ids"].shape[1] == 1 else None
        ),
        with_kwargs=True,
    )
    tokens, _ = greedy_kv(model, prompt_ids, target_ids, 8, [tok.eos_token_id])
    assert during, "no row decoded past the teacher-forced pass"
    print(f"cache held while decoding: {max(during)} bytes of {whole} (whole pass)")
    assert max(during) <= whole, (max(during), whole)
    for r in range(0, B, 5):
        assert tokens[r] == reference_greedy(model, tok, df.prompt.iloc[r])


@pytest.mark.parametrize(
    "devices",
    [
        ["cpu", "cpu"],
        pytest.param(
            ["cuda:0", "cuda:1"],
            marks=[
                pytest.mark.gpu,
                pytest.mark.skipif(
                    not torch.cuda.is_available() or torch.cuda.device_count() < 2,
                    reason="needs two CUDA devices",
                ),
            ],
        ),
    ],
)
def test_model_spread_over_devices_matches_generate(devices):
    """A model placed by a device map (accelerate's hooks, as ``device_map="auto"``
    places a large model over GPUs): each layer's cache lives on its layer's device."""
    from accelerate import dispatch_model

    tok = char_tokenizer("0123456789")
    model = sharpen(tiny_qwen3(len(tok), seed=6, eos=tok.eos_token_id))
    device_map = {
        "model.embed_tokens": devices[0],
        "model.rotary_emb": devices[0],
        "model.layers.0": devices[0],
        "model.layers.1": devices[1],
        "model.norm": devices[1],
        "lm_head": devices[1],
    }
    model = dispatch_model(model, device_map=device_map)
    backend = HFBackend(hf_spec(), model=model, tokenizer=tok)
    df = prompt_table(FUNCS, 8, 2, LING, 3)
    ids, _, lp = run_backend(backend, df)
    assert np.isfinite(lp).all()
    for r in range(len(df)):
        assert ids[r] == reference_greedy(model, tok, df.prompt.iloc[r]), r


def test_fallback_with_merging_tokenizer_matches_generate():
    tok = merging_tokenizer()
    model = sharpen(tiny_llama(len(tok), seed=4, eos=tok.eos_token_id), 6.0)
    backend = HFBackend(hf_spec(encoding="genomic"), model=model, tokenizer=tok)
    df = prompt_table(FUNCS, 8, 3, GEN, 2)
    merged = [len(tok(t, add_special_tokens=False)["input_ids"]) < 8 for t in df.target]
    assert any(merged), "the tokenizer should merge symbols"
    ids, text, _ = run_backend(backend, df)
    for r in range(len(df)):
        want = reference_greedy(model, tok, df.prompt.iloc[r])
        assert ids[r] == want
        assert text[r] == tok.decode(want, skip_special_tokens=False)[:8]
        assert len(text[r]) == 8


# -- resumable runs ----------------------------------------------------------------------

RESUME_SCRIPT = """
import sys, time, torch
torch.set_num_threads(1)
sys.path.insert(0, {tests!r})
import test_inference as h
from genomic_icl.inference import predict_file
from genomic_icl.models.hf import HFBackend
tok = h.char_tokenizer("0123456789")
model = h.sharpen(h.tiny_qwen3(len(tok), seed=11, eos=tok.eos_token_id))
backend = HFBackend(h.hf_spec(batch_tokens=300), model=model, tokenizer=tok)
run = backend.run
def slow(batch):
    time.sleep(float(sys.argv[3]))
    return run(batch)
backend.run = slow
predict_file(h.hf_spec(batch_tokens=300), sys.argv[1], sys.argv[2], 7, backend=backend)
"""


def test_kill_and_resume_gives_identical_output(tmp_path):
    prompts = tmp_path / "prompts.parquet"
    write_table(prompt_table(FUNCS, 4, 4, LING, 8), prompts)
    script = tmp_path / "run.py"
    script.write_text(RESUME_SCRIPT.format(tests=str(REPO / "tests")))
    env = {**os.environ, "PYTHONPATH": with_src()}
    clean = tmp_path / "clean.parquet"
    subprocess.run(
        [sys.executable, str(script), prompts, clean, "0"], check=True, env=env, capture_output=True
    )

    out = tmp_path / "out.parquet"
    proc = subprocess.Popen(
        [sys.executable, str(script), prompts, out, "0.3"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    part = partial_dir(out)
    deadline = time.time() + 120
    while time.time() < deadline and len(list(part.glob("batch-*.json"))) < 3:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not out.exists()
    n_before = len(list(part.glob("batch-*.json")))
    assert n_before >= 3

    res = subprocess.run(
        [sys.executable, str(script), prompts, out, "0"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "resuming" in res.stderr and "prompt" in res.stderr
    assert out.read_bytes() == clean.read_bytes()
    assert not part.exists()


def test_reference_backend_and_stale_checkpoints(tmp_path):
    prompts = tmp_path / "p.parquet"
    df = prompt_table(FUNCS, 4, 3, GEN, 1)
    write_table(df, prompts)
    spec = {"name": "oracle", "backend": "reference", "checkpoint": "oracle", "encoding": "genomic"}
    out = tmp_path / "o.parquet"
    # checkpoints of another job are discarded, not reused
    part = partial_dir(out)
    part.mkdir()
    (part / "manifest.json").write_text('{"fingerprint": "other", "plan": [[0]]}')
    predict_file(spec, prompts, out, 3, progress=False)
    pred = read_table(out)
    assert list(pred.columns)[:2] == ["model", "function"]
    assert pred["valid"].all() and not part.exists()
    # the oracle's exact posterior predictive: 256 answers summing to 1, the target's
    # log-probability among them, and per-position log-probabilities summing to it
    answers = np.stack(pred["answer_logprobs"].to_numpy()).astype(float)
    np.testing.assert_allclose(np.exp(answers).sum(axis=1), 1.0, rtol=1e-5)
    rows = np.arange(len(df))
    np.testing.assert_allclose(
        answers[rows, df["target_bits"].to_numpy()], pred["target_logprob"], rtol=1e-5
    )
    positions = np.stack(pred["position_logprobs"].to_numpy())
    np.testing.assert_allclose(positions.sum(axis=1), pred["target_logprob"], atol=1e-9)
    assert (pred["target_logprob"] <= 0).all()


# -- command line and errors ----------------------------------------------------------------


def test_cli_predict(tmp_path):
    import yaml

    from genomic_icl.cli import main

    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        yaml.safe_dump(
            {
                "functions": FUNCS,
                "shots": [2],
                "trials": 2,
                "models": [
                    {
                        "name": "mode",
                        "backend": "reference",
                        "checkpoint": "mode",
                        "encoding": "genomic",
                    }
                ],
            }
        )
    )
    prompts = tmp_path / "p.parquet"
    write_table(prompt_table(FUNCS, 2, 2, GEN, 2025), prompts)
    out = tmp_path / "o.parquet"
    assert (
        main(
            [
                "predict",
                "--config",
                str(cfg),
                "--model",
                "mode",
                "--prompts",
                str(prompts),
                "-o",
                str(out),
            ]
        )
        == 0
    )
    assert len(read_table(out)) == len(FUNCS) * 2
    assert (
        main(
            [
                "predict",
                "--config",
                str(cfg),
                "--model",
                "nope",
                "--prompts",
                str(prompts),
                "-o",
                str(out),
            ]
        )
        == 2
    )


GPU_IMAGE = REPO / "tests" / "support" / "gpu_image"  # hides jsonschema and snakemake


def test_prediction_needs_neither_jsonschema_nor_snakemake(tmp_path):
    """As on the GPU image: `genomic-icl predict` runs a saved hf model (and still
    refuses a bad entry), and the inference rule's code imports neither package."""
    import yaml

    tok = char_tokenizer("0123456789")
    model = sharpen(tiny_qwen3(len(tok), seed=2, eos=tok.eos_token_id))
    model.save_pretrained(tmp_path / "tiny")
    tok.save_pretrained(tmp_path / "tiny")
    entry = {"name": "tiny", "backend": "hf", "checkpoint": str(tmp_path / "tiny")}
    config = {
        "functions": FUNCS,
        "shots": [2],
        "trials": 2,
        "encodings": {"l": {"alphabet": "0123456789"}},
    }
    config["models"] = [{**entry, "encoding": "l", "device": "cpu", "batch_tokens": 512}]
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(config))
    prompts = prompt_table(FUNCS, 2, 2, Encoding("l", LING.alphabet), 7)  # the config's name
    write_table(prompts, tmp_path / "p.parquet")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(GPU_IMAGE), with_src()])}
    cmd = [sys.executable, "-m", "genomic_icl.cli", "predict", "--config", str(tmp_path / "c.yaml")]
    cmd += ["--prompts", str(tmp_path / "p.parquet"), "-o", str(tmp_path / "o.parquet")]
    run = subprocess.run([*cmd, "--model", "tiny"], env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "jsonschema is not installed" in run.stderr
    assert len(read_table(tmp_path / "o.parquet")) == len(FUNCS) * 2
    bad = subprocess.run([*cmd, "--model", "nope"], env=env, capture_output=True, text=True)
    assert bad.returncode == 2 and "no model named 'nope'" in bad.stderr
    code = textwrap.dedent("""
        import importlib.util, sys
        assert importlib.util.find_spec("jsonschema") is None  # the hook works
        assert importlib.util.find_spec("snakemake") is None
        import genomic_icl.cli, genomic_icl.inference, genomic_icl.workflow  # scripts/predict.py
        from genomic_icl.models import get_backend
        get_backend("hf"), get_backend("evo2"), get_backend("reference")
        assert not {"jsonschema", "snakemake"} & set(sys.modules)
    """)
    subprocess.run([sys.executable, "-c", code], env=env, check=True)


def test_backend_named_by_import_path():
    from genomic_icl.models.reference import ReferenceBackend

    path = "genomic_icl.models.reference:ReferenceBackend"
    assert get_backend(path) is ReferenceBackend
    with pytest.raises(BackendError, match="'no_such_pkg.mod:Cls' cannot be imported"):
        get_backend("no_such_pkg.mod:Cls")


def test_error_unknown_backend_and_models():
    with pytest.raises(BackendError, match="unknown backend 'vllm'"):
        get_backend("vllm")
    with pytest.raises(BackendError, match="unknown Evo 2 model"):
        preflight({"name": "e", "backend": "evo2", "checkpoint": "evo3_1t"})
    with pytest.raises(BackendError, match="unknown reference learner"):
        preflight({"name": "r", "backend": "reference", "checkpoint": "median"})


def test_error_checkpoint_path_missing(tmp_path):
    with pytest.raises(BackendError, match="does not exist"):
        preflight({"name": "q", "backend": "hf", "checkpoint": str(tmp_path / "nowhere")})
    with pytest.raises(BackendError, match="does not exist"):
        preflight({"name": "e", "backend": "evo2", "checkpoint": str(tmp_path / "evo2_7b.pt")})
    (tmp_path / "empty").mkdir()
    with pytest.raises(BackendError, match="config.json"):
        preflight({"name": "q", "backend": "hf", "checkpoint": str(tmp_path / "empty")})


def test_local_path_and_offline_cache(tmp_path, monkeypatch):
    tok = char_tokenizer("0123456789")
    model = tiny_qwen3(len(tok))
    model.save_pretrained(tmp_path / "m")
    tok.save_pretrained(tmp_path / "m")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    spec = hf_spec(checkpoint=str(tmp_path / "m"), device="cpu")
    preflight(spec)
    backend = HFBackend(spec)  # loads from the local path, offline
    assert backend.model.dtype == torch.float32
    with pytest.raises(BackendError, match="hf download Qwen/Qwen3-0.6B-Base"):
        preflight(hf_spec(checkpoint="Qwen/Qwen3-0.6B-Base"))
    with pytest.raises(BackendError, match="not in the local cache"):
        preflight({"name": "e", "backend": "evo2", "checkpoint": "evo2_7b"})


def test_error_transformers_without_torch(monkeypatch):
    """transformers newer than the installed torch supports turns torch off: the
    job stops with both versions named instead of failing inside from_pretrained."""
    HFBackend.check_environment(hf_spec(device="cpu"))  # this environment is consistent
    monkeypatch.setattr(transformers.utils, "is_torch_available", lambda: False)
    with pytest.raises(BackendError, match=f"transformers {transformers.__version__} .* torch"):
        HFBackend.check_environment(hf_spec(device="cpu"))


@pytest.mark.skipif(
    torch.cuda.is_available(), reason="checks the error raised where CUDA is absent"
)
def test_error_cuda_absent():
    with pytest.raises(BackendError, match="CUDA is not available"):
        HFBackend.check_environment(hf_spec(device="cuda"))


def test_planning_imports_nothing_heavy():
    code = textwrap.dedent("""
        import sys
        from genomic_icl.planning import load_and_check
        for path in ("configs/paper.yaml", "config.yaml"):  # what validate and planning run
            load_and_check(path)
        heavy = [m for m in ("torch", "transformers", "evo2", "vortex") if m in sys.modules]
        assert not heavy, heavy
    """)
    env = {**os.environ, "PYTHONPATH": with_src()}
    env.pop("HF_HUB_OFFLINE", None)
    subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, check=True)


def test_backend_registry_checks_what_it_loads():
    with pytest.raises(BackendError, match="did you mean 'hf'"):
        get_backend("hff")
    with pytest.raises(BackendError, match="not a subclass of genomic_icl.models.Backend"):
        get_backend("genomic_icl.config:ConfigError")
    with pytest.raises(BackendError, match="not a subclass"):
        get_backend("genomic_icl.models.util:token_batches")
    assert "genomic_icl.config:ConfigError" not in get_backend.__globals__["BACKENDS"]

    from genomic_icl.models import Backend

    class NoRun(Backend):
        name = "norun"

    with pytest.raises(TypeError, match="abstract"):
        NoRun({"name": "x"})


@pytest.mark.parametrize(
    ("backend", "checkpoint", "repo"),
    [
        ("evo2", "evo2_7b", "arcinstitute/evo2_7b"),
        ("evo2", "evo2_7b_microviridae", "evo-design/evo-2-7b-8k-microviridae"),
        ("evo2", "evo-design/evo-2-7b-8k-microviridae", "evo-design/evo-2-7b-8k-microviridae"),
        ("hf", "Qwen/Qwen3-0.6B", "Qwen/Qwen3-0.6B"),
    ],
)
def test_weights_identity_follows_the_hub_revision(
    tmp_path, monkeypatch, backend, checkpoint, repo
):
    """The predictions' fingerprint holds the commit the entry's revision points to in
    the local hub cache, under the repository its weights really come from."""
    from genomic_icl.inference import checkpoint_identity

    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    spec = {"name": "m", "backend": backend, "checkpoint": checkpoint}
    assert checkpoint_identity(spec) == []  # nothing cached: nothing to read
    refs = tmp_path / f"models--{repo.replace('/', '--')}" / "refs"
    refs.mkdir(parents=True)
    (refs / "main").write_text("a" * 40)
    assert checkpoint_identity(spec) == ["a" * 40]
    (refs / "main").write_text("b" * 40)  # the hub's main moved: new identity
    assert checkpoint_identity(spec) == ["b" * 40]
    assert checkpoint_identity({**spec, "revision": "v1"}) == []


def test_a_backend_declares_its_own_weights_identity(tmp_path, monkeypatch):
    """``Backend.weights_identity`` is what enters the predictions' fingerprint: a
    backend whose weights live elsewhere (here a served model, named by a version file)
    overrides it, and a new version is a new fingerprint."""
    from genomic_icl.inference import _fingerprint, checkpoint_identity
    from genomic_icl.models import BACKENDS
    from genomic_icl.models.reference import ReferenceBackend

    version = tmp_path / "served.version"

    class Served(ReferenceBackend):
        name = "served"

        @classmethod
        def weights_identity(cls, spec):
            return [version.read_text()]

    monkeypatch.setitem(BACKENDS, "served", Served)
    spec = {"name": "m", "backend": "served", "checkpoint": "mode"}
    prompts = tmp_path / "prompts.parquet"
    prompts.write_bytes(b"the same prompts")
    version.write_text("2026-01")
    assert checkpoint_identity(spec) == ["2026-01"]
    first = _fingerprint(spec, prompts, 0)
    assert _fingerprint(spec, prompts, 0) == first
    version.write_text("2026-02")
    assert _fingerprint(spec, prompts, 0) != first
    assert checkpoint_identity({**spec, "backend": "reference"}) == []  # learners: code


def test_benchmark_hooks_agree_with_independent_references():
    """The optional hooks benchmarks/gpu.py calls: ``encode`` gives the tokens ``run``
    feeds, ``logits`` a plain forward pass's, ``baseline_greedy`` what ``generate()``
    gives one prompt at a time (fp32: also the backend's own greedy tokens); a backend
    without them says so by name."""
    from genomic_icl.models.reference import ReferenceBackend

    tok = char_tokenizer("0123456789")
    model = sharpen(tiny_qwen3(len(tok), seed=3, eos=tok.eos_token_id))
    backend = HFBackend(hf_spec(), model=model, tokenizer=tok)
    df = prompt_table(FUNCS, 4, 1, LING, 5)
    prompt_ids, target_ids = backend.encode(df.prompt.tolist(), df.target.tolist())
    assert prompt_ids == [tok(p)["input_ids"] for p in df.prompt]
    assert target_ids == [tok(t, add_special_tokens=False)["input_ids"] for t in df.target]
    x = torch.tensor(prompt_ids)
    with torch.inference_mode():
        want = model(input_ids=x).logits[:, -3:]
    torch.testing.assert_close(backend.logits(x, keep=3), want)
    ids, _, _ = run_backend(backend, df)
    for r, prompt in enumerate(df.prompt):
        assert backend.baseline_greedy(prompt) == reference_greedy(model, tok, prompt) == ids[r]
    learner = ReferenceBackend({"name": "mode", "checkpoint": "mode"})
    with pytest.raises(NotImplementedError, match="'reference' exposes no logits"):
        learner.logits(x)


def test_hf_job_refuses_prompts_the_model_cannot_read():
    """Where planning could not see the tokenizer or config (a hub model not yet in the
    cache), the job refuses before computing: unknown-token symbols, too long prompts."""
    tok = char_tokenizer("ACGT")
    backend = HFBackend(hf_spec(), model=tiny_llama(len(tok)), tokenizer=tok)
    with pytest.raises(BackendError, match="reads prompt symbols '[0-9]+' as its unknown"):
        backend.plan(prompt_table(FUNCS[:2], 2, 2, LING, 1))
    assert backend.plan(prompt_table(FUNCS[:2], 2, 2, GEN, 1))  # the control
    backend.model.config.max_position_embeddings = 17 * 4 + 15  # n = 4 needs 17 n + 16
    with pytest.raises(BackendError, match=r"take 84 tokens, more than its context \(83"):
        backend.plan(prompt_table(FUNCS[:2], 4, 2, GEN, 1))
    assert backend.plan(prompt_table(FUNCS[:2], 3, 2, GEN, 1))
