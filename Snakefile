# genomic-icl: in-context learning of genomic and linguistic next-token predictors.
# Flow: prompts -> predictions per model -> scored results -> tables -> figures/report.
from snakemake.utils import min_version

min_version("9.14.5")


# config.yaml read strictly first (genomic_icl.config.read_yaml): Snakemake's own
# reader keeps the last of a key given twice and names no line of a syntax error.
import os

from snakemake.exceptions import WorkflowError

from genomic_icl.config import ConfigError, read_yaml

if os.path.exists("config.yaml"):
    try:
        read_yaml("config.yaml")
    except ConfigError as err:
        raise WorkflowError(str(err))


configfile: "config.yaml"


include: "rules/common.smk"
include: "rules/deploy.smk"


# Global directives: the report's front page, and the image of every rule that has
# none of its own (--sdm apptainer; inference rules name their model's image).
report: "report/workflow.rst"


container: step_container("cpu")


include: "rules/pretrain.smk"
include: "rules/prompts.smk"
include: "rules/inference.smk"
include: "rules/scoring.smk"
include: "rules/stats.smk"
include: "rules/figures.smk"


rule all:
    default_target: True
    input:
        all_outputs(),
