"""The ``evo2`` backend: Evo 2 and other StripedHyena 2 models through ``evo2``/``vortex``.

``checkpoint:`` is one of the packaged Evo 2 model names (``evo2_1b_base``,
``evo2_7b``, ``evo2_40b``, ...), its hub id (``arcinstitute/evo2_7b``,
``evo-design/evo-2-7b-8k-microviridae``), or a local ``<name>.pt`` file: these load
through ``evo2.Evo2`` with the architecture config the ``evo2`` package ships. A
checkpoint of any other StripedHyena 2 model (a fine-tuned Evo 2, a smaller model
you trained) is a local ``.pt`` file plus ``config:``, the vortex YAML config of its
architecture; it loads through vortex's own ``StripedHyena`` and ``load_checkpoint``
(the same steps ``evo2.Evo2`` takes: Wqkv permutation, bf16 except poles/residues).

Evo 2 reads bytes: one token per character (``ord``), so every genomic prompt with
the same n has the same length and a batch needs no padding.

Greedy decoding (:func:`cached_greedy`) uses vortex's inference state: one prefill
of each batch's prompts, then at most 7 single-token steps. Each row's target is fed
while the greedy output agrees with it, which gives log P(target | prompt) and the
greedy tokens in the same steps; a row whose greedy output leaves the target is
branched (its state copied) and continued on its own tokens. The tokens are those of
step-by-step greedy decoding; vortex's recurrent steps round differently from its
FFT prefill, so in bf16 a near-tie can flip (the tests compare in fp32).

Only this module imports ``evo2``/``vortex``, and only when a model is loaded.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import io
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from genomic_icl.models.answers import (
    TreeResult,
    concat_results,
    rank_answers,
    tree_chunks,
    tree_decode,
)
from genomic_icl.models.base import (
    N_TARGET,
    Backend,
    BackendError,
    Continuations,
    expand,
    fetch_hint,
    hf_offline,
    hub_cache,
    looks_like_path,
    token_batches,
)

if TYPE_CHECKING:  # numpy imported where used: planning imports this module without it
    import numpy as np

#: The Evo 2 checkpoints of ``evo2`` 0.6.0: name -> (hub repository, packaged config).
#: Mirrors ``evo2.utils.HF_MODEL_NAME_MAP`` and ``CONFIG_MAP`` (a test checks it).
PACKAGED: dict[str, tuple[str, str]] = {
    "evo2_40b": ("arcinstitute/evo2_40b", "configs/evo2-40b-1m.yml"),
    "evo2_7b": ("arcinstitute/evo2_7b", "configs/evo2-7b-1m.yml"),
    "evo2_20b": ("arcinstitute/evo2_20b", "configs/evo2-20b-1m.yml"),
    "evo2_40b_base": ("arcinstitute/evo2_40b_base", "configs/evo2-40b-8k.yml"),
    "evo2_7b_base": ("arcinstitute/evo2_7b_base", "configs/evo2-7b-8k.yml"),
    "evo2_1b_base": ("arcinstitute/evo2_1b_base", "configs/evo2-1b-8k.yml"),
    "evo2_7b_262k": ("arcinstitute/evo2_7b_262k", "configs/evo2-7b-262k.yml"),
    "evo2_7b_microviridae": ("evo-design/evo-2-7b-8k-microviridae", "configs/evo2-7b-8k.yml"),
}
MODEL_NAMES = tuple(PACKAGED)
#: FP8 input projections need a GPU of at least this compute capability (Ada, Hopper).
FP8_MIN_CAPABILITY = (8, 9)
#: Keys a vortex config must have (what StripedHyena reads without a default).
CONFIG_KEYS = (
    "vocab_size",
    "hidden_size",
    "num_filters",
    "num_layers",
    "num_attention_heads",
    "attn_layer_idxs",
    "hcl_layer_idxs",
    "hcm_layer_idxs",
    "hcs_layer_idxs",
    "hcm_filter_length",
    "hcs_filter_length",
    "hcl_filter_groups",
    "hcm_filter_groups",
    "hcs_filter_groups",
    "short_filter_length",
    "state_size",
    "use_flash_attn",
)
#: Alphabet of the packaged Evo 2 models: they were trained on DNA.
NUCLEOTIDES = frozenset("ACGTNacgtn")
INSTALL_HINT = (
    "install the optional extra on a CUDA machine, `pip install 'genomic-icl[evo2]'` "
    "plus flash-attn (`pip install flash-attn --no-build-isolation`), or run the job in "
    "the Evo 2 image built from containers/evo2.def (`resources.container`)"
)


def model_name(checkpoint: str) -> str:
    """The Evo 2 model name a checkpoint stands for (name, hub id or ``<name>.pt`` path)."""
    if looks_like_path(checkpoint):
        name = Path(checkpoint).name
        for suffix in (".pt", ".pth"):
            name = name.removesuffix(suffix)
        return name
    for name, (repo, _) in PACKAGED.items():
        if checkpoint == repo:
            return name
    return checkpoint


def hub_repo_of(checkpoint: str) -> str | None:
    """The hub repository of a packaged model's name or hub id (``evo2_7b`` ->
    ``arcinstitute/evo2_7b``, ``evo2_7b_microviridae`` -> ``evo-design/...``); the
    checkpoint itself for another hub id; ``None`` for a local file."""
    if looks_like_path(checkpoint):
        return None
    name = model_name(checkpoint)
    return PACKAGED[name][0] if name in PACKAGED else checkpoint


def tokenize(texts: list[str]) -> list[list[int]]:
    """Evo 2's byte-level tokens: one per character (``ord``; ASCII prompts)."""
    return [list(t.encode("utf-8")) for t in texts]


