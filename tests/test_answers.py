"""The answer distribution, ``decoding: greedy | rank`` and per-position log-probabilities,
checked against brute force on tiny random models of the architectures genomic LMs use,
with tokenizers built here: one character per token, non-overlapping 6-mers with
GENERator's conventions, and a DNA BPE trained on a simulated genome.

Brute force: every one of the 256 answers scored by its own full teacher-forced pass
over the canonical tokenization of prompt + answer; greedy decoding one full forward
pass per new token. No cache, tree or shared prefix is involved in the references.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
import transformers

torch.set_num_threads(1)

from genomic_icl.corpus import CorpusRecipe, chromosome, to_text  # noqa: E402
from genomic_icl.models.answers import answer_texts, trim_left  # noqa: E402
from genomic_icl.models.hf import HFBackend  # noqa: E402
from genomic_icl.prompts import Encoding, prompt_table  # noqa: E402
from genomic_icl.tokenization import char_tokenizer  # noqa: E402

GEN = Encoding("genomic", "ACGT")
FUNCS = ["identity", "rotl1", "majority", "flip_bits>reverse_bits", "meta_constant", "parity_fill"]
SPECIAL = ["<pad>", "<oov>", "<s>", "</s>"]


# -- tokenizers ----------------------------------------------------------------------------


def _fast(tok, **kw):
    from transformers import PreTrainedTokenizerFast

    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token="</s>",
        pad_token="<pad>",
        unk_token="<oov>",
        model_input_names=["input_ids", "attention_mask"],
        **kw,
    )


def kmer_tokenizer(k: int = 6):
    """GENERator's conventions: every non-overlapping k-mer of ACGT is a token, read
    from the left; a shorter remainder becomes ``<oov>``; ``<s>`` in front."""
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, processors

    kmers = ["".join(x) for x in itertools.product("ACGT", repeat=k)]
    vocab = {t: i for i, t in enumerate(SPECIAL + kmers)}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<oov>"))
    tok.pre_tokenizer = pre_tokenizers.Split(Regex(f".{{1,{k}}}"), behavior="isolated")
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A", special_tokens=[("<s>", vocab["<s>"])]
    )
    tok.decoder = decoders.Fuse()
    return _fast(tok, bos_token="<s>")


def dna_bpe_tokenizer(vocab_size: int = 96):
    """A DNA BPE (as METAGENE-1, GenomeOcean, dnagpt) trained on a simulated genome:
    merges cross the prompt's end."""
    from tokenizers import Tokenizer, decoders, models, trainers

    genome = to_text(chromosome(CorpusRecipe(seed=5, chromosomes=1, length=20000), 0))
    tok = Tokenizer(models.BPE(unk_token="<oov>"))
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIAL)
    tok.train_from_iterator([genome[i : i + 500] for i in range(0, len(genome), 500)], trainer)
    tok.decoder = decoders.Fuse()
    return _fast(tok)


# -- tiny models ---------------------------------------------------------------------------


