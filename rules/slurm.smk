# SLURM: the account every job is charged to, and the partition and GPU request form
# of inference jobs (config `slurm:`, a model entry's `resources:`). Ignored by local
# runs. Where the config and the profile name no account, the main Snakemake process
# asks sacctmgr for the user's default account once, while this file is read.
# Logic: genomic_icl.deploy. See docs/cluster.md.
from genomic_icl.deploy import (
    gpu_resources,
    set_default_resource,
    site_account,
    site_resources,
)

_DEFAULTS = workflow.resource_settings.default_resources
SITE_ACCOUNT = site_account(
    config["slurm"]["account"], _DEFAULTS, workflow.is_main_process
)
if SITE_ACCOUNT and _DEFAULTS is not None:
    # every job's account, CPU steps included (rules name none of their own)
    set_default_resource(_DEFAULTS, "slurm_account", SITE_ACCOUNT)


def inference_site_resources():
    """slurm_partition / slurm_account of inference jobs (a model entry's own wins)."""
    return site_resources(MODELS, SITE_ACCOUNT)


def inference_gpu_resources():
    """How inference jobs ask for their GPUs: `gpu` or `gres` (slurm.gpu_request)."""
    return gpu_resources(MODELS, config["slurm"]["gpu_request"])
