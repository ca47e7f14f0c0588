"""Pretraining end to end on a minute-sized recipe: checkpoint, determinism, resume."""

import json

import numpy as np
import pandas as pd
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from conftest import TINY_PRETRAIN as TINY  # noqa: E402
from genomic_icl import corpus, figures, pretrain  # noqa: E402


@pytest.fixture(scope="module")
def fasta(tmp_path_factory):
    path = tmp_path_factory.mktemp("corpus") / "tiny.fa.gz"
    return corpus.write_fasta(corpus.CorpusRecipe.from_mapping(TINY["corpus"]), path)


@pytest.fixture(scope="module")
def trained(fasta, tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "tiny"
    summary = pretrain.pretrain(fasta, out, TINY, threads=1, progress=False)
    return out, summary


def test_checkpoint_loads_as_an_ordinary_model(trained):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    out, summary = trained
    tok = AutoTokenizer.from_pretrained(out)
    model = AutoModelForCausalLM.from_pretrained(out)
    ids = tok("ACGTTGCA", add_special_tokens=False, return_tensors="pt")["input_ids"]
    assert ids.shape == (1, 8)  # one token per nucleotide
    with torch.no_grad():
        logits = model(input_ids=ids).logits
    assert logits.shape == (1, 8, len(tok))
    assert model.config.max_position_embeddings == 512
    assert summary["steps"] == 8 and summary["parameters"] > 0
    assert json.loads((out / "pretrain.json").read_text())["recipe_digest"]


def test_loss_table_and_figure(trained, tmp_path):
    out, _ = trained
    loss = pd.read_csv(out / "loss.tsv", sep="\t")
    assert list(loss.columns) == list(pretrain.LOSS_COLUMNS)
    assert loss["step"].tolist() == list(range(1, 9))
    assert loss["context"].tolist() == [64] * 6 + [512] * 2
    assert np.isfinite(loss["loss"]).all()
    figures.pretrain_loss(out / "loss.tsv", tmp_path / "l.png", tmp_path / "l.pdf")
    assert (tmp_path / "l.png").stat().st_size > 0 and (tmp_path / "l.pdf").stat().st_size > 0


def test_same_seed_same_loss(fasta, trained, tmp_path):
    out, _ = trained
    pretrain.pretrain(fasta, tmp_path / "again", TINY, threads=1, progress=False)
    a = pd.read_csv(out / "loss.tsv", sep="\t")["loss"].to_numpy()
    b = pd.read_csv(tmp_path / "again" / "loss.tsv", sep="\t")["loss"].to_numpy()
    np.testing.assert_array_equal(a, b)


def test_resume_after_interruption(fasta, trained, tmp_path):
    out, _ = trained
    target = tmp_path / "resumed"
    stopped = pretrain.pretrain(fasta, target, TINY, threads=1, progress=False, stop_after=4)
    assert stopped == {"stopped_at": 4} and not target.exists()
    pretrain.pretrain(fasta, target, TINY, threads=1, progress=False)
    a = pd.read_csv(out / "loss.tsv", sep="\t")["loss"].to_numpy()
    b = pd.read_csv(target / "loss.tsv", sep="\t")["loss"].to_numpy()
    np.testing.assert_allclose(a, b, rtol=1e-5)


def test_batches_depend_on_seed_and_step_only():
    chroms = [np.arange(300, dtype=np.uint8) % 4]
    s = pretrain.WindowSampler(chroms, [4, 5, 6, 7], seed=1, revcomp_prob=0.5)
    assert np.array_equal(s.batch(5, 3, 32), s.batch(5, 3, 32))
    assert not np.array_equal(s.batch(5, 3, 32), s.batch(6, 3, 32))
    assert set(np.unique(s.batch(0, 4, 32))) <= {4, 5, 6, 7}


def test_recipe_errors():
    with pytest.raises(ValueError, match="unknown pretrain training keys"):
        pretrain.parse_recipe({"training": {"stepz": 3}})
    with pytest.raises(ValueError, match="exceeds model.context"):
        pretrain.parse_recipe(
            {
                "model": {"context": 128},
                "training": {"phases": [{"steps": 1, "context": 256, "batch": 1}]},
            }
        )


def test_default_recipe_architecture_trains_and_loads(fasta, tmp_path):
    """The architecture section of config.yaml's DNA model (LFM2), at a tiny size."""
    import yaml
    from transformers import AutoModelForCausalLM

    from conftest import REPO

    shipped = yaml.safe_load((REPO / "config.yaml").read_text())
    (recipe,) = shipped["pretrain"].values()
    model = {**recipe["model"], "d_model": 32, "heads": 2, "context": 512}
    tiny = {**TINY, "model": model}
    summary = pretrain.pretrain(fasta, tmp_path / "lfm2", tiny, threads=1, progress=False)
    loaded = AutoModelForCausalLM.from_pretrained(tmp_path / "lfm2")
    assert loaded.config.model_type == "lfm2"
    for key, value in model["extra"].items():
        assert getattr(loaded.config, key) == value, key
    assert summary["steps"] == 8 and np.isfinite(summary["final_loss_mean_last_20"])


def test_default_config_states_its_dna_models_parameter_count():
    """A `params` stated for a pretrained model (figures place models by size) must
    be the count of the model its recipe builds, so a recipe edit cannot leave it stale."""
    import yaml

    from conftest import REPO

    cfg = yaml.safe_load((REPO / "config.yaml").read_text())
    tok = pretrain.tokenizer()
    special = pretrain.special_ids(tok)
    checked = 0
    for entry in cfg["models"]:
        name = str(entry["checkpoint"]).removeprefix("pretrained:")
        if name in cfg.get("pretrain", {}) and "params" in entry:
            _, model_r, _ = pretrain.parse_recipe(cfg["pretrain"][name])
            model = pretrain.build_model(model_r, len(tok), special)
            assert entry["params"] == sum(p.numel() for p in model.parameters()), entry["name"]
            checked += 1
    assert checked == 1
