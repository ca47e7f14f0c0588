"""The ``hf`` backend: any causal language model through transformers.

Qwen3 base models, Llama-style models, genomic causal LMs with a character or
k-mer tokenizer: whatever ``AutoModelForCausalLM`` loads. bfloat16 on CUDA and
float32 on CPU unless ``dtype`` says otherwise; several GPUs through
``device_map="auto"``; local paths and the offline cache (``HF_HUB_OFFLINE=1``)
honoured.

Greedy decoding is exact and fast (:func:`genomic_icl.models.greedy.greedy_kv`).
When every prompt symbol is one token (Qwen3 digits, character tokenizers) the
teacher-forced pass settles all prompts that the model gets right; when the
tokenizer merges symbols (BPE, k-mers) the target's own tokens are teacher-forced
for its log-probability and the continuation is real greedy generation of 8 new
tokens from the cache, cut to 8 characters.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from genomic_icl.models.base import N_TARGET, Backend, BackendError, Continuations
from genomic_icl.models.util import (
    expand,
    fetch_hint,
    hf_offline,
    looks_like_path,
    resolve_device,
    resolve_dtype,
    token_batches,
)
from genomic_icl.workflow import hub_cache

if TYPE_CHECKING:  # numpy imported where used: planning imports this module without it
    import numpy as np

WEIGHT_FILES = (
    "model.safetensors",
    "model.safetensors.index.json",
    "pytorch_model.bin",
    "pytorch_model.bin.index.json",
)


class HFBackend(Backend):
    name = "hf"
    software_step = "hf"

    # -- checks -----------------------------------------------------------------
    @classmethod
    def preflight(cls, spec: dict[str, Any]) -> None:
        ckpt = spec.get("checkpoint")
        if not ckpt:
            raise BackendError(
                f"model {spec.get('name')!r}: `checkpoint:` (hub id or local path) is required"
            )
        if ckpt.startswith("pretrained:"):
            return  # produced by the workflow's pretraining step
        if looks_like_path(ckpt):
            path = expand(ckpt)
            if not path.exists():
                raise BackendError(f"model {spec['name']!r}: checkpoint path {ckpt} does not exist")
            if path.is_dir() and not (path / "config.json").is_file():
                raise BackendError(
                    f"model {spec['name']!r}: {ckpt} holds no config.json "
                    "(expected a directory written by save_pretrained)"
                )
            return
        if hf_offline():
            from huggingface_hub import try_to_load_from_cache

            rev = spec.get("revision")
            found = [
                f
                for f in ("config.json", *WEIGHT_FILES)
                if isinstance(
                    try_to_load_from_cache(ckpt, f, revision=rev, cache_dir=hub_cache()), str
                )
            ]
            if "config.json" not in found or len(found) < 2:
                raise BackendError(
                    f"model {spec['name']!r}: {ckpt} is not in the local Hugging Face cache "
                    f"and the hub is offline (HF_HUB_OFFLINE/TRANSFORMERS_OFFLINE); "
                    + fetch_hint(ckpt, rev)
                )

    @classmethod
    def check_environment(cls, spec: dict[str, Any]) -> None:
        import torch
        import transformers
        from transformers.utils import is_torch_available

        # transformers switches torch off (with only a log line) when torch is older
        # than it supports; loading would then fail far from the cause.
        if not is_torch_available():
            raise BackendError(
                f"model {spec.get('name')!r}: transformers {transformers.__version__} does "
                f"not work with the installed torch {torch.__version__}; install versions "
                "that fit, e.g. `pip install -U 'transformers[torch]'`"
            )
        resolve_device(spec.get("device", "auto"))

    # -- loading ------------------------------------------------------------------
    def __init__(self, spec: dict[str, Any], seed: int = 0, *, model=None, tokenizer=None) -> None:
        super().__init__(spec, seed)
        import torch

        if model is None or tokenizer is None:
            from transformers import AutoModelForCausalLM, AutoTokenizer

            ckpt = spec["checkpoint"]
            if ckpt.startswith("pretrained:"):
                raise BackendError(f"model {spec['name']!r}: {ckpt} was not resolved to a path")
            if looks_like_path(ckpt):
                ckpt = str(expand(ckpt))
            device = resolve_device(spec.get("device", "auto"))
            dtype = resolve_dtype(spec.get("dtype", "auto"), device)
            common = {
                "revision": spec.get("revision"),
                "trust_remote_code": bool(spec.get("trust_remote_code", False)),
                "local_files_only": hf_offline(),
            }
            tokenizer = AutoTokenizer.from_pretrained(ckpt, **common)
            if device == "cuda" and torch.cuda.device_count() > 1:
                placement = {"device_map": "auto"}
            else:
                placement = {"device_map": {"": device}} if device.startswith("cuda") else {}
            model = AutoModelForCausalLM.from_pretrained(ckpt, dtype=dtype, **placement, **common)
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.device = self.model.get_input_embeddings().weight.device
        eos = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
        if eos is None:
            eos = tokenizer.eos_token_id
        self.eos_ids = [] if eos is None else ([eos] if isinstance(eos, int) else list(eos))
        import inspect

        self._keep = "logits_to_keep" in inspect.signature(self.model.forward).parameters
        from genomic_icl.models.greedy import greedy_kv, greedy_stepwise, rows_only_cache

        # LFM2's convolution cache cannot be cropped: decode both branches from one pass
        self._greedy = greedy_stepwise if rows_only_cache(self.model) else greedy_kv
        self.batch_tokens = int(spec.get("batch_tokens", 65536))
        self.max_rows = spec.get("batch_size")
        self.decoding = spec.get("decoding", "greedy")
        self.answers = bool(spec.get("answers", False)) or self.decoding == "rank"
        self.multiple = int(spec.get("prompt_multiple", 1))
        from genomic_icl.models.answers import TreePaths, tree_paths

        #: which answer tree the model takes, per prompt length
        self._paths = tree_paths(self.model) if self.answers else TreePaths()
        #: the last batch's tree: "shared", "prompt-keys" or "rows"
        self.tree_path: str | None = None

    def describe(self) -> str:
        n = sum(p.numel() for p in self.model.parameters())
        ckpt = self.spec.get("checkpoint")
        return f"hf {ckpt} ({n / 1e6:.1f}M params, {self.model.dtype}, {self.device})"

    # -- work -----------------------------------------------------------------------
    def encode(
        self, prompts: list[str], targets: list[str]
    ) -> tuple[list[list[int]], list[list[int]]]:
        """Token ids of prompts (with the tokenizer's special tokens, as a user of
        ``generate`` would encode them) and of targets (alone, no special tokens)."""
        from genomic_icl.models.answers import trim_left

        p = self.tokenizer([trim_left(x, self.multiple) for x in prompts])["input_ids"]
        t = self.tokenizer(targets, add_special_tokens=False)["input_ids"]
        return p, t

    def plan(self, prompts) -> list[np.ndarray]:
        import numpy as np

        p, t = self.encode(prompts["prompt"].tolist(), prompts["target"].tolist())
        plen = np.array([len(x) for x in p])
        tlen = np.array([len(x) for x in t])
        self.check_tokens(prompts, p, plen + tlen)
        return token_batches(plen * 4096 + tlen, plen + tlen, self.batch_tokens, self.max_rows)

    def check_tokens(self, prompts, prompt_ids: list[list[int]], lengths: np.ndarray) -> None:
        """Refuse prompts that this model cannot read (planning checks the same where
        it finds the tokenizer and config without loading them): a symbol its tokenizer
        maps to the unknown token, or a prompt and answer longer than its context."""
        name = self.spec.get("name")
        unk = self.tokenizer.unk_token_id
        if unk is not None and any(unk in ids for ids in prompt_ids):
            symbols = sorted(set("".join(prompts["prompt"])))
            bad = [
                s
                for s in symbols
                if unk in self.tokenizer(s, add_special_tokens=False)["input_ids"]
            ]
            raise BackendError(
                f"model {name!r}: its tokenizer reads prompt symbols {''.join(bad)!r} as its "
                "unknown token; use an encoding whose symbols it knows"
            )
        context = getattr(self.model.config, "max_position_embeddings", None)
        if isinstance(context, int) and len(lengths) and int(lengths.max()) > context:
            raise BackendError(
                f"model {name!r}: the longest prompt and its answer take {int(lengths.max())} "
                f"tokens, more than its context ({context}, max_position_embeddings); "
                "lower `shots` or use a model with a longer context"
            )

    def run(self, batch) -> Continuations:
        import numpy as np
        import torch

        prompts, targets = batch["prompt"].tolist(), batch["target"].tolist()
        p, t = self.encode(prompts, targets)
        if len({len(x) for x in p}) != 1 or len({len(x) for x in t}) != 1:
            raise ValueError("a batch must hold prompts and targets of one token length each")
        prompt_ids = torch.tensor(p, dtype=torch.long, device=self.device)
        sym = self.symbol_ids(batch, p, t)
        answers = positions = None
        if sym is not None and self.answers:
            from genomic_icl.models.answers import concat_results, shared_chunks, tree_chunks

            bits = batch["target_bits"].to_numpy()
            length = prompt_ids.shape[1]
            path = self._paths.path(length)
            chunks = (tree_chunks if path == "rows" else shared_chunks)(
                len(batch), length, self.batch_tokens
            )
            self.tree_path = path
            res = concat_results([self._tree(prompt_ids[c], sym[c], bits[c], path) for c in chunks])
            tokens, logprob = res.tokens, res.logprob
            positions, answers = res.position_logprobs, res.answer_logprobs
        else:
            target_ids = torch.tensor(t, dtype=torch.long, device=self.device)
            tokens, per_token = self._greedy(
                self.model, prompt_ids, target_ids, N_TARGET, self.eos_ids, self._keep
            )
            logprob = per_token.sum(1)
            if sym is not None:  # one token per symbol: the tokens are the positions
                positions = per_token
            if self.answers:
                from genomic_icl.models.answers import segmented_answers

                answers = segmented_answers(
                    self.model,
                    self.tokenizer,
                    prompts,
                    batch["sym0"].tolist(),
                    batch["sym1"].tolist(),
                    self.device,
                    self.batch_tokens,
                    self.multiple,
                )
                # one definition for both: the canonical tokenization of prompt + target
                logprob = answers[np.arange(len(batch)), batch["target_bits"].to_numpy()]
        text = [self.detokenize(x) for x in tokens]
        if self.decoding == "rank":
            from genomic_icl.models.answers import rank_answers

            text = rank_answers(answers, batch["sym0"], batch["sym1"])
        return Continuations(text, logprob, tokens, positions, answers)

    def symbol_ids(self, batch, prompt_ids: list[list[int]], target_ids: list[list[int]]):
        """(B, 2) LongTensor of each row's ``sym0`` and ``sym1`` token ids when every
        symbol is one token and appending symbols to the prompt appends their tokens
        (checked on the target and on ``sym0`` x 8 and ``sym1`` x 8 after each prompt:
        a tokenizer that merges across the prompt's end fails it); else None."""
        import torch

        tok = self.tokenizer
        s0, s1 = batch["sym0"].tolist(), batch["sym1"].tolist()
        one = tok(s0 + s1, add_special_tokens=False)["input_ids"]
        if any(len(x) != 1 for x in one):
            return None
        ids = {c: x[0] for c, x in zip(s0 + s1, one, strict=True)}
        targets = batch["target"].tolist()
        if any([ids.get(c) for c in x] != y for x, y in zip(targets, target_ids, strict=True)):
            return None
        if self.multiple > 1:
            return None
        prompts = batch["prompt"].tolist()
        runs = tok([pr + a * N_TARGET for pr, a in zip(prompts * 2, s0 + s1, strict=True)])
        for j, got in enumerate(runs["input_ids"]):
            row = j % len(prompts)
            if got != prompt_ids[row] + [ids[(s0 + s1)[j]]] * N_TARGET:
                return None
        pairs = [[ids[a], ids[b]] for a, b in zip(s0, s1, strict=True)]
        return torch.tensor(pairs, dtype=torch.long, device=self.device)

    def _tree(self, prompt_ids, sym, targets: np.ndarray, path: str):
        """The answer tree from one pass over the prompts, by ``path``
        (:class:`genomic_icl.models.answers.TreePaths`): over their shared keys
        (:func:`genomic_icl.models.answers.shared_tree_decode`), row by row with their
        attention keys shared (:func:`genomic_icl.models.answers.prompt_keys_step`) or
        on copies of their state (:func:`genomic_icl.models.answers.tree_decode`)."""
        import torch

        from genomic_icl.models.answers import (
            hf_step,
            prompt_keys_step,
            shared_tree_decode,
            tree_decode,
        )

        kw = {"logits_to_keep": 1} if self._keep else {}
        with torch.inference_mode():
            out = self.model(input_ids=prompt_ids, use_cache=True, **kw)
        last, cache = out.logits[:, -1, :], out.past_key_values
        del out
        mask = torch.ones_like(prompt_ids)
        if path == "shared":
            return shared_tree_decode(self.model, cache, last, mask, sym, targets, self.eos_ids)
        step = prompt_keys_step(self.model, cache, mask) if path == "prompt-keys" else None
        step = step or hf_step(self.model, cache)
        return tree_decode(last, sym, step, targets, self.eos_ids)

    def logits(self, ids, keep: int = 1):
        import torch

        kw = {"logits_to_keep": keep} if self._keep else {}
        with torch.inference_mode():
            # use_cache=True: transformers' forward is the faster one with it (CPU: 3x)
            out = self.model(input_ids=ids, use_cache=True, **kw)
        return out.logits[:, -keep:]

    def baseline_greedy(self, prompt: str, steps: int = N_TARGET) -> list[int]:
        import torch

        tok = self.tokenizer
        x = tok(prompt, return_tensors="pt").to(self.device)
        with torch.inference_mode():
            out = self.model.generate(
                **x, do_sample=False, max_new_tokens=steps, pad_token_id=tok.pad_token_id
            )
        return out[0, x["input_ids"].shape[1] :].tolist()

    def detokenize(self, ids: list[int]) -> str:
        """Text of greedy tokens, stopping before an EOS, cut to 8 characters."""
        for i, tok in enumerate(ids):
            if tok in self.eos_ids:
                ids = ids[:i]
                break
        return self.tokenizer.decode(ids, skip_special_tokens=False)[:N_TARGET]

    def after_out_of_memory(self) -> None:
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()

    def close(self) -> None:
        self.model = None
        self.after_out_of_memory()
