"""Loading and validating workflow configs.

``validate_config`` checks a config against ``schemas/config.schema.yaml``, fills in
the schema's defaults, then checks what a schema cannot express. Every problem is
reported at once, each naming its config key, before any work starts.
"""

from __future__ import annotations

import copy
import importlib.util
from collections import Counter
from difflib import get_close_matches
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from genomic_icl.functions import FUNCTION_NAMES, check_distinct, get_function
from genomic_icl.prompts import Encoding


class ConfigError(ValueError):
    """A config value is invalid; the message names the key(s)."""


@cache
def schema() -> dict[str, Any]:
    """The config JSON schema shipped with the package."""
    text = resources.files("genomic_icl").joinpath("schemas/config.schema.yaml").read_text()
    return yaml.safe_load(text)


def _key(path: Any) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "<top level>"


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    if ref:
        node = schema()
        for part in ref.removeprefix("#/").split("/"):
            node = node[part]
    return node


def _fill_defaults(instance: Any, node: dict[str, Any]) -> None:
    node = _resolve(node)
    if isinstance(instance, dict):
        for name, sub in node.get("properties", {}).items():
            sub = _resolve(sub)
            if name not in instance and "default" in sub:
                instance[name] = copy.deepcopy(sub["default"])
            if name in instance:
                _fill_defaults(instance[name], sub)
        extra = node.get("additionalProperties")
        if isinstance(extra, dict):
            for name, value in instance.items():
                if name not in node.get("properties", {}):
                    _fill_defaults(value, extra)
    elif isinstance(instance, list) and isinstance(node.get("items"), dict):
        for item in instance:
            _fill_defaults(item, node["items"])


def _validator():
    """The schema's validator, with ``integer`` meaning a Python ``int``: JSON Schema
    counts 2.0 as an integer, and ``trials: 2.0`` or ``shots: [1.0]`` would then reach
    jobs that index, range or name files with them."""
    import jsonschema  # here, not at import: prediction jobs run without it (GPU images)

    base = jsonschema.Draft202012Validator
    checker = base.TYPE_CHECKER.redefine(
        "integer", lambda _, value: isinstance(value, int) and not isinstance(value, bool)
    )
    return jsonschema.validators.extend(base, type_checker=checker)(schema())


def numpy_installed() -> bool:
    """Whether numpy imports. Where only Snakemake is installed (the workflow catalog
    lints so), planning skips the checks that run the task functions."""
    return importlib.util.find_spec("numpy") is not None


def _semantic_errors(config: dict[str, Any]) -> list[str]:
    errors = []
    if config["functions"] != "all":
        known = []
        for i, name in enumerate(config["functions"]):
            try:
                known.append(get_function(name))
            except KeyError as err:
                errors.append(
                    f"functions[{i}]: {err.args[0]} (`genomic-icl functions` lists the 100 "
                    "names; a new task is a chain of primitives like `rotl1>flip_bits`)"
                )
        if not errors and numpy_installed():  # else a planning note says it was skipped
            try:
                check_distinct(known)
            except ValueError as err:
                errors.append(f"functions: {err}")
    for name, enc in config["encodings"].items():
        alphabet = enc["alphabet"]
        if len(set(alphabet)) != len(alphabet):
            errors.append(f"encodings.{name}.alphabet: symbols must be distinct, got {alphabet!r}")
        if any(ch.isspace() or not ch.isprintable() for ch in alphabet):
            errors.append(
                f"encodings.{name}.alphabet: {alphabet!r} holds whitespace or unprintable "
                "symbols (tokenizers drop or merge them; use visible characters)"
            )
    for name, count in Counter(m["name"] for m in config["models"]).items():
        if count > 1:
            errors.append(f"models: the name {name!r} is used by {count} entries")
    for i, model in enumerate(config["models"]):
        if model["encoding"] not in config["encodings"]:
            errors.append(
                f"models[{i}].encoding: {model['encoding']!r} is not a key of `encodings` "
                f"({', '.join(config['encodings'])})"
            )
        res = model.get("resources", {})
        for key in ("mem_mb", "runtime"):
            cap = res.get(f"max_{key}", config["slurm"][f"max_{key}"])
            if cap is not None and res.get(key, 0) > cap:
                errors.append(
                    f"models[{i}].resources.{key}: {res[key]} is above its retry cap "
                    f"{cap} (resources.max_{key} or slurm.max_{key})"
                )
        if model.get("decoding") == "rank" and model.get("answers") is False:
            errors.append(
                f"models[{i}].decoding: rank reads the answer distribution, which "
                "`answers: false` turns off"
            )
        name = pretrained_name(model)
        if name is not None and name not in config.get("pretrain", {}):
            errors.append(
                f"models[{i}].checkpoint: {model['checkpoint']!r} names no recipe of "
                f"`pretrain` ({', '.join(config.get('pretrain', {})) or 'none defined'})"
            )
    errors += _reference_errors(config)
    return errors