def tiny(arch: str, vocab: int, seed: int, eos: int):
    torch.manual_seed(seed)
    if arch == "gpt2":
        cfg = transformers.GPT2Config(
            vocab_size=vocab, n_embd=32, n_layer=2, n_head=4, n_positions=4096, eos_token_id=eos
        )
        model = transformers.GPT2LMHeadModel(cfg)
    elif arch == "mpt":  # ALiBi: positions from the keys' places, not position_ids
        cfg = transformers.MptConfig(
            vocab_size=vocab, d_model=32, n_heads=4, n_layers=2, max_seq_len=4096
        )
        cfg.eos_token_id = eos
        model = transformers.MptForCausalLM(cfg)
    elif arch == "bloom":  # ALiBi built from a 2D attention mask
        cfg = transformers.BloomConfig(
            vocab_size=vocab, hidden_size=32, n_head=4, n_layer=2, eos_token_id=eos
        )
        model = transformers.BloomForCausalLM(cfg)
    else:
        classes = {
            "llama": (transformers.LlamaConfig, transformers.LlamaForCausalLM, {}),
            "mistral": (transformers.MistralConfig, transformers.MistralForCausalLM, {}),
            "qwen3": (transformers.Qwen3Config, transformers.Qwen3ForCausalLM, {}),
            "lfm2": (
                transformers.Lfm2Config,
                transformers.Lfm2ForCausalLM,
                {"layer_types": ["conv", "full_attention"], "conv_L_cache": 8},
            ),
        }
        cfg_cls, model_cls, extra = classes[arch]
        cfg = cfg_cls(
            vocab_size=vocab,
            hidden_size=32,
            intermediate_size=64,
            num_hidden_layers=2,
            num_attention_heads=4,
            num_key_value_heads=2,
            max_position_embeddings=4096,
            eos_token_id=eos,
            **extra,
        )
        model = model_cls(cfg)
    model.eval()
    with torch.no_grad():  # decisive, varied greedy picks (random tiny models are flat)
        model.get_output_embeddings().weight.mul_(8.0)
    return model


# -- brute force -----------------------------------------------------------------------------


def brute_answers(
    model, tok, prompt: str, s0: str, s1: str, multiple: int, tail: int = 0
) -> np.ndarray:
    """log P(canonical tokens of prompt + answer) for the 256 answers, each by a full
    pass (candidates of equal token length share a batch, unpadded): of its last
    ``tail`` tokens given the rest, or of all (``tail=0``)."""
    prompt = trim_left(prompt, multiple, extra=8)
    seqs = tok([prompt + a for a in answer_texts(s0, s1)])["input_ids"]
    out = np.zeros(len(seqs))
    for length in {len(x) for x in seqs}:
        rows = [i for i, x in enumerate(seqs) if len(x) == length]
        ids = torch.tensor([seqs[i] for i in rows])
        with torch.inference_mode():
            logp = torch.log_softmax(model(ids).logits[:, :-1].double(), -1)
        out[rows] = logp.gather(-1, ids[:, 1:, None])[:, -tail:, 0].sum(1).numpy()
    return out


def brute_greedy(model, tok, prompt: str, multiple: int) -> list[int]:
    """Greedy decoding, one full pass per new token, stopping after EOS."""
    seq = tok(trim_left(prompt, multiple))["input_ids"]
    out: list[int] = []
    for _ in range(8):
        with torch.inference_mode():
            g = int(model(torch.tensor([seq])).logits[0, -1].argmax())
        out.append(g)
        seq.append(g)
        if g == tok.eos_token_id:
            break
    return out


def spec(**kw):
    return {"name": "tiny", "backend": "hf", "checkpoint": "unused", "encoding": "genomic", **kw}


def run_all(backend, df):
    """The backend over its plan, results back in row order."""
    out = {"text": [None] * len(df), "ids": [None] * len(df)}
    lp, pos, ans = np.zeros(len(df)), np.zeros((len(df), 8)), np.zeros((len(df), 256))
    for rows in backend.plan(df):
        res = backend.run(df.iloc[rows])
        for j, r in enumerate(rows):
            out["text"][r], out["ids"][r] = res.text[j], res.token_ids[j]
        lp[rows], pos[rows], ans[rows] = res.logprob, res.position_logprobs, res.answer_logprobs
    return out, lp, pos, ans


