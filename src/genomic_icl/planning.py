"""The checks of a whole config before any job runs.

:func:`check_config` is the one validation path: ``genomic-icl validate`` and
planning (``rules/common.smk``, i.e. ``snakemake -n`` and every run) both call it,
so a config that one of them accepts the other accepts too. It refuses, listing
every problem with its config key:

- the schema and the checks it cannot express (:func:`genomic_icl.config.validate_config`),
- ``pretrain:`` recipes as the pretraining job parses them,
- a ``model_cache`` that exists but is not a directory,
- each model entry as its backend sees it at planning (backend importable and a
  :class:`~genomic_icl.models.Backend`, checkpoint present, alphabet readable),
- prompts longer than the model's context, and encoding symbols its tokenizer
  maps to its unknown token (:func:`model_errors`),
- a run larger than ``limits`` (:func:`size_errors`),

and returns notes on the statistics that this config cannot compute
(:func:`stats_notes`). Nothing heavy is imported: no torch, transformers or weights.
"""

from __future__ import annotations

import bisect
import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from genomic_icl.config import (
    ConfigError,
    encoding,
    function_names,
    numpy_installed,
    pretrained_name,
    read_yaml,
    validate_config,
)
from genomic_icl.models.base import N_TARGET
from genomic_icl.prompts import prompt_length, prompt_table

#: Keys of a transformers config.json that hold the longest sequence a model reads.
CONTEXT_KEYS = ("max_position_embeddings", "n_positions", "max_sequence_length", "seq_length")


def check_config(config: dict[str, Any]) -> list[str]:
    """Validate ``config`` in place (defaults filled) with every check planning runs.

    Returns notes on checks this environment cannot run (:func:`skipped_checks`) and
    on tables that will be empty or hold NaN (:func:`stats_notes`).
    Raises :class:`ConfigError` listing every problem, each naming its key.
    """
    from genomic_icl.pretrain import recipe_errors

    validate_config(config)
    errors = recipe_errors(config.get("pretrain", {}))
    errors += model_cache_errors(config)
    if not errors:
        with _model_cache_env(config):
            errors += model_errors(config)
        errors += size_errors(config)
    if errors:
        raise ConfigError("invalid config:\n  " + "\n  ".join(errors))
    return skipped_checks(config) + stats_notes(config)


def check_config_files(paths: list[str | os.PathLike]) -> None:
    """Refuse config files that do not parse as strict YAML (syntax errors with their
    line, keys given twice); planning calls it on the files Snakemake merged."""
    for path in paths:
        read_yaml(path)


def load_and_check(path: str | os.PathLike) -> tuple[dict[str, Any], list[str]]:
    """A config file read strictly and checked as planning checks it; returns the
    config and its notes. Messages start with the file's path."""
    config = read_yaml(path)
    try:
        return config, check_config(config)
    except ConfigError as err:
        raise ConfigError(f"{path}: {err}") from None


def skipped_checks(config: dict[str, Any]) -> list[str]:
    """The checks skipped because numpy is not installed (planning where only Snakemake
    is, as the workflow catalog lints): those that run the task functions."""
    if numpy_installed():
        return []
    skipped = []
    if config["functions"] != "all":
        skipped.append("that no two `functions` agree on all 256 inputs")
    if any(_measures_prompts(config, i) for i in range(len(config["models"]))):
        skipped.append("the prompt lengths of models read through their own tokenizer")
    if not skipped:
        return []
    return [
        f"numpy is not installed: not checked {' or '.join(skipped)}; install the "
        "workflow's dependencies (pip install -e .) to run every check"
    ]


# -- the model cache -------------------------------------------------------------------


def model_cache_errors(config: dict[str, Any]) -> list[str]:
    """``model_cache`` must be a directory (or not exist yet: planning creates it)."""
    cache = config.get("model_cache")
    if cache and (path := Path(os.path.expanduser(cache))).exists() and not path.is_dir():
        return [f"model_cache: {cache} exists and is not a directory (give a directory)"]
    return []