def detokenize(ids: list[int]) -> str:
    """Characters of byte tokens; ids outside printable ASCII become U+FFFD, so
    they never pass for a nucleotide."""
    return "".join(chr(i) if 32 <= i < 127 else "\ufffd" for i in ids)


def merged_weights_path(name: str) -> Path:
    """Where the evo2 package keeps a merged checkpoint (beside the hub cache)."""
    return hub_cache().parent / f"{name}.pt"


def writable(folder: Path) -> bool:
    """Whether this process may create files in ``folder``."""
    return os.access(folder, os.W_OK)


def cached_shards(name: str) -> list[Path]:
    """The ``<name>.pt.partN`` shards of a packaged model in the hub cache, in order
    (none when the cache holds the whole ``<name>.pt`` or nothing)."""
    from huggingface_hub import try_to_load_from_cache

    repo = PACKAGED[name][0]
    if isinstance(try_to_load_from_cache(repo, f"{name}.pt", cache_dir=hub_cache()), str):
        return []
    shards = []
    while isinstance(
        part := try_to_load_from_cache(repo, f"{name}.pt.part{len(shards)}", cache_dir=hub_cache()),
        str,
    ):
        shards.append(Path(part))
    return shards


def check_merge(label: str, name: str) -> None:
    """evo2's loader joins the hub's ``.pt.partN`` shards into ``<HF_HOME>/<name>.pt``
    on first use (and deletes the shards): in a cache the job may not write (a core
    facility's shared, read-only cache) that fails. Refuse at planning, with the one
    command that merges them, for whoever may write there, on a login node."""
    merged = merged_weights_path(name)
    shards = cached_shards(name)
    if not shards or writable(merged.parent):
        return
    raise BackendError(
        f"{label}: the model cache {merged.parent} holds {name}'s {len(shards)} weight "
        f"shards but not the merged {merged.name}, and this account cannot write there "
        "(evo2 merges them on first use). Merge them once, on a login node, as the "
        f"cache's owner: cat {shards[0].parent}/{name}.pt.part{{0..{len(shards) - 1}}} "
        f"> {merged}"
    )


def read_config(path: str | os.PathLike, model: str = "?") -> dict[str, Any]:
    """A vortex YAML config, checked for the keys StripedHyena needs and for layer
    indices that cover every block once; :class:`BackendError` names what is wrong."""
    import yaml

    where = f"model {model!r}: config {path}"
    try:
        config = yaml.safe_load(expand(str(path)).read_text())
    except OSError as err:
        raise BackendError(f"{where} cannot be read ({err.strerror})") from None
    except yaml.YAMLError as err:
        raise BackendError(f"{where} is not valid YAML: {err}") from None
    if not isinstance(config, dict):
        raise BackendError(f"{where} must be a mapping of vortex config keys")
    missing = [k for k in CONFIG_KEYS if k not in config]
    if missing:
        raise BackendError(f"{where} lacks {', '.join(missing)} (see evo2's packaged configs)")
    layers = sorted(
        i for kind in ("attn", "hcl", "hcm", "hcs") for i in config[f"{kind}_layer_idxs"]
    )
    if layers != list(range(int(config["num_layers"]))):
        raise BackendError(
            f"{where}: attn/hcl/hcm/hcs_layer_idxs must name each of the "
            f"{config['num_layers']} blocks exactly once (num_layers)"
        )
    if int(config["vocab_size"]) < 128:
        raise BackendError(f"{where}: vocab_size {config['vocab_size']} < 128 (byte tokens)")
    return config