CASES = {
    # name: (architecture, tokenizer, prompt_multiple)
    "lfm2-char": ("lfm2", "char", 1),
    "llama-char": ("llama", "char", 1),
    "gpt2-char": ("gpt2", "char", 1),
    "llama-6mer": ("llama", "6mer", 6),  # as GENERator
    "llama-bpe": ("llama", "bpe", 1),  # as METAGENE-1
    "mistral-bpe": ("mistral", "bpe", 1),  # as GenomeOcean
    "gpt2-bpe": ("gpt2", "bpe", 1),  # as dnagpt
}
TOKENIZERS = {
    "char": lambda: char_tokenizer("ACGT"),
    "6mer": kmer_tokenizer,
    "bpe": dna_bpe_tokenizer,
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_greedy_rank_and_answers_match_brute_force(case):
    arch, tok_name, multiple = CASES[case]
    tok = TOKENIZERS[tok_name]()
    model = tiny(arch, len(tok), seed=len(case), eos=tok.eos_token_id)
    if tok_name == "char":  # favour one letter and EOS: greedy also leaves the tree and stops
        favour = torch.zeros(len(tok))
        favour[tok.convert_tokens_to_ids(["A", tok.eos_token])] = torch.tensor([6.0, 6.5])
        model.get_output_embeddings().register_forward_hook(lambda _m, _a, out: out + favour)
    df = pd_concat([prompt_table(FUNCS, n, 1, GEN, 3) for n in (2, 8)])
    base = {"batch_tokens": 2048, "prompt_multiple": multiple}
    greedy = HFBackend(spec(answers=True, **base), model=model, tokenizer=tok)
    rank = HFBackend(spec(decoding="rank", **base), model=model, tokenizer=tok)
    got, lp, pos, ans = run_all(greedy, df)
    ranked, *_ = run_all(rank, df)
    per_symbol = tok_name == "char"
    same_greedy = same_rank = 0
    for r, row in enumerate(df.itertuples()):
        tail = 8 if per_symbol else 0
        want = brute_answers(model, tok, row.prompt, row.sym0, row.sym1, multiple, tail)
        if per_symbol:  # exact: the same numbers, and the target's path in the tree
            np.testing.assert_allclose(ans[r], want, atol=2e-4)
            np.testing.assert_allclose(pos[r].sum(), lp[r], atol=1e-9)
        else:  # the same distribution up to the prompt's own probability
            shift = ans[r] - want
            assert np.ptp(shift) < 2e-4, case
            assert np.isnan(pos[r]).all()
        assert lp[r] == pytest.approx(ans[r][row.target_bits], abs=1e-9)
        ids = brute_greedy(model, tok, row.prompt, multiple)
        same_greedy += got["ids"][r] == ids
        want_text = tok.decode([i for i in ids if i != tok.eos_token_id])[:8]
        assert got["text"][r] == want_text
        best = answer_texts(row.sym0, row.sym1)[int(np.argmax(want))]
        same_rank += ranked["text"][r] == best
    print(f"{case}: greedy {same_greedy}/{len(df)}, rank {same_rank}/{len(df)} identical")
    assert same_greedy == same_rank == len(df)
    if per_symbol:
        valid = [
            len(t) == 8 and set(t) <= {a, b}
            for t, a, b in zip(got["text"], df.sym0, df.sym1, strict=True)
        ]
        stopped = sum(len(x) < 8 for x in got["ids"])
        print(f"{case}: {sum(valid)} on the tree, {stopped} stopped at EOS")
        # every path of tree_decode taken: on the tree, off it, stopped early
        assert 0 < sum(valid) and 0 < stopped and sum(valid) + stopped < len(df)
    # the answers are a sub-distribution: valid answers never hold more than all mass
    assert (np.exp(ans).sum(1) <= 1 + 1e-6).all()


def test_per_position_logprobs_are_teacher_forcing():
    """Per-position log-probabilities of the target: one teacher-forced pass, position by
    position, on the tree path and on the greedy-only path (``answers: false``)."""
    tok = char_tokenizer("ACGT")
    model = tiny("llama", len(tok), seed=1, eos=tok.eos_token_id)
    df = prompt_table(FUNCS, 4, 2, GEN, 8)
    ids = torch.tensor(tok([p + t for p, t in zip(df.prompt, df.target, strict=True)])["input_ids"])
    with torch.inference_mode():
        logp = torch.log_softmax(model(ids[:, :-1]).logits[:, -8:].double(), -1)
    want = logp.gather(-1, ids[:, -8:, None])[..., 0].numpy()
    for answers in (True, False):
        backend = HFBackend(spec(answers=answers), model=model, tokenizer=tok)
        _, lp, pos, ans = run_all(backend, df)
        np.testing.assert_allclose(pos, want, atol=2e-5)
        np.testing.assert_allclose(lp, want.sum(1), atol=1e-4)
        assert np.isnan(ans).all() != answers


def pd_concat(tables):
    import pandas as pd

    return pd.concat(tables, ignore_index=True)


@pytest.mark.parametrize("arch", ["llama", "gpt2", "mistral", "lfm2"])
def test_shared_tree_is_taken_and_equals_the_row_copy_tree(arch):
    """Attention-only models take the tree over the prompt's shared keys, LFM2 (with a
    convolution state) the row tree with its prompt's attention keys shared; both give
    the row-copy tree's tokens and numbers, and a left-padded batch of prompts of
    different lengths gives each prompt's own."""
    from genomic_icl.models.answers import (
        TreePaths,
        hf_step,
        prompt_keys_step,
        prompt_positions,
        shared_tree_decode,
        tree_decode,
        tree_paths,
    )

    tok = char_tokenizer("ACGT")
    model = tiny(arch, len(tok), seed=3, eos=tok.eos_token_id)
    favour = torch.zeros(len(tok))  # greedy also leaves the tree and stops at EOS
    favour[tok.convert_tokens_to_ids(["A", tok.eos_token])] = torch.tensor([6.0, 6.5])
    model.get_output_embeddings().register_forward_hook(lambda _m, _a, out: out + favour)
    df = pd_concat([prompt_table(FUNCS, n, 1, GEN, 4) for n in (2, 5)])
    shared = HFBackend(spec(answers=True), model=model, tokenizer=tok)
    rows = HFBackend(spec(answers=True), model=model, tokenizer=tok)
    rows._paths = TreePaths()  # the row-copy tree, forced
    got, lp, pos, ans = run_all(shared, df)
    hybrid = arch == "lfm2"
    assert shared.tree_path == ("prompt-keys" if hybrid else "shared")
    assert tree_paths(model) == TreePaths(0, True) if hybrid else not tree_paths(model).prompt_keys
    want, lp_w, pos_w, ans_w = run_all(rows, df)
    assert rows.tree_path == "rows"
    assert got["ids"] == want["ids"]
    np.testing.assert_allclose(ans, ans_w, atol=1e-5)
    np.testing.assert_allclose(pos, pos_w, atol=1e-5)
    np.testing.assert_allclose(lp, lp_w, atol=1e-5)
    # a left-padded batch of prompts of different lengths, against each prompt alone
    ids = tok(df.prompt.tolist())["input_ids"]
    width = max(len(x) for x in ids)
    padded = torch.tensor([[tok.pad_token_id] * (width - len(x)) + x for x in ids])
    mask = torch.tensor([[0] * (width - len(x)) + [1] * len(x) for x in ids])
    sym = torch.tensor(
        [tok.convert_tokens_to_ids([a, b]) for a, b in zip(df.sym0, df.sym1, strict=True)]
    )
    bits = df.target_bits.to_numpy()
    with torch.inference_mode():
        out = model(
            input_ids=padded,
            attention_mask=mask,
            position_ids=prompt_positions(mask),
            use_cache=True,
        )
    eos = [tok.eos_token_id]
    if hybrid:
        step = prompt_keys_step(model, out.past_key_values, mask)
        res = tree_decode(out.logits[:, -1], sym, step, bits, eos)
    else:
        res = shared_tree_decode(
            model, out.past_key_values, out.logits[:, -1], mask, sym, bits, eos
        )
    left = 0
    for r, x in enumerate(ids):
        with torch.inference_mode():
            one = model(input_ids=torch.tensor([x]), use_cache=True)
        alone = tree_decode(
            one.logits[:, -1],
            sym[r : r + 1],
            hf_step(model, one.past_key_values),
            bits[r : r + 1],
            eos,
        )
        assert res.tokens[r] == alone.tokens[0]
        np.testing.assert_allclose(res.answer_logprobs[r], alone.answer_logprobs[0], atol=1e-5)
        np.testing.assert_allclose(res.position_logprobs[r], alone.position_logprobs[0], atol=1e-5)
        s = {tok.convert_tokens_to_ids(df.sym0.iloc[r]), tok.convert_tokens_to_ids(df.sym1.iloc[r])}
        on_tree = len(res.tokens[r]) == 8 and set(res.tokens[r]) <= s
        # padded rows that left the tree (LFM2's: or stopped at EOS): greedy streams
        left += len(x) < width and not on_tree and (hybrid or len(res.tokens[r]) == 8)
    assert len({len(x) for x in ids}) > 1 and left > 0


@pytest.mark.parametrize("arch", ["mpt", "bloom", "qwen3"])
def test_the_tree_is_chosen_by_a_numeric_probe_and_equals_brute_force(arch):
    """The one-pass tree over shared keys is taken only where its probe finds it exact:
    ALiBi models (MPT: biases from the keys' places in the pass, so the tree's nodes are
    mispositioned; Bloom: ALiBi from a 2D mask, which fails on the tree's 4D one) take
    the row-copy tree, Qwen3 the shared one; each equals brute force. The shared tree,
    forced on MPT, is wrong: what the probe guards against."""
    from genomic_icl.models.answers import shared_tree_decode, tree_paths

    tok = char_tokenizer("ACGT")
    model = tiny(arch, len(tok), seed=4, eos=tok.eos_token_id)
    df = prompt_table(FUNCS, 3, 1, GEN, 3)
    backend = HFBackend(spec(answers=True), model=model, tokenizer=tok)
    _, _, _, ans = run_all(backend, df)
    assert backend.tree_path == ("shared" if arch == "qwen3" else "rows")
    assert model._genomic_icl_tree_paths  # the verdict is kept: probed once per model
    for r, row in enumerate(df.itertuples()):
        want = brute_answers(model, tok, row.prompt, row.sym0, row.sym1, 1, 8)
        np.testing.assert_allclose(ans[r], want, atol=2e-4)
    if arch == "mpt":
        ids = torch.tensor(tok(df.prompt.tolist())["input_ids"])
        sym = torch.tensor(
            [tok.convert_tokens_to_ids([a, b]) for a, b in zip(df.sym0, df.sym1, strict=True)]
        )
        with torch.inference_mode():
            out = model(input_ids=ids, use_cache=True)
        forced = shared_tree_decode(
            model,
            out.past_key_values,
            out.logits[:, -1],
            torch.ones_like(ids),
            sym,
            df.target_bits.to_numpy(),
        )
        want = brute_answers(model, tok, df.prompt[0], df.sym0[0], df.sym1[0], 1, 8)
        assert np.abs(forced.answer_logprobs[0] - want).max() > 1e-2
    assert tree_paths(model) is tree_paths(model)


def test_probes_run_in_float32_and_leave_a_bf16_model_as_it_was():
    """A bf16 model is probed in float32 (bf16 rounding would hide a wrong tree) and gets
    the same verdicts as in float32; its parameters and buffers come back bit for bit,
    each in its own dtype."""
    from genomic_icl.models.answers import tree_paths

    tok = char_tokenizer("ACGT")
    for arch, want in [("llama", "shared"), ("mpt", "rows"), ("lfm2", "prompt-keys")]:
        model = tiny(arch, len(tok), seed=5, eos=tok.eos_token_id).to(torch.bfloat16)
        before = {k: v.clone() for k, v in model.state_dict().items()}
        buffers = {k: v.dtype for k, v in model.named_buffers()}
        assert tree_paths(model).path(16) == want, arch
        after = model.state_dict()
        assert all(
            torch.equal(before[k], after[k]) and before[k].dtype == after[k].dtype for k in before
        )
        assert {k: v.dtype for k, v in model.named_buffers()} == buffers
