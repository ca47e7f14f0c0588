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
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
torch.set_num_threads(1)

from genomic_icl.inference import partial_dir, predict_file  # noqa: E402
from genomic_icl.io import read_table, write_table  # noqa: E402
from genomic_icl.models import BackendError, get_backend, preflight  # noqa: E402
from genomic_icl.models.evo2 import Evo2Backend, check_fp8  # noqa: E402
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
    enc = tokenizer(prompt, return_tensors="pt")
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


@pytest.mark.parametrize("arch", sorted(TINY))
def test_char_tokenizer_matches_generate(arch):
    tok = char_tokenizer("0123456789")
    model = sharpen(TINY[arch](len(tok), seed=3, eos=tok.eos_token_id))
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


def test_lfm2_decodes_from_one_prompt_pass():
    """LFM2's convolution cache cannot be cropped: greedy_stepwise encodes each prompt
    once and gives greedy_kv's tokens (its re-encoding path) and log-probabilities."""
    from genomic_icl.models.greedy import greedy_kv, greedy_stepwise, rows_only_cache

    tok = char_tokenizer("ACGT")
    lfm2 = sharpen(tiny_lfm2(len(tok), seed=4, eos=tok.eos_token_id))
    assert rows_only_cache(lfm2)
    assert not rows_only_cache(tiny_llama(len(tok)))  # a DynamicCache is cropped instead
    backend = HFBackend(hf_spec(), model=lfm2, tokenizer=tok)
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
    backend = HFBackend(hf_spec(batch_tokens=100000), model=model, tokenizer=tok)
    ids, text, lp = run_backend(backend, df)
    assert text == list(df.target)
    assert len(calls) == 1


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


def test_evo2_greedy_logic_on_cpu():
    """The Evo2 backend's model-independent part (byte tokens, Jacobi greedy,
    log-probabilities) against generate on a byte-vocabulary stand-in model."""

    class ByteModel(torch.nn.Module):  # vortex's call convention: (logits, state)
        def __init__(self):
            super().__init__()
            self.lm = sharpen(tiny_llama(512, seed=7, eos=None), 10.0)

        def forward(self, ids):
            return self.lm(input_ids=ids).logits, None

    class FakeEvo2:
        model = ByteModel()

    backend = Evo2Backend(
        {"name": "e", "backend": "evo2", "checkpoint": "evo2_7b", "batch_tokens": 2000},
        evo=FakeEvo2(),
    )
    df = prompt_table(FUNCS, 8, 2, GEN, 3)
    ids, text, lp = run_backend(backend, df)
    lm = FakeEvo2.model.lm
    for r in range(len(df)):
        p = torch.tensor([list(df.prompt.iloc[r].encode())])
        with torch.inference_mode():
            want = lm.generate(
                input_ids=p,
                attention_mask=torch.ones_like(p),
                do_sample=False,
                max_new_tokens=8,
                pad_token_id=0,
            )[0, p.shape[1] :].tolist()
        assert ids[r] == want
        assert len(text[r]) == 8
    assert backend.passes >= 1


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
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
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
    assert pred["valid"].all() and pred["target_logprob"].isna().all()
    assert not part.exists()


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
    with pytest.raises(BackendError, match="huggingface-cli download Qwen/Qwen3-0.6B-Base"):
        preflight(hf_spec(checkpoint="Qwen/Qwen3-0.6B-Base"))
    with pytest.raises(BackendError, match="not in the local cache"):
        preflight({"name": "e", "backend": "evo2", "checkpoint": "evo2_7b"})


@pytest.mark.skipif(
    torch.cuda.is_available(), reason="checks the error raised where CUDA is absent"
)
def test_error_cuda_absent():
    with pytest.raises(BackendError, match="CUDA is not available"):
        HFBackend.check_environment(hf_spec(device="cuda"))


def test_error_evo2_not_installed(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "evo2" else real(name, *a)
    )
    with pytest.raises(BackendError, match="`evo2` package is not installed"):
        Evo2Backend.check_environment({"name": "e", "backend": "evo2", "checkpoint": "evo2_7b"})


