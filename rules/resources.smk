# Resources each job asks for: memory and runtime grown on every retry, up to the
# config's caps (slurm.max_*); an inference job's from its model entry's `resources:`.
# Logic: genomic_icl.deploy. See docs/cluster.md.
from genomic_icl.deploy import attempt_scaled, model_resource


def inference_resource(key, scaled=False):
    """Resource callable reading a model entry's `resources:` (or the default);
    ``scaled``: grown on retries up to the entry's or the config's cap."""
    return model_resource(MODELS, key, config["slurm"], scaled)
