# Config validation and the names every rule file shares. Nothing heavy is imported
# here: planning must stay fast and work without torch, transformers or weights.
import re

from genomic_icl.config import (
    ConfigError,
    function_names,
    model_labels,
    pretrained_dir,
    pretrained_name,
    validate_config,
)

from genomic_icl.pretrain import recipe_errors

validate_config(config)
# recipes parsed as the pretraining job parses them (kept out of genomic_icl.config,
# which every job imports, so that pretraining code stays out of their fingerprints)
_recipe_errors = recipe_errors(config.get("pretrain", {}))
if _recipe_errors:
    raise ConfigError("invalid config:\n  " + "\n  ".join(_recipe_errors))

MODELS = {m["name"]: m for m in config["models"]}
SHOTS = sorted(config["shots"])
FUNCTIONS = function_names(config)
ENCODINGS = list(config["encodings"])
# Recipes of `pretrain:` that some model uses: only those are trained (a recipe
# merged in from config.yaml under --configfile costs nothing when unused).
PRETRAINED_USED = sorted(
    {name for m in MODELS.values() if (name := pretrained_name(m)) is not None}
)


wildcard_constraints:
    model="|".join(re.escape(m) for m in MODELS),
    encoding="|".join(re.escape(e) for e in ENCODINGS),
    n=r"\d+",


def one_of(names):
    """A wildcard constraint matching exactly these names (nothing when empty)."""
    return "|".join(re.escape(n) for n in names) or "$^"


def prompts_path(model, n):
    """The prompt table a model reads at n shots."""
    return f"results/prompts/{MODELS[model]['encoding']}/n{n}.parquet"


def predict_inputs(wildcards):
    """A model's prompt tables (one per shot count, in SHOTS order), and its
    checkpoint when the workflow pretrains it (``checkpoint: pretrained:NAME``)."""
    inputs = {"prompts": [prompts_path(wildcards.model, n) for n in SHOTS]}
    name = pretrained_name(MODELS[wildcards.model])
    if name is not None:
        inputs["checkpoint"] = pretrained_dir(name)
    return inputs


def all_outputs():
    """Every final target of the workflow (the statistics and figure targets are
    defined by rules/stats.smk and rules/figures.smk, included before `rule all`)."""
    return [
        *expand("results/prompts/{encoding}/n{n}.parquet", encoding=ENCODINGS, n=SHOTS),
        *STATS_TARGETS,
        *FIGURE_TARGETS,
        *expand(
            "results/figures/pretrain_{name}_loss.{ext}",
            name=PRETRAINED_USED,
            ext=["png", "pdf"],
        ),
    ]
