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


def test_resume_after_interruption(fasta, trained, tmp_path, capsys):
    """A run stopped after step 4 (between checkpoints) resumes there and ends with
    the uninterrupted run's log and weights."""
    out, _ = trained
    target, resume = tmp_path / "resumed", tmp_path / "resumed.resume"
    stopped = pretrain.train(
        pretrain.setup(fasta, TINY, resume / "state.pt", threads=1), until=4, progress=False
    )
    assert stopped.step == 4 and not stopped.done
    with pytest.raises(ValueError, match="stopped at step 4 of 8"):
        pretrain.save(stopped, tmp_path / "early")
    summary = pretrain.pretrain(fasta, target, TINY, threads=1, progress=False)
    assert "resuming from step 4" in capsys.readouterr().out
    a = pd.read_csv(out / "loss.tsv", sep="\t")
    b = pd.read_csv(target / "loss.tsv", sep="\t")
    np.testing.assert_allclose(a["loss"], b["loss"], rtol=1e-5)
    pd.testing.assert_frame_equal(a.drop(columns="elapsed_s"), b.drop(columns="elapsed_s"))
    assert summary["steps"] == 8 and summary["tokens"] == a["tokens"].iloc[-1]
    assert 0 < summary["train_seconds"] == pytest.approx(b["elapsed_s"].iloc[-1], abs=0.01)


def test_checkpoint_of_another_recipe_is_ignored(fasta, tmp_path, capsys):
    state = tmp_path / "state.pt"
    pretrain.train(pretrain.setup(fasta, TINY, state, threads=1), until=2, progress=False)
    other = {**TINY, "training": {**TINY["training"], "seed": 99}}
    run = pretrain.setup(fasta, other, state, threads=1)
    assert not pretrain.restore(run) and run.step == 0
    assert "belongs to another recipe" in capsys.readouterr().out


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


def _default_recipe() -> dict:
    import yaml

    from conftest import REPO

    return yaml.safe_load((REPO / "config.yaml").read_text())["pretrain"]["dna"]


def test_shipped_weights_are_the_default_recipes_product():
    """The weights shipped with the package (docs/dna-model.md) are the model of
    config.yaml's recipe: same digest and recipe, the recipe's architecture and
    parameter shapes, its full training log, and the copying the log recorded."""
    from transformers import AutoModelForCausalLM

    recipe = _default_recipe()
    path = pretrain.shipped_weights(recipe)
    assert path is not None, (
        "config.yaml's pretrain.dna has no shipped weights: retrain and ship them "
        "(docs/dna-model.md, 'Shipped weights')"
    )
    summary = json.loads((path / "pretrain.json").read_text())
    assert summary["recipe_digest"] == pretrain.recipe_digest(recipe)
    assert summary["recipe"] == json.loads(json.dumps(recipe))

    tok = pretrain.tokenizer()
    _, model_r, training = pretrain.parse_recipe(recipe)
    built = pretrain.build_model(model_r, len(tok), pretrain.special_ids(tok))
    loaded = AutoModelForCausalLM.from_pretrained(path)
    for key in (
        "model_type",
        "vocab_size",
        "hidden_size",
        "intermediate_size",
        "num_hidden_layers",
        "num_attention_heads",
        "layer_types",
        "conv_L_cache",
        "max_position_embeddings",
    ):
        assert getattr(loaded.config, key) == getattr(built.config, key), key
    assert _rope_theta(loaded.config) == _rope_theta(built.config) == model_r.rope_theta
    shapes = {k: tuple(v.shape) for k, v in loaded.state_dict().items()}
    assert shapes == {k: tuple(v.shape) for k, v in built.state_dict().items()}
    assert sum(p.numel() for p in loaded.parameters()) == summary["parameters"]

    loss = pd.read_csv(path / "loss.tsv", sep="\t")
    assert list(loss["step"]) == list(range(1, training.total_steps + 1))
    assert loss["tokens"].iloc[-1] == summary["tokens"]

    token_ids = tok.convert_tokens_to_ids(list(pretrain.GENOMIC_ALPHABET))
    probe = torch.from_numpy(pretrain.copy_probe_batch(token_ids))
    copy = pretrain.copy_loss(loaded.eval(), probe, None)  # fp32 here, whatever trained it
    assert copy == pytest.approx(summary["final_copy_loss"], abs=0.05)
    assert copy < 0.5 < np.log(4)  # it copies from its context (induction)


def _rope_theta(config) -> float:
    """The RoPE base of a transformers config: an attribute up to transformers 5.2x,
    ``rope_parameters["rope_theta"]`` from then on (5.25 has no attribute)."""
    params = getattr(config, "rope_parameters", None) or {}
    return params.get("rope_theta", getattr(config, "rope_theta", None))


def test_shipped_weights_are_found_by_digest_only(tmp_path):
    recipe = _default_recipe()
    assert (
        pretrain.shipped_weights({**recipe, "training": {**recipe["training"], "seed": 1}}) is None
    )
    assert pretrain.shipped_weights(recipe, shipped_dir=tmp_path) is None
    path = pretrain.shipped_weights(recipe)
    out = pretrain.install_shipped(path, tmp_path / "dna", recipe)
    assert out["recipe_digest"] == pretrain.recipe_digest(recipe)
    assert (tmp_path / "dna" / "model.safetensors").read_bytes() == (
        path / "model.safetensors"
    ).read_bytes()
    with pytest.raises(ValueError, match="trained from recipe"):
        pretrain.install_shipped(path, tmp_path / "other", {**recipe, "corpus": {"seed": 2}})


@pytest.mark.slow
def test_shipped_training_log_replays_from_the_recipe(tmp_path):
    """Retraining config.yaml's recipe from scratch (corpus, seeds, loop) gives the
    shipped log's first steps: the weights come from this recipe and this code. Up
    to precision: the shipped run used bf16 autocast where the CPU has it."""
    recipe = _default_recipe()
    shipped = pd.read_csv(pretrain.shipped_weights(recipe) / "loss.tsv", sep="\t")
    fasta = corpus.write_fasta(
        corpus.CorpusRecipe.from_mapping(recipe["corpus"]), tmp_path / "dna.fa.gz"
    )
    run = pretrain.setup(fasta, recipe, tmp_path / "state.pt", threads=1)
    replayed = [r["loss"] for r in pretrain.train(run, until=8, progress=False).rows]
    assert len(replayed) == 8
    np.testing.assert_allclose(replayed, shipped["loss"].iloc[:8], atol=0.02)