def test_error_fp8_model_without_fp8_gpu():
    spec = {"name": "e40", "backend": "evo2", "checkpoint": "evo2_40b"}
    with pytest.raises(BackendError, match="FP8"):
        check_fp8(spec, [(8, 0), (8, 0)], have_te=True)  # A100s
    with pytest.raises(BackendError, match="Transformer Engine"):
        check_fp8(spec, [(9, 0)], have_te=False)
    check_fp8(spec, [(9, 0), (9, 0)], have_te=True)  # H100s
    check_fp8({"name": "e7", "checkpoint": "evo2_7b"}, [(8, 0)], have_te=False)  # 7B: no FP8


def test_planning_imports_nothing_heavy():
    code = textwrap.dedent("""
        import sys
        from genomic_icl.config import load_config
        from genomic_icl.models import preflight
        for m in load_config("configs/paper.yaml")["models"]:
            preflight(m)
        heavy = [m for m in ("torch", "transformers", "evo2", "vortex") if m in sys.modules]
        assert not heavy, heavy
    """)
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    env.pop("HF_HUB_OFFLINE", None)
    subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, check=True)


@pytest.mark.gpu
@pytest.mark.skipif(
    not torch.cuda.is_available(), reason="needs a CUDA GPU (vortex StripedHyena runs on CUDA only)"
)
def test_evo2_backend_on_vortex_striped_hyena():
    vortex = pytest.importorskip(
        "vortex.model.model", reason="vortex (the evo2 extra) is not installed"
    )
    from vortex.model.utils import dotdict

    cfg = dotdict(
        {
            "model_name": "tiny",
            "vocab_size": 512,
            "hidden_size": 64,
            "num_filters": 64,
            "num_layers": 4,
            "attn_layer_idxs": [3],
            "hcl_layer_idxs": [2],
            "hcm_layer_idxs": [1],
            "hcs_layer_idxs": [0],
            "hcm_filter_length": 128,
            "hcl_filter_groups": 64,
            "hcm_filter_groups": 4,
            "hcs_filter_groups": 4,
            "hcs_filter_length": 7,
            "num_attention_heads": 4,
            "short_filter_length": 3,
            "short_filter_bias": False,
            "state_size": 4,
            "eps": 1e-6,
            "proj_groups": 1,
            "hyena_filter_groups": 1,
            "column_split_hyena": False,
            "column_split": True,
            "interleave": True,
            "model_parallel_size": 1,
            "pipe_parallel_size": 1,
            "tie_embeddings": True,
            "mha_out_proj_bias": True,
            "hyena_out_proj_bias": True,
            "qkv_proj_bias": False,
            "final_norm": True,
            "use_flash_attn": False,
            "use_flash_rmsnorm": False,
            "use_flash_depthwise": False,
            "use_flashfft": False,
            "use_fp8_input_projections": False,
            "inference_mode": False,
            "prefill_style": "fft",
            "max_seqlen": 4096,
            "max_batch_size": 1,
            "mlp_init_method": "torch.nn.init.zeros_",
            "mlp_output_init_method": "torch.nn.init.zeros_",
            "make_vocab_size_divisible_by": 8,
            "inner_size_multiple_of": 16,
            "inner_mlp_size": 128,
            "log_intermediate_values": False,
            "mlp_activation": "gelu",
            "evo2_style_activations": True,
            "print_activations": False,
        }
    )
    torch.manual_seed(0)
    model = vortex.StripedHyena(cfg)

    class Wrapped:
        pass

    evo = Wrapped()
    evo.model = model
    backend = Evo2Backend({"name": "e", "backend": "evo2", "checkpoint": "evo2_7b"}, evo=evo)
    df = prompt_table(FUNCS, 4, 2, GEN, 3)
    ids, text, lp = run_backend(backend, df)
    for r in range(len(df)):  # plain greedy, one token at a time, full forward each step
        seq = list(df.prompt.iloc[r].encode())
        for _ in range(8):
            with torch.inference_mode():
                logits, _ = model(torch.tensor([seq], device=backend.device))
            seq.append(int(logits[0, -1].argmax()))
        assert ids[r] == seq[-8:]