@contextlib.contextmanager
def _model_cache_env(config: dict[str, Any]) -> Iterator[None]:
    """``HF_HOME`` set to the config's ``model_cache`` while the models are checked, as
    the workflow sets it for planning and jobs (nothing is created)."""
    cache = config.get("model_cache")
    old = os.environ.get("HF_HOME")
    if cache:
        os.environ["HF_HOME"] = str(Path(os.path.expanduser(cache)).absolute())
    try:
        yield
    finally:
        if cache and old is None:
            os.environ.pop("HF_HOME", None)
        elif cache:
            os.environ["HF_HOME"] = old


# -- model entries ---------------------------------------------------------------------


def model_errors(config: dict[str, Any]) -> list[str]:
    """Problems of each model entry: its backend's planning checks
    (:func:`genomic_icl.models.preflight`), its estimated GPU memory
    (:func:`genomic_icl.memory.check_fits`), symbols its tokenizer cannot read, and
    prompts longer than its context."""
    from genomic_icl.memory import check_fits
    from genomic_icl.models import BackendError, get_backend

    errors = []
    for i, spec in enumerate(config["models"]):
        key = f"models[{i}]"
        alphabet = config["encodings"][spec["encoding"]]["alphabet"]
        try:
            cls = get_backend(spec["backend"])
        except BackendError as err:
            errors.append(f"{key}.backend: {err}")
            continue
        if (err := _backend_source_error(spec["backend"])) is not None:
            errors.append(f"{key}.backend: {err}")
            continue
        try:
            cls.preflight(spec)
        except BackendError as err:
            errors.append(f"{key}: {err}")
            continue
        try:
            cls.check_alphabet(spec, alphabet)
        except BackendError as err:
            errors.append(f"{key}.encoding: {err}")
            continue
        try:
            check_fits(spec, config)  # estimated GPU memory against the GPUs asked for
        except BackendError as err:
            errors.append(f"{key}: {err}")
            continue
        errors += _tokenizer_errors(config, i)
    return errors


def _backend_source_error(backend: str) -> str | None:
    """Why a backend's code cannot be fingerprinted (its module has no ``.py`` source
    where the jobs read code: genomic_icl.codeversion), or None."""
    from genomic_icl.codeversion import backend_module, module_path

    module = backend_module(backend)
    if module_path(module) is None:
        return (
            f"{backend!r}: its module {module!r} has no Python source file, so its code "
            "cannot be fingerprinted for reruns (give a module of .py files)"
        )
    return None


def _local_file(spec: dict[str, Any], name: str) -> Path | None:
    """A file of an hf model's checkpoint found without a download: in its local
    directory, or in the Hugging Face cache."""
    from genomic_icl.models.util import expand, looks_like_path

    ckpt = spec.get("checkpoint") or ""
    if spec.get("backend") != "hf" or not ckpt or pretrained_name(spec) is not None:
        return None
    if looks_like_path(ckpt):
        path = expand(ckpt) / name
        return path if path.is_file() else None
    try:
        from huggingface_hub import try_to_load_from_cache

        from genomic_icl.workflow import hub_cache

        found = try_to_load_from_cache(
            ckpt, name, revision=spec.get("revision"), cache_dir=hub_cache()
        )
    except Exception:  # noqa: BLE001 (a malformed hub id is the backend's to report)
        return None
    return Path(found) if isinstance(found, str) else None


def model_context(config: dict[str, Any], i: int) -> tuple[int, str] | None:
    """The longest sequence (in tokens) model entry ``i`` reads, and where that number
    comes from: its ``context:`` key, its pretraining recipe, or the config.json of
    its checkpoint (local directory or Hugging Face cache); None when unknown."""
    spec = config["models"][i]
    if "context" in spec:
        return int(spec["context"]), f"models[{i}].context"
    name = pretrained_name(spec)
    if name is not None:
        from genomic_icl.pretrain import parse_recipe

        return parse_recipe(config["pretrain"][name])[1].context, f"pretrain.{name}.model.context"
    path = _local_file(spec, "config.json")
    if path is None:
        return None
    try:
        cfg = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    for source in (cfg, cfg.get("text_config") or {}):
        for k in CONTEXT_KEYS:
            if isinstance(source.get(k), int) and source[k] > 0:
                return source[k], f"{k} in {path}"
    return None


