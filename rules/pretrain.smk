# Pretraining of small DNA models by the workflow (config `pretrain:`): an evolving-
# genome corpus, a causal transformer trained on it by next-token loss, its loss
# figure. A model entry uses one with `checkpoint: "pretrained:NAME"`; its input is
# the directory results/pretrained/NAME (see rules/common.smk).
# A recipe whose weights ship with the package (same recipe digest) is not trained:
# rule pretrained_shipped copies them there, unless `shipped_weights: false`.
from genomic_icl.pretrain import shipped_weights

PRETRAIN = config.get("pretrain", {})
SHIPPED = {
    name: str(path)
    for name in PRETRAINED_USED
    if config.get("shipped_weights", True)
    and (path := shipped_weights(PRETRAIN[name])) is not None
}


wildcard_constraints:
    pretrained=one_of(PRETRAIN),


rule pretrained_shipped:
    input:
        weights=lambda w: SHIPPED[w.pretrained],
    output:
        model=directory("results/pretrained/{pretrained}"),
    log:
        "logs/pretrain/{pretrained}.log",
    wildcard_constraints:
        pretrained=one_of(SHIPPED),
    conda:
        "../envs/cpu.yaml"
    resources:
        mem_mb=attempt_scaled(500),
        runtime=attempt_scaled(5),
    params:
        code=code_of("scripts/pretrained_shipped.py"),
        recipe=lambda w: PRETRAIN[w.pretrained],
    script:
        "../scripts/pretrained_shipped.py"


rule corpus:
    output:
        "results/corpus/{pretrained}.fa.gz",
    log:
        "logs/corpus/{pretrained}.log",
    conda:
        "../envs/cpu.yaml"
    resources:
        mem_mb=attempt_scaled(2000),
        runtime=attempt_scaled(20),
    params:
        code=code_of("scripts/corpus.py"),
        recipe=lambda w: PRETRAIN[w.pretrained].get("corpus", {}),
    script:
        "../scripts/corpus.py"


rule pretrain:
    input:
        corpus="results/corpus/{pretrained}.fa.gz",
    output:
        model=directory("results/pretrained/{pretrained}"),
    log:
        "logs/pretrain/{pretrained}.log",
    wildcard_constraints:
        pretrained=one_of(sorted(set(PRETRAIN) - set(SHIPPED))),
    conda:
        "../envs/cpu.yaml"
    threads: 2
    resources:
        mem_mb=attempt_scaled(4000),
        runtime=attempt_scaled(120),
    params:
        code=code_of("scripts/pretrain.py"),
        recipe=lambda w: PRETRAIN[w.pretrained],
        # training checkpoints live outside the output so a failed job keeps them
        resume="results/pretrain_resume/{pretrained}",
    script:
        "../scripts/pretrain.py"


rule pretrain_loss_figure:
    input:
        model="results/pretrained/{pretrained}",
    output:
        png="results/figures/pretrain_{pretrained}_loss.png",
        pdf="results/figures/pretrain_{pretrained}_loss.pdf",
    log:
        "logs/figures/pretrain_{pretrained}_loss.log",
    conda:
        "../envs/cpu.yaml"
    resources:
        mem_mb=attempt_scaled(1000),
        runtime=attempt_scaled(10),
    params:
        code=code_of("scripts/pretrain_loss_figure.py"),
    script:
        "../scripts/pretrain_loss_figure.py"
