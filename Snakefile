# genomic-icl: in-context learning of genomic and linguistic next-token predictors.
# Flow: prompts -> predictions per model -> scored results -> tables -> figures/report.
import importlib.util
import os
import sys

from snakemake.utils import min_version

min_version("9.14.5")

# The library: an installed genomic_icl wins; where none is (the workflow catalog
# lints with only Snakemake installed), this checkout's src/. Jobs always import src/
# (rules/software.smk), so planning says so when the installed copy is another one.
_SRC = os.path.join(workflow.basedir, "src")
_LIB = importlib.util.find_spec("genomic_icl")
if _LIB is None:
    sys.path.insert(0, _SRC)
elif workflow.is_main_process:
    _own = os.path.join(_SRC, "genomic_icl")
    _used = os.path.dirname(_LIB.origin)
    if not (os.path.isdir(_own) and os.path.samefile(_used, _own)):
        print(
            f"note: planning uses the installed genomic_icl ({_used}), not this "
            f"checkout's ({_own}); jobs import the checkout's",
            file=sys.stderr,
        )

# config.yaml read strictly first (genomic_icl.config.read_yaml): Snakemake's own
# reader keeps the last of a key given twice and names no line of a syntax error.
from snakemake.exceptions import WorkflowError

from genomic_icl.config import ConfigError, read_yaml

if os.path.exists("config.yaml"):
    try:
        read_yaml("config.yaml")
    except ConfigError as err:
        raise WorkflowError(str(err))


configfile: "config.yaml"


include: "rules/common.smk"
# Deployment, one concern a file: software (images, conda envs, the jobs' environment),
# resources, SLURM (account, partition, GPU request), rerun fingerprints.
include: "rules/software.smk"
include: "rules/resources.smk"
include: "rules/slurm.smk"
include: "rules/fingerprints.smk"


# Global directives: the report's front page, and the image of every rule that has
# none of its own (--sdm apptainer; inference rules name their model's image).
report: "report/workflow.rst"


container: step_container(CPU_STEP)


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