def _reference_errors(config: dict[str, Any]) -> list[str]:
    """Names in `stats` and `figures` that must be model names of the config."""
    models = [m["name"] for m in config["models"]]
    errors = []

    def check(key: str, name: Any) -> None:
        if name not in models:
            close = get_close_matches(str(name), models, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            errors.append(f"{key}: {name!r} is not a model of `models`{hint}")

    if config["stats"]["baseline"] != "mode":  # the default may be absent (empty vs-mode table)
        check("stats.baseline", config["stats"]["baseline"])
    if config["stats"]["comparisons"] != "all":
        for i, pair in enumerate(config["stats"]["comparisons"]):
            for j, name in enumerate(pair):
                check(f"stats.comparisons[{i}][{j}]", name)
    figures = config["figures"]
    for i, pair in enumerate(figures["pairs"]):
        for j, name in enumerate(pair):
            check(f"figures.pairs[{i}][{j}]", name)
    for key in ("compare", "mistakes_models"):
        for i, name in enumerate(figures[key]):
            check(f"figures.{key}[{i}]", name)
    if figures["reference_names"]:
        published = _table4_models()
        for name, ref in figures["reference_names"].items():
            check(f"figures.reference_names.{name}", name)
            if ref not in published:
                errors.append(
                    f"figures.reference_names.{name}: {ref!r} is not a model of the published "
                    f"Table 4 ({', '.join(published)})"
                )
    return errors


def _table4_models() -> list[str]:
    """Model names of the packaged Table 4 (``data/table4.tsv``), in file order."""
    text = resources.files("genomic_icl").joinpath("data/table4.tsv").read_text()
    rows = [line.split("\t") for line in text.splitlines() if line and not line.startswith("#")]
    col = rows[0].index("model")
    return list(dict.fromkeys(r[col] for r in rows[1:]))


def validate_config(config: dict[str, Any]) -> dict[str, Any]:
    """Validate ``config`` in place (filling defaults) and return it.

    Raises :class:`ConfigError` listing every problem, each with its key.
    """
    problems = sorted(
        _validator().iter_errors(config), key=lambda e: [str(p) for p in e.absolute_path]
    )
    errors = [f"{_key(e.absolute_path)}: {_message(e)}" for e in problems]
    if not errors:
        _fill_defaults(config, schema())
        errors = _semantic_errors(config)
    if errors:
        raise ConfigError("invalid config:\n  " + "\n  ".join(errors))
    return config


def _message(error: Any) -> str:
    """A schema error's message, saying "integer" where a float was given for one."""
    if error.validator == "type" and isinstance(error.instance, float):
        wanted = error.validator_value
        wanted = wanted if isinstance(wanted, list) else [wanted]
        if "integer" in wanted:
            return f"{error.instance!r} is a float; write a whole number without a decimal point"
    return error.message


class _StrictLoader(yaml.SafeLoader):
    """A YAML loader that refuses a key given twice in one mapping (PyYAML keeps the last)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if isinstance(key, str | int | float | bool) and key in seen:
                raise ConfigError(
                    f"line {line}: key {key!r} is given twice in one mapping "
                    f"(first on line {seen[key]}); YAML would silently keep the last value"
                )
            if isinstance(key, str | int | float | bool):
                seen[key] = line
        return super().construct_mapping(node, deep)


_StrictLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _StrictLoader.construct_mapping
)


def read_yaml(path: str | Path) -> dict[str, Any]:
    """A YAML config file as a mapping, refusing syntax errors (with their line) and
    keys given twice, each message starting with the file's path."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        with open(path, encoding="utf-8") as fh:
            config = yaml.load(fh, Loader=_StrictLoader) or {}  # noqa: S506 (a SafeLoader)
    except ConfigError as err:
        raise ConfigError(f"{path}: {err}") from None
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise ConfigError(f"{path}: {where}not valid YAML: {err.problem or err}") from None
    except (yaml.YAMLError, UnicodeDecodeError) as err:
        raise ConfigError(f"{path}: not valid YAML: {err}") from None
    if not isinstance(config, dict):
        raise ConfigError(f"{path}: the config must be a mapping of keys at top level")
    return config


def load_config(path: str | Path) -> dict[str, Any]:
    """Read a YAML config file (:func:`read_yaml`) and validate it."""
    config = read_yaml(path)
    try:
        return validate_config(config)
    except ConfigError as err:
        raise ConfigError(f"{path}: {err}") from None


def load_config_without_schema(path: str | Path) -> dict[str, Any]:
    """A config read as :func:`load_config` reads it, for an environment without
    jsonschema (GPU job images): defaults filled and every check but the schema's
    (types, unknown keys) made. Only for configs the workflow or `genomic-icl
    validate` has checked where jsonschema is installed."""
    config = read_yaml(path)
    _fill_defaults(config, schema())
    try:
        errors = _semantic_errors(config)
    except (KeyError, TypeError, AttributeError) as err:
        errors = [f"{err!r} (run `genomic-icl validate` where jsonschema is installed)"]
    if errors:
        raise ConfigError(f"{path}: invalid config:\n  " + "\n  ".join(errors))
    return config


def function_names(config: dict[str, Any]) -> list[str]:
    """The functions a (validated) config evaluates, in order."""
    return list(FUNCTION_NAMES) if config["functions"] == "all" else list(config["functions"])


def encoding(config: dict[str, Any], name: str) -> Encoding:
    """The named encoding of a (validated) config."""
    return Encoding(name, config["encodings"][name]["alphabet"])


#: Keys of a model entry that cannot change its predictions: job resources, and the
#: labels statistics and figures read (a family or parameter count).
NOT_RESULT_KEYS = ("resources", "params", "family")
#: The keys of a model entry that statistics and figures read.
LABEL_KEYS = ("name", "backend", "encoding", "family", "params")


def result_settings(spec: dict[str, Any]) -> dict[str, Any]:
    """The settings of a model entry that its predictions depend on."""
    return {k: v for k, v in spec.items() if k not in NOT_RESULT_KEYS}


def model_labels(models: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Model entries cut to what statistics and figures read (:data:`LABEL_KEYS`), so
    a change to a model's job resources reruns none of them."""
    return [{k: m[k] for k in LABEL_KEYS if k in m} for m in models]


PRETRAINED = "pretrained:"


def pretrained_name(spec: dict[str, Any]) -> str | None:
    """The ``pretrain:`` recipe a model entry's ``checkpoint: pretrained:NAME`` names."""
    ckpt = spec.get("checkpoint") or ""
    return ckpt.removeprefix(PRETRAINED) if ckpt.startswith(PRETRAINED) else None


def pretrained_dir(name: str) -> str:
    """Where the workflow saves the model pretrained by recipe ``name`` (relative to
    the working directory)."""
    return f"results/pretrained/{name}"


def resolve_checkpoint(spec: dict[str, Any]) -> dict[str, Any]:
    """A model entry whose ``pretrained:NAME`` checkpoint is replaced by its directory."""
    name = pretrained_name(spec)
    return spec if name is None else {**spec, "checkpoint": pretrained_dir(name)}


def model_entry(config: dict[str, Any], name: str) -> dict[str, Any]:
    """The model entry called ``name``; raises ``ConfigError`` if there is none."""
    for model in config["models"]:
        if model["name"] == name:
            return model
    raise ConfigError(f"models: no model named {name!r}")