def uses_fp8(spec: dict[str, Any]) -> bool:
    """Whether the model's config asks for FP8 input projections (Transformer Engine)."""
    if spec.get("config"):
        return bool(
            read_config(spec["config"], spec.get("name", "?")).get(
                "use_fp8_input_projections", False
            )
        )
    return True  # every config packaged with evo2 0.6.0 sets use_fp8_input_projections


class Evo2Backend(Backend):
    name = "evo2"

    @classmethod
    def hub_repo(cls, spec: dict[str, Any]) -> str | None:
        return hub_repo_of(str(spec.get("checkpoint") or ""))

    # -- checks -----------------------------------------------------------------
    @classmethod
    def preflight(cls, spec: dict[str, Any]) -> None:
        ckpt = spec.get("checkpoint") or ""
        label = f"model {spec.get('name')!r}"
        if spec.get("dtype", "auto") == "float16":
            raise BackendError(f"{label}: dtype float16 is not supported by vortex; use auto")
        if spec.get("config"):
            read_config(spec["config"], spec.get("name", "?"))
            if not looks_like_path(ckpt) or not expand(ckpt).is_file():
                raise BackendError(
                    f"{label}: with `config:` the checkpoint must be a local .pt file of "
                    f"that architecture; {ckpt!r} is not a file"
                )
            return
        name = model_name(ckpt)
        if name not in PACKAGED:
            raise BackendError(
                f"{label}: unknown Evo 2 model {ckpt!r}; known: {', '.join(MODEL_NAMES)} "
                "(a local checkpoint must be named <model>.pt; a checkpoint of another "
                "StripedHyena 2 architecture needs `config:`, its vortex YAML config)"
            )
        if looks_like_path(ckpt):
            if not expand(ckpt).is_file():
                raise BackendError(f"{label}: checkpoint path {ckpt} does not exist")
            return
        if not merged_weights_path(name).is_file():
            check_merge(label, name)
        if hf_offline() and not merged_weights_path(name).is_file():
            from huggingface_hub import try_to_load_from_cache

            repo = PACKAGED[name][0]
            if not any(
                isinstance(try_to_load_from_cache(repo, f, cache_dir=hub_cache()), str)
                for f in (f"{name}.pt", f"{name}.pt.part0")
            ):
                raise BackendError(
                    f"{label}: Evo 2 weights {repo} are not in the local cache "
                    "and the hub is offline (HF_HUB_OFFLINE/TRANSFORMERS_OFFLINE); "
                    + fetch_hint(repo)
                )

    @classmethod
    def check_alphabet(cls, spec: dict[str, Any], alphabet: str) -> None:
        label = f"model {spec.get('name')!r} (encoding {spec.get('encoding')!r})"
        if any(ord(ch) > 126 or ord(ch) < 32 for ch in alphabet):
            raise BackendError(
                f"{label}: Evo 2 reads one byte per symbol; alphabet {alphabet!r} has "
                "symbols outside printable ASCII"
            )
        if not spec.get("config") and not set(alphabet) <= NUCLEOTIDES:
            raise BackendError(
                f"{label}: the packaged Evo 2 models read DNA; alphabet {alphabet!r} has "
                f"symbols other than {''.join(sorted(NUCLEOTIDES))} (use a genomic encoding)"
            )

    @classmethod
    def check_environment(cls, spec: dict[str, Any]) -> None:
        label = f"model {spec.get('name')!r}"
        needed = "vortex" if spec.get("config") else "evo2"
        if importlib.util.find_spec(needed) is None:
            raise BackendError(f"{label}: the `{needed}` package is not installed; {INSTALL_HINT}")
        import torch

        device = spec.get("device", "auto")
        cuda = torch.cuda.is_available()
        if device == "cpu" and cuda:
            raise BackendError(
                f"{label}: device 'cpu' asked for, but vortex places the layers on every "
                "visible GPU; hide them (CUDA_VISIBLE_DEVICES='') or use device 'auto'"
            )
        if device != "cpu" and not cuda:
            raise BackendError(
                f"{label}: Evo 2 needs a CUDA GPU and none is visible (torch "
                f"{torch.__version__}, CUDA build: {torch.version.cuda}). Run the job on a GPU "
                "partition with `resources: {gpu: N}`, pass --nv to Apptainer "
                "(--apptainer-args '--nv'), check the driver with nvidia-smi; `device: cpu` "
                "runs small StripedHyena models on a CPU"
            )
        # vortex imports flash-attn's CUDA extension and a Triton kernel on import
        # (vortex/ops); a test or CPU setup may register a stand-in for that module
        if "vortex.ops.embedding.rotary" not in sys.modules:
            for module, what in (("flash_attn_2_cuda", "flash-attn"), ("triton", "triton")):
                if importlib.util.find_spec(module) is None:
                    raise BackendError(
                        f"{label}: vortex needs {what} (module `{module}`), which is not "
                        f"installed; {INSTALL_HINT}"
                    )
        caps = (
            [torch.cuda.get_device_capability(i) for i in range(torch.cuda.device_count())]
            if cuda
            else []
        )
        check_fp8(spec, caps, importlib.util.find_spec("transformer_engine") is not None)

    # -- loading ------------------------------------------------------------------
    def __init__(self, spec: dict[str, Any], seed: int = 0, *, model=None) -> None:
        """Load the entry's model, or use ``model`` (a vortex ``StripedHyena`` built by
        the caller, e.g. with random weights for a benchmark)."""
        super().__init__(spec, seed)
        import torch

        quiet_vortex_logs()
        self.model = load_model(spec) if model is None else model
        if spec.get("dtype", "auto") == "float32":
            self.model = self.model.float()
        self.model.eval()
        lean_prefill(self.model)
        self._fp8_states = fp8_states(self.model)
        params = next(iter(self.model.parameters()), None)
        self.device = params.device if params is not None else torch.device("cpu")
        self.batch_tokens = int(spec.get("batch_tokens", 65536))
        self.max_rows = spec.get("batch_size")
        self.decoding = spec.get("decoding", "greedy")
        self.answers = bool(spec.get("answers", False)) or self.decoding == "rank"

    def describe(self) -> str:
        return f"evo2 {self.spec.get('checkpoint')} on {self.device}"

    # -- work -----------------------------------------------------------------------
    def plan(self, prompts) -> list[np.ndarray]:
        size = prompts["prompt"].str.len().to_numpy() + prompts["target"].str.len().to_numpy()
        return token_batches(size, size, self.batch_tokens, self.max_rows)

    def run(self, batch) -> Continuations:
        import torch

        prompt_ids = torch.tensor(tokenize(batch["prompt"].tolist()), device=self.device)
        restore_fp8_states(self.model, self._fp8_states)
        if not self.answers:
            target_ids = torch.tensor(tokenize(batch["target"].tolist()), device=self.device)
            tokens, positions = cached_greedy(self.model, prompt_ids, target_ids)
            texts = [detokenize(x)[:N_TARGET] for x in tokens]
            return Continuations(texts, positions.sum(1), tokens, positions)
        sym = torch.tensor(
            tokenize([a + b for a, b in zip(batch["sym0"], batch["sym1"], strict=True)]),
            device=self.device,
        )
        targets = batch["target_bits"].to_numpy()
        res = concat_results(
            [
                tree_answers(self.model, prompt_ids[c], sym[c], targets[c])
                for c in tree_chunks(len(batch), prompt_ids.shape[1], self.batch_tokens)
            ]
        )
        texts = [detokenize(x)[:N_TARGET] for x in res.tokens]
        if self.decoding == "rank":
            texts = rank_answers(res.answer_logprobs, batch["sym0"], batch["sym1"])
        return Continuations(
            texts, res.logprob, res.tokens, res.position_logprobs, res.answer_logprobs
        )

    def after_out_of_memory(self) -> None:
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()


