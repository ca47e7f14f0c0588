"""Random-weight StripedHyena 2 models for the tests and benchmarks: evo2's packaged
architectures (:func:`packaged_config`) or a tiny one (:func:`tiny_config`), built by
vortex's own ``StripedHyena`` in the dtypes a loaded checkpoint has
(:func:`random_model`), or saved as a checkpoint (:func:`write_tiny_evo2`). Needs
vortex importable (on a CPU: :func:`genomic_icl.models.evo2.patches.install_cpu_standins`
first). Nothing here is used to run a configured model.

The tiny config is evo2's own packaged 7B config (``evo2-7b-8k.yml``) cut down to four
blocks (one each of HCS, HCM, HCL and attention), width 64, with flash attention,
FlashFFT and FP8 off; the weights are random but well-formed: stable (negative)
log-poles, no all-zero layers, and decisive logits, so greedy picks vary. Saved
with ``torch.save(state_dict)`` and read back by vortex's ``load_checkpoint`` (Wqkv
permutation, dtype conversion), as a user's fine-tuned checkpoint would be.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import yaml

#: What the tiny model changes in evo2's packaged 7B config.
TINY = {
    "model_name": "tiny-striped-hyena-2",
    "hidden_size": 64,
    "num_filters": 64,
    "num_layers": 4,
    "hcs_layer_idxs": [0],
    "hcm_layer_idxs": [1],
    "hcl_layer_idxs": [2],
    "attn_layer_idxs": [3],
    "hcl_filter_groups": 64,
    "hcm_filter_groups": 4,
    "hcs_filter_groups": 4,
    "num_attention_heads": 4,
    "state_size": 4,
    "inner_mlp_size": 128,
    "max_seqlen": 4096,
    "use_flash_attn": False,
    "use_flashfft": False,
    "use_fp8_input_projections": False,
}


def packaged_config(name: str = "evo2-7b-8k.yml") -> dict:
    """One of the vortex configs shipped inside the evo2 package."""
    root = Path(importlib.util.find_spec("evo2").submodule_search_locations[0])
    return yaml.safe_load((root / "configs" / name).read_text())


def tiny_config(like: str | None = None) -> dict:
    """The packaged 7B config, cut down to the tiny model; with ``like`` (a packaged
    config's file name, e.g. ``evo2-1b-8k.yml``), the tiny model's four blocks at that
    model's width: its hidden size, MLP size, attention heads and state size."""
    config = {**packaged_config(), **TINY}
    if like:
        full = packaged_config(like)
        keys = ("hidden_size", "inner_mlp_size", "num_attention_heads", "state_size")
        config.update({k: full[k] for k in keys})
        config.update(num_filters=full["hidden_size"], hcl_filter_groups=full["hidden_size"])
    return config


def write_tiny_evo2(folder: Path, seed: int = 0, like: str | None = None) -> tuple[Path, Path]:
    """Write ``tiny.yml`` (vortex config) and ``tiny.pt`` (random weights) into
    ``folder``; returns (checkpoint, config) paths. ``like``: see :func:`tiny_config`."""
    import torch
    from vortex.model.model import StripedHyena
    from vortex.model.utils import dotdict

    folder.mkdir(parents=True, exist_ok=True)
    config = tiny_config(like)
    config_path = folder / "tiny.yml"
    config_path.write_text(yaml.safe_dump(config, sort_keys=True))
    torch.manual_seed(seed)
    model = well_formed(StripedHyena(dotdict(config)))
    state = {k: v.float() if v.is_floating_point() else v for k, v in model.state_dict().items()}
    ckpt = folder / "tiny.pt"
    torch.save(state, ckpt)
    return ckpt, config_path


def well_formed(model):
    """Give a StripedHyena random weights that behave: stable (negative) log-poles, no
    all-zero layer, and decisive logits (a scaled tied embedding). In place; returns
    the model. Works at any size and on any device."""
    import torch

    with torch.no_grad():
        for name, p in model.named_parameters():
            if "log_poles" in name:  # exp(log_pole * t) must decay
                p.copy_(-torch.rand_like(p, dtype=torch.float32) * 0.5 - 0.05)
            elif "residues" in name:
                p.copy_(torch.randn_like(p, dtype=torch.float32) * 0.1)
            elif p.ndim >= 2 or not torch.any(p):
                p.copy_(torch.randn_like(p.float()) * 0.02)
        # tied embedding: larger rows make the logits decisive
        model.embedding_layer.weight.mul_(40.0)
    return model


def random_model(config: dict, device, dtype):
    """A well-formed random StripedHyena of a vortex ``config`` with FP8, flash attention
    and FlashFFT off, in eval mode. ``dtype`` float32: all weights fp32 on ``device``;
    otherwise the dtypes a loaded checkpoint has (vortex's ``load_checkpoint``): bf16,
    except the poles, residues and the HCM filters in fp32, on the GPU where one is
    visible (vortex's choice)."""
    import torch
    from vortex.model.model import StripedHyena
    from vortex.model.utils import dotdict

    config = {
        **config,
        "use_flash_attn": False,
        "use_flashfft": False,
        "use_fp8_input_projections": False,
    }
    torch.manual_seed(0)
    model = StripedHyena(dotdict(config))
    if dtype == torch.float32:
        return well_formed(model).to(device=device, dtype=dtype).eval()
    model.to_bfloat16_except_pr_lc(to_float32=True)
    well_formed(model)
    model.to_bfloat16_except_pr_lc()
    return model.eval()
