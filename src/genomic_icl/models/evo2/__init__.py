"""The ``evo2`` backend: Evo 2 and other StripedHyena 2 models through ``evo2``/``vortex``.

``checkpoint:`` is one of the packaged Evo 2 model names (``evo2_1b_base``,
``evo2_7b``, ``evo2_40b``, ...), its hub id (``arcinstitute/evo2_7b``,
``evo-design/evo-2-7b-8k-microviridae``), or a local ``<name>.pt`` file: these load
through ``evo2.Evo2`` with the architecture config the ``evo2`` package ships. A
checkpoint of any other StripedHyena 2 model (a fine-tuned Evo 2, a smaller model
you trained) is a local ``.pt`` file plus ``config:``, the vortex YAML config of its
architecture; it loads through vortex's own ``StripedHyena`` and ``load_checkpoint``
(the same steps ``evo2.Evo2`` takes: Wqkv permutation, bf16 except poles/residues).

The package's modules: this one, the backend class, its checks and loading;
:mod:`.decoding`, greedy decoding and the answer tree on vortex's inference state
(tokens: one byte per character); :mod:`.patches`, what the backend changes in
vortex (a cheap cached prefill, FP8 scaling state per batch) and the CPU stand-ins
for vortex's CUDA-only imports; :mod:`.random_weights`, random-weight models of
evo2's packaged architectures for the tests and benchmarks.

Only this package imports ``evo2``/``vortex``, and only when a model is loaded.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from genomic_icl.models.answers import concat_results, rank_answers, tree_chunks
from genomic_icl.models.base import N_TARGET, Backend, BackendError, Continuations
from genomic_icl.models.evo2.decoding import cached_greedy, detokenize, tokenize, tree_answers
from genomic_icl.models.evo2.patches import (
    ROTARY_MODULE,
    fp8_states,
    lean_prefill,
    quiet_vortex_logs,
    restore_fp8_states,
)
from genomic_icl.models.util import (
    expand,
    fetch_hint,
    hf_offline,
    looks_like_path,
    token_batches,
)
from genomic_icl.workflow import hub_cache

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
    software_step = "evo2"

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
        # (patches.install_cpu_standins)
        if ROTARY_MODULE not in sys.modules:
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

    def encode(
        self, prompts: list[str], targets: list[str]
    ) -> tuple[list[list[int]], list[list[int]]]:
        return tokenize(prompts), tokenize(targets)

    def logits(self, ids, keep: int = 1):
        import torch

        with torch.inference_mode():
            return self.model(ids)[0][:, -keep:]

    def baseline_greedy(self, prompt: str, steps: int = N_TARGET) -> list[int]:
        """vortex's cached ``Generator(top_k=1)`` on the same model instance."""
        import torch
        from vortex.model.generation import Generator
        from vortex.model.tokenizer import CharLevelTokenizer

        ids = torch.tensor(tokenize([prompt]), device=self.device)
        with torch.inference_mode(), contextlib.redirect_stdout(io.StringIO()):
            out, _, _ = Generator(  # vortex prints its cache size
                self.model, CharLevelTokenizer(512), top_k=1, top_p=1.0, temperature=1.0
            ).generate(
                device=str(self.device),
                input_ids=ids,
                num_tokens=steps,
                cached_generation=True,
                print_generation=False,
                stop_at_eos=False,
            )
        return out[0, -steps:].tolist()

    def after_out_of_memory(self) -> None:
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()


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