def fp8_states(model) -> dict[str, Any]:
    """The FP8 scaling state of every Transformer Engine layer of the model, as loaded.

    vortex runs its FP8 input projections (``TELinear``, vtx 1.1 layers.py) under
    ``DelayedScaling(amax_history_len=16, amax_compute_algo="max")``: each call's
    scale comes from the largest input seen in the layer's last 16 calls, so a
    batch's outputs would depend on the batches before it, and a job resumed after a
    kill (which starts from the loaded state) would not give the bytes of an
    uninterrupted run. :func:`restore_fp8_states` before every batch makes each batch
    depend on its own prompts only; batches are fixed by the plan, so resumption is
    exact. (Per-call "current" scaling would do the same, but the recipe is fixed in
    vortex's layer and the released models were calibrated with delayed scaling.)
    Transformer Engine keeps this state in ``fp8_meta`` and serialises it through
    ``get_extra_state``/``set_extra_state``, as checkpoints store it."""
    return {
        name: module.get_extra_state()
        for name, module in model.named_modules()
        if getattr(module, "use_fp8_input_projections", False) and hasattr(module, "fp8_meta")
    }


def restore_fp8_states(model, states: dict[str, Any]) -> None:
    """Put back the FP8 scaling state :func:`fp8_states` took (nothing without FP8)."""
    if not states:
        return
    modules = dict(model.named_modules())
    for name, state in states.items():
        module = modules[name]
        if state is not None and getattr(state, "numel", lambda: 1)() > 0:
            module.set_extra_state(state)
            continue
        # loaded without FP8 state (set_extra_state ignores an empty one): the state
        # Transformer Engine starts from, scale 1 and an empty amax history
        for meta in module.fp8_meta.values():
            if hasattr(meta, "amax_history") and hasattr(meta, "scale"):
                meta.amax_history.zero_()
                meta.scale.fill_(1.0)


