# genomic-icl: in-context learning of genomic and linguistic next-token predictors.
# Flow: prompts -> predictions per model -> scored results -> tables -> figures/report.
from snakemake.utils import min_version

min_version("9.0")


configfile: "config.yaml"


include: "rules/common.smk"
include: "rules/deploy.smk"
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