class _Tokens:
    """How a model entry turns prompts into tokens, known without loading it: a
    ``tokenizers`` tokenizer from its checkpoint, or one token per symbol of a
    vocabulary (the workflow's pretrained DNA models)."""

    def __init__(self, tokenizer: Any = None, vocab: str | None = None) -> None:
        self.tokenizer, self.vocab = tokenizer, vocab

    def count(self, prompt: str, target: str) -> int:
        """Tokens of a prompt (with the tokenizer's special tokens) and its answer."""
        if self.tokenizer is None:
            return len(prompt) + len(target)
        tok = self.tokenizer
        return len(tok.encode(prompt).ids) + len(tok.encode(target, add_special_tokens=False).ids)

    def unknown(self, symbols: str) -> list[str]:
        """Symbols that become the unknown token (or nothing at all)."""
        if self.tokenizer is None:
            return [s for s in symbols if s not in (self.vocab or "")]
        tok = self.tokenizer
        unk = getattr(tok.model, "unk_token", None)
        unk_id = tok.token_to_id(unk) if unk else None
        out = []
        for s in symbols:
            ids = tok.encode(s, add_special_tokens=False).ids
            if not ids or (unk_id is not None and unk_id in ids):
                out.append(s)
        return out


def model_tokens(config: dict[str, Any], i: int) -> _Tokens | None:
    """Model entry ``i``'s tokenization, where it is known without a download."""
    spec = config["models"][i]
    if spec.get("backend") != "hf":
        return None
    if pretrained_name(spec) is not None:
        from genomic_icl.pretrain import GENOMIC_ALPHABET

        return _Tokens(vocab=GENOMIC_ALPHABET)  # pretrain.tokenizer(): no BOS
    path = _local_file(spec, "tokenizer.json")
    if path is None:
        return None
    try:
        from tokenizers import Tokenizer

        return _Tokens(Tokenizer.from_file(str(path)))
    except Exception:  # noqa: BLE001 (an unreadable tokenizer is the job's to report)
        return None


def _tokenizer_errors(config: dict[str, Any], i: int) -> list[str]:
    spec = config["models"][i]
    enc = encoding(config, spec["encoding"])
    tokens = model_tokens(config, i)
    errors = []
    if tokens is not None and (bad := tokens.unknown(enc.alphabet)):
        errors.append(
            f"models[{i}].encoding: model {spec['name']!r} reads symbols {''.join(bad)!r} of "
            f"encoding {enc.name!r} (alphabet {enc.alphabet!r}) as its unknown token, so "
            "its answers would be meaningless; use an encoding whose symbols it knows"
        )
        return errors
    context = model_context(config, i)
    measured = tokens is not None and tokens.tokenizer is not None
    if context is None or (measured and not numpy_installed()):
        return errors
    limit, source = context
    longest = max(config["shots"])
    needed = _prompt_tokens(config, enc, longest, tokens)
    if needed > limit:
        # tokens grow with n: the first n that does not fit, by bisection
        first = bisect.bisect_left(
            range(1, longest), True, key=lambda n: _prompt_tokens(config, enc, n, tokens) > limit
        )
        largest = f"the largest n that fits is {first}" if first else "not even n = 1 fits"
        errors.append(
            f"shots: the longest prompt (n = {longest}) and its answer take {needed} tokens, "
            f"more than model {spec['name']!r} reads (context {limit}, {source}); "
            f"{largest}: lower `shots` or use a model with a longer context"
        )
    return errors


def _measures_prompts(config: dict[str, Any], i: int) -> bool:
    """Whether model entry ``i``'s prompt lengths are measured on real prompts (built
    with numpy) through its tokenizer, rather than counted one token per symbol."""
    tokens = model_tokens(config, i)
    return tokens is not None and tokens.tokenizer is not None


def _prompt_tokens(config: dict[str, Any], enc: Any, n: int, tokens: _Tokens | None) -> int:
    """Tokens of the longest prompt and answer at ``n`` shots (every prompt has
    17 n + 8 symbols; a tokenizer that merges symbols is measured on real prompts of
    up to 4 functions)."""
    if tokens is None or tokens.tokenizer is None:
        return prompt_length(n) + N_TARGET

    table = prompt_table(function_names(config)[:4], n, 1, enc, config["seed"])
    return max(tokens.count(p, t) for p, t in zip(table["prompt"], table["target"], strict=True))


# -- size ------------------------------------------------------------------------------