def quiet_vortex_logs() -> None:
    """Keep vortex's and evo2's loggers to warnings (they log every block at INFO)."""
    for name in ("StripedHyena", "vortex", "evo2"):
        logging.getLogger(name).setLevel(logging.WARNING)


def load_model(spec: dict[str, Any]):
    """The vortex StripedHyena of a model entry: a packaged Evo 2 model through
    ``evo2.Evo2`` (hub download and shard merge included), or a ``config:`` model
    through vortex's ``StripedHyena`` and ``load_checkpoint``."""
    ckpt = spec["checkpoint"]
    if not spec.get("config"):
        from evo2 import Evo2

        local = str(expand(ckpt)) if looks_like_path(ckpt) else None
        with contextlib.redirect_stdout(sys.stderr):
            return Evo2(model_name(ckpt), local_path=local).model
    from vortex.model.model import StripedHyena
    from vortex.model.utils import dotdict, load_checkpoint

    model = StripedHyena(dotdict(read_config(spec["config"], spec["name"])))
    with contextlib.redirect_stdout(sys.stderr):
        load_checkpoint(model, str(expand(ckpt)))
    return model


def lean_prefill(model) -> int:
    """Make vortex's cached prefill cost about one forward pass, on this model instance
    only (vtx 1.1; same arithmetic up to rounding). Returns the number of layers changed.

    * Attention without flash attention (``use_flash_attn: false``, e.g. on a CPU): the
      cached path's ``CrossAttention`` materialises the (L x L) scores in eager
      einsum/masked_fill/softmax; it gets torch's fused ``scaled_dot_product_attention``
      (the plain forward pass's ``SelfAttention`` already uses it).
    * Long (IIR) Hyena layers: vortex computes the recurrent state after the prompt by
      an inverse FFT over (batch, width, state, 2L) complex values, all but one column
      of which it drops (18 GB for 8 prompts of 2,200 bp on Evo 2 7B). The state is
      sum_tau x1v[tau] * exp(pole * (L - 1 - tau)): one batched matrix product.
    """
    import torch
    from vortex.model.attention import CrossAttention
    from vortex.model.engine import HyenaInferenceEngine

    changed = 0
    for module in list(model.modules()):
        inner = getattr(module, "inner_cross_attn", None)
        if type(inner) is CrossAttention:
            sdpa = torch.nn.Module()
            sdpa.forward = functools.partial(
                _sdpa_cross_attention, inner.causal, inner.softmax_scale
            )
            module.inner_cross_attn = sdpa
            changed += 1
        engine = getattr(module, "engine", None)
        if isinstance(engine, HyenaInferenceEngine):
            engine.prefill_via_modal_fft = _modal_state
            changed += 1
    return changed


