# Config validation and the names every rule file shares. Nothing heavy is imported
# here: planning must stay fast and work without torch, transformers or weights.
import re
import sys

from snakemake.exceptions import WorkflowError

from genomic_icl.config import (
    ConfigError,
    function_names,
    model_labels,
    pretrained_dir,
    pretrained_name,
)
from genomic_icl.figure_registry import empty_tables
from genomic_icl.planning import check_config, check_config_files
from genomic_icl.table_registry import TABLES, tables_of

# The checks `genomic-icl validate` runs, in one library call (genomic_icl.planning):
# the config files Snakemake merged, read strictly (keys given twice), then the merged
# config: schema, recipes, model entries (backends, checkpoints, tokenizers, context),
# size limits. Raised from here, so the message is not buried in library frames.
try:
    check_config_files(workflow.configfiles)
    _notes = check_config(config)
except ConfigError as _err:
    raise WorkflowError(str(_err))
if workflow.is_main_process:
    for _note in _notes:
        print(f"note: {_note}", file=sys.stderr)

MODELS = {m["name"]: m for m in config["models"]}
SHOTS = sorted(config["shots"])
FUNCTIONS = function_names(config)
ENCODINGS = list(config["encodings"])
# the encodings some model reads: only their prompts are built
USED_ENCODINGS = [
    e for e in ENCODINGS if any(m["encoding"] == e for m in MODELS.values())
]
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
        *expand(
            "results/prompts/{encoding}/n{n}.parquet", encoding=USED_ENCODINGS, n=SHOTS
        ),
        *STATS_TARGETS,
        *FIGURE_TARGETS,
        *expand(
            "results/figures/pretrain_{name}_loss.{ext}",
            name=PRETRAINED_USED,
            ext=["png", "pdf"],
        ),
    ]


# tables this config's models leave without rows: written (with their header), but not
# listed in the report
EMPTY_TABLES = empty_tables(
    config["models"], config["stats"]["baseline"], config["stats"]["comparisons"]
)


def table_outputs(builder):
    """The named outputs of the tables of ``builder`` in the table registry
    (genomic_icl.table_registry): results/tables/NAME.tsv, in the report's Tables with
    the registry's caption unless the table is empty."""
    outputs = {}
    for name in tables_of(builder):
        spec = TABLES[name]
        outputs[name] = spec.path
        if name not in EMPTY_TABLES:
            caption = f"../report/tables/{spec.caption}"
            outputs[name] = report(spec.path, caption=caption, category="Tables")
    return outputs
