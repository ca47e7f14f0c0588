# Config validation and the names every rule file shares. Nothing heavy is imported
# here: planning must stay fast and work without torch, transformers or weights.
import re

from genomic_icl.config import encoding, function_names, validate_config

validate_config(config)

MODELS = {m["name"]: m for m in config["models"]}
SHOTS = sorted(config["shots"])
FUNCTIONS = function_names(config)
ENCODINGS = list(config["encodings"])


wildcard_constraints:
    model="|".join(re.escape(m) for m in MODELS),
    encoding="|".join(re.escape(e) for e in ENCODINGS),
    n=r"\d+",


def prompts_path(model, n):
    """The prompt table a model reads at n shots."""
    return f"results/prompts/{MODELS[model]['encoding']}/n{n}.parquet"


def all_outputs():
    """Every final target of the workflow."""
    return [
        *expand("results/prompts/{encoding}/n{n}.parquet", encoding=ENCODINGS, n=SHOTS),
        "results/tables/accuracy.tsv",
        "results/figures/accuracy_vs_shots.png",
        "results/figures/accuracy_vs_shots.pdf",
    ]