def _modal_state(inference_params, x1v, L, poles, t, dims, layer_idx, **_: Any) -> None:
    """The IIR state after L steps, as vortex's ``prefill_via_modal_fft`` stores it:
    x1v (B, D, L), poles = log-poles (G, S, 1), t = arange(L) (1, 1, L)."""
    import torch

    hidden_size, _, _, _, groups = dims
    decay = (poles.float() * t[..., :L].flip(-1).float()).exp()  # (G, S, L)
    if groups > 1:
        decay = decay.repeat_interleave(hidden_size // groups, 0)  # (D, S, L)
    inference_params.state_dict[layer_idx] = torch.einsum("bdl,dsl->bds", x1v.float(), decay)


def _sdpa_cross_attention(default_causal, softmax_scale, q, kv, causal=None, key_padding_mask=None):
    """vortex ``CrossAttention.forward(q, kv)`` through ``scaled_dot_product_attention``:
    q (B, Sq, H, D), kv (B, Sk, 2, Hk, D); causal with the queries at the end of the keys."""
    import torch
    from torch.nn.functional import scaled_dot_product_attention

    if key_padding_mask is not None:
        raise NotImplementedError("padded batches are not used by this backend")
    causal = default_causal if causal is None else causal
    k, v = kv.unbind(dim=2)
    if k.shape[2] != q.shape[2]:  # grouped-query attention
        k = k.repeat_interleave(q.shape[2] // k.shape[2], dim=2)
        v = v.repeat_interleave(q.shape[2] // v.shape[2], dim=2)
    sq, sk = q.shape[1], k.shape[1]
    mask = None
    if causal and 1 < sq < sk:
        rows = torch.arange(sq, device=q.device)[:, None] + (sk - sq)
        mask = torch.arange(sk, device=q.device)[None, :] <= rows
    out = scaled_dot_product_attention(
        q.transpose(1, 2),
        k.transpose(1, 2),
        v.transpose(1, 2),
        attn_mask=mask,
        is_causal=causal and sq == sk > 1,
        scale=softmax_scale,
    )
    return out.transpose(1, 2)


def _take_rows(state: dict[str, Any], index) -> None:
    """Keep (and repeat) rows ``index`` of every tensor in vortex's inference state,
    in place: the attention KV cache and the Hyena FIR/IIR states all have the batch
    as their first dimension."""
    width = None
    for params in state.values():
        for attr in (
            "key_value_memory_dict",
            "fir_state_dict",
            "fir_inner_state_dict",
            "state_dict",
        ):
            tensors = getattr(params, attr, None) or {}
            for key, value in tensors.items():
                if width is None:
                    width = value.shape[0]
                if value.shape[0] != width:
                    raise BackendError(
                        f"vortex inference state {attr}[{key}] has {value.shape[0]} rows, "
                        f"expected {width}: this vortex version is not supported (vtx 1.1)"
                    )
                tensors[key] = value.index_select(0, index.to(value.device))
    state["mha"].max_batch_size = len(index)


def cached_greedy(model, prompt_ids, target_ids) -> tuple[list[list[int]], np.ndarray]:
    """Greedy tokens (T = target length of them) and the target's per-symbol
    log-probabilities (B, T; row sums: log P(target | prompt)) for a vortex
    StripedHyena, from one prefill and at most T - 1 single-token steps.

    ``prompt_ids`` (B, L) and ``target_ids`` (B, T) are LongTensors on the model's
    first device, without padding. Streams (rows of the running state) start as one
    per prompt, each fed its target; when a prompt's greedy token first differs from
    its target, its stream is copied and the copy fed the greedy tokens from then on.
    """
    import torch

    B, L = prompt_ids.shape
    T = target_ids.shape[1]
    with contextlib.redirect_stdout(io.StringIO()):  # vortex prints a line here
        state = model.initialize_inference_params(max_seqlen=L + T)
    state["mha"].max_batch_size = B
    dev = prompt_ids.device
    row = torch.arange(B, device=dev)  # which prompt each stream belongs to
    follows_target = torch.ones(B, dtype=torch.bool, device=dev)
    on_track = torch.ones(B, dtype=torch.bool, device=dev)  # greedy == target so far
    logprob = torch.zeros(B, T, dtype=torch.float64, device=dev)
    tokens = torch.zeros(B, T, dtype=torch.long, device=dev)
    with torch.inference_mode():
        logits, state = model(prompt_ids, inference_params_dict=state)
        last = logits[:, -1, :].float()
        del logits
        for t in range(T):
            g = last.argmax(-1)
            tgt = target_ids[row, t]
            lp = torch.log_softmax(last, dim=-1)
            fed = follows_target
            logprob[row[fed], t] = lp[fed].gather(1, tgt[fed, None])[:, 0].double()
            speaks = ~fed | on_track[row]  # streams whose argmax is the prompt's greedy token
            tokens[row[speaks], t] = g[speaks]
            if t == T - 1:
                break
            leaves = fed & on_track[row] & (g != tgt)
            on_track[row[leaves]] = False
            feed = torch.where(fed, tgt, g)
            if leaves.any():
                branch = torch.nonzero(leaves)[:, 0]
                _take_rows(state, torch.cat([torch.arange(len(row), device=dev), branch]))
                feed = torch.cat([feed, g[branch]])
                row = torch.cat([row, row[branch]])
                follows_target = torch.cat(
                    [follows_target, torch.zeros(len(branch), dtype=torch.bool, device=dev)]
                )
            for params in state.values():
                params.seqlen_offset = L + t
            logits, state = model(feed[:, None], inference_params_dict=state)
            last = logits[:, -1, :].float()
    return tokens.tolist(), logprob.cpu().numpy()


def tree_answers(model, prompt_ids, sym, targets: np.ndarray) -> TreeResult:
    """:func:`genomic_icl.models.answers.tree_decode` on vortex's inference state:
    one prefill of the prompts (B, L), then the answer tree's 7 levels as single-token
    steps, the state's rows (attention KV cache, Hyena FIR and IIR states) repeated
    level by level. ``sym`` (B, 2): the byte of each prompt's ``sym0`` and ``sym1``."""
    import torch

    B, L = prompt_ids.shape
    with contextlib.redirect_stdout(io.StringIO()):  # vortex prints a line here
        state = model.initialize_inference_params(max_seqlen=L + N_TARGET)
    state["mha"].max_batch_size = B
    depth = [0]

    def step(index, feed):
        _take_rows(state, index)
        for params in state.values():
            params.seqlen_offset = L + depth[0]
        depth[0] += 1
        logits, _ = model(feed[:, None], inference_params_dict=state)
        return logits[:, -1, :].float()

    with torch.inference_mode():
        logits, _ = model(prompt_ids, inference_params_dict=state)
        last = logits[:, -1, :].float()
        del logits
        return tree_decode(last, sym, step, targets)


def check_fp8(spec: dict[str, Any], capabilities: list[tuple[int, int]], have_te: bool) -> None:
    """Raise where evo2 0.6.0 would fail on FP8: ``capabilities`` are the visible GPUs'
    compute capabilities, ``have_te`` whether Transformer Engine is installed.

    evo2's rule: a config with FP8 input projections needs Transformer Engine, except
    the 7B models, which fall back to bf16 when (and only when) it is absent. With it
    installed, FP8 stays on, 7B included, and needs compute capability 8.9+ (Ada,
    Hopper): an A100 fails.
    """
    if not uses_fp8(spec):
        return
    label = f"model {spec.get('name')!r}"
    name = model_name(spec.get("checkpoint", ""))
    is_7b = not spec.get("config") and "7b" in name
    if not have_te:
        if is_7b:
            return  # evo2 runs 7B in bf16 without Transformer Engine
        fix = (
            "or set `use_fp8_input_projections: false` in its config"
            if spec.get("config")
            else "only the 7B models run without it"
        )
        raise BackendError(
            f"{label}: {name} uses FP8 input projections and needs NVIDIA Transformer "
            f"Engine (`transformer_engine`), which is not installed ({fix}); {INSTALL_HINT}"
        )
    weak = [
        f"cuda:{i} (sm_{a}{b})"
        for i, (a, b) in enumerate(capabilities)
        if (a, b) < FP8_MIN_CAPABILITY
    ]
    if weak or not capabilities:
        fix = (
            "evo2 keeps FP8 for 7B whenever Transformer Engine is installed: run 7B in an "
            "environment without transformer_engine (evo2 then uses bf16), or"
            if is_7b
            else ""
        )
        raise BackendError(
            f"{label}: {name} runs FP8 input projections (Transformer Engine is installed), "
            f"which need compute capability {FP8_MIN_CAPABILITY[0]}.{FP8_MIN_CAPABILITY[1]}+ "
            f"(H100, H200, L40S, ...); these devices have none: {', '.join(weak) or 'no GPU'}. "
            f"{fix} request such GPUs in `resources` (e.g. a Hopper partition)"
        )