def size_estimate(config: dict[str, Any]) -> dict[str, float]:
    """What a config asks for: ``predictions`` (prompts answered by models, summed over
    models and n) and ``disk_gb``, an uncompressed estimate of the prompt, prediction
    (live and stored) and scored tables (a prompt row holds 17 n + 16 symbols and its
    2 n demonstration values; a prediction row 8 + 256 log-probabilities)."""
    f = len(function_names(config))
    m = config["trials"]
    shots = config["shots"]
    encodings = {spec["encoding"] for spec in config["models"]}
    models = len(config["models"])
    prompt_row = {n: prompt_length(n) + N_TARGET + 16 * n + 120 for n in shots}
    prediction_row = 8 * 8 + 4 * 256 + 120
    disk = f * m * len(encodings) * sum(prompt_row.values())
    disk += f * m * models * sum(2 * prediction_row + prompt_row[n] for n in shots)
    return {"predictions": f * m * len(shots) * models, "disk_gb": disk / 1e9}


def size_errors(config: dict[str, Any]) -> list[str]:
    """A run above ``limits`` (typically a typo in ``trials``), refused with the figures."""
    est = size_estimate(config)
    limits = config["limits"]
    what = (
        f"{len(function_names(config))} functions x {config['trials']} trials x "
        f"{len(config['shots'])} shot counts x {len(config['models'])} models"
    )
    errors = []
    if est["predictions"] > limits["max_predictions"]:
        errors.append(
            f"limits.max_predictions: this config asks for {est['predictions']:,} predictions "
            f"({what}), above the limit {limits['max_predictions']:,}; check `trials` and "
            "`shots`, or raise limits.max_predictions to run it on purpose"
        )
    if est["disk_gb"] > limits["max_disk_gb"]:
        errors.append(
            f"limits.max_disk_gb: its tables would take about {est['disk_gb']:,.1f} GB "
            f"({what}), above the limit {limits['max_disk_gb']:g} GB; check `trials` and "
            "`shots`, or raise limits.max_disk_gb to run it on purpose"
        )
    return errors


# -- statistics ------------------------------------------------------------------------


def stats_notes(config: dict[str, Any]) -> list[str]:
    """The statistics this config cannot compute, each naming its table and why
    (tables with NaN columns or no rows). Planning prints them; they are not errors."""
    notes = []
    k = len(config["shots"])
    g = len(function_names(config))
    models = config["models"]
    if k < 3:
        cols = "a1, its SE, t and p_value" if k == 1 else "a1_se, t and p_value"
        notes.append(
            f"shots: {k} shot count(s): the log-linear fits of fits.tsv have df = k - 2 = "
            f"{k - 2}, so their {cols} are NaN (3 or more shot counts give a test)"
        )
    if k < 2 or g < 2:
        why = "one shot count gives no slope" if k < 2 else "one function is one cluster"
        notes.append(
            f"clustered_fits.tsv: {why} (df = G - 1 = {g - 1} over G = {g} function(s)); "
            "its SEs and p-values are NaN"
        )
    sized: dict[str, int] = {}
    for spec in models:
        if spec.get("family") and spec.get("params"):
            sized[spec["family"]] = sized.get(spec["family"], 0) + 1
    if not any(c >= 2 for c in sized.values()):
        notes.append(
            "fits_vs_size.tsv and scaling.tsv are empty: no `family` has 2 or more models "
            "with `params`"
        )
    for family, count in sized.items():
        if count == 2:
            notes.append(
                f"fits_vs_size.tsv, scaling.tsv: family {family!r} has 2 sized models: its "
                "size slopes have df = 0, so their p-values are NaN"
            )
    if config["stats"]["comparisons"] == "all" and len(models) < 2:
        notes.append("paired.tsv and sign_test.tsv are empty: one model, no pair to compare")
    if config["stats"]["baseline"] not in {m["name"] for m in models}:
        notes.append(
            f"vs_mode.tsv is empty: the baseline {config['stats']['baseline']!r} "
            "(stats.baseline) is not a model of `models`"
        )
    if config["trials"] < 2:
        notes.append(
            "trials: 1 trial per (function, n): the bootstrap cannot resample trials within a "
            "function, so SEs reflect the functions only"
        )
    return notes
