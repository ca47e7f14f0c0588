"""Bad input to every `genomic-icl` subcommand: one line naming the problem, exit
status 2 (argparse's convention), never a traceback, nothing left behind (issue 20)."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest
import yaml

from genomic_icl.cli import main
from genomic_icl.io import write_table
from genomic_icl.prompts import Encoding, prompt_table

FUNCS = ["identity", "rotl1"]
GEN = Encoding("genomic", "ACGT")
LING = Encoding("linguistic", "0123456789")


def refused(capsys, argv, *needles):
    """Run the command line; it must exit 2 with one line holding every needle."""
    try:
        code = main(argv)
    except SystemExit as done:  # argparse's own refusals
        code = done.code
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    last = err.splitlines()[-1]
    assert last.startswith("genomic-icl"), err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in last, err
    return last


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "c.yaml"
    model = {"name": "mode", "backend": "reference", "checkpoint": "mode", "encoding": "genomic"}
    path.write_text(
        yaml.safe_dump(
            {"functions": FUNCS, "shots": [2], "trials": 2, "models": [model]}, sort_keys=False
        )
    )
    return path


# -- fit ---------------------------------------------------------------------------------
def _tsv(tmp_path, text):
    path = tmp_path / "acc.tsv"
    path.write_text("model\tn_shots\taccuracy\n" + text)
    return path


@pytest.mark.parametrize(
    ("rows", "needle"),
    [
        ("a\t1\t0.1\na\t2\tabc\n", "accuracy 'abc' on line 3 is not a number"),
        ("a\tone\t0.1\n", "n_shots 'one' on line 2 is not a number"),
        ("a\t1\t0.1\na\t2\t\n", "empty accuracy cell on line 3"),
        ("a\t1\t0.1\na\t1\t0.2\na\t2\t0.3\n", "model 'a' has n_shots 1 on more than one line"),
        ("a\t1.5\t0.1\n", "n_shots must be positive whole numbers"),
        ("a\t1\tnan\n", "accuracy 'nan' on line 2 is not a number"),
        ("", "no rows"),
    ],
)
def test_fit_refuses_bad_cells(tmp_path, capsys, rows, needle):
    refused(capsys, ["fit", str(_tsv(tmp_path, rows))], needle)


def test_fit_refuses_a_missing_file(tmp_path, capsys):
    refused(capsys, ["fit", str(tmp_path / "none.tsv")], "does not exist")


# -- prompts -----------------------------------------------------------------------------
@pytest.mark.parametrize("n", ["256", "0", "two"])
def test_prompts_refuses_n_outside_1_to_255(config, tmp_path, capsys, n):
    out = tmp_path / "p.parquet"
    argv = ["prompts", "--config", str(config), "--encoding", "genomic", "-n", n, "-o", str(out)]
    refused(capsys, argv, "-n/--n-shots")
    assert not out.exists()


def test_prompts_into_a_directory_leaves_nothing_behind(config, tmp_path, capsys):
    out = tmp_path / "dir"
    out.mkdir()
    argv = ["prompts", "--config", str(config), "--encoding", "genomic", "-n", "4", "-o", str(out)]
    refused(capsys, argv, "is a directory")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.yaml", "dir"]


def test_a_failed_write_removes_its_temporary_file(tmp_path):
    out = tmp_path / "dir"
    out.mkdir()
    with pytest.raises(IsADirectoryError):
        write_table(pd.DataFrame({"a": [1]}), out)
    assert not (tmp_path / "dir.tmp").exists()


def test_prompts_refuses_an_unknown_encoding(config, tmp_path, capsys):
    argv = ["prompts", "--config", str(config), "--encoding", "rna", "-n", "4", "-o", "x.pq"]
    refused(capsys, argv, "encodings: no encoding named 'rna'")


# -- predict -----------------------------------------------------------------------------
def _predict(capsys, config, prompts, tmp_path, *needles):
    out = tmp_path / "o.parquet"
    argv = ["predict", "--config", str(config), "--model", "mode", "--prompts", str(prompts)]
    refused(capsys, [*argv, "-o", str(out)], "--prompts", *needles)
    assert not out.exists()


def _table(tmp_path, table, name="p.parquet"):
    path = tmp_path / name
    write_table(table, path)
    return path


def test_predict_refuses_a_missing_table(config, tmp_path, capsys):
    _predict(capsys, config, tmp_path / "none.parquet", tmp_path, "does not exist")


def test_predict_refuses_a_tsv(config, tmp_path, capsys):
    path = tmp_path / "p.tsv"
    prompt_table(FUNCS, 2, 2, GEN, 1).to_csv(path, sep="\t", index=False)
    _predict(capsys, config, path, tmp_path, "is not a Parquet prompt table")


def test_predict_refuses_another_schema(config, tmp_path, capsys):
    path = _table(tmp_path, pd.DataFrame({"prompt": ["ACGT"], "x": [1]}))
    _predict(capsys, config, path, tmp_path, "missing columns")


def test_predict_refuses_an_empty_table(config, tmp_path, capsys):
    path = _table(tmp_path, prompt_table(FUNCS, 2, 2, GEN, 1).iloc[:0])
    _predict(capsys, config, path, tmp_path, "has no rows")


def test_predict_refuses_prompts_of_another_encoding(config, tmp_path, capsys):
    path = _table(tmp_path, prompt_table(FUNCS, 2, 2, LING, 1))
    _predict(capsys, config, path, tmp_path, "encoding 'linguistic', not the model's 'genomic'")


def test_predict_refuses_lower_case_dna(config, tmp_path, capsys):
    table = prompt_table(FUNCS, 2, 2, GEN, 1)
    for col in ("sym0", "sym1", "sep", "prompt", "target"):
        table[col] = table[col].str.lower()
    _predict(capsys, config, _table(tmp_path, table), tmp_path, "are not 3 symbols of 'ACGT'")


def test_predict_refuses_symbols_inconsistent_with_the_prompt(config, tmp_path, capsys):
    table = prompt_table(FUNCS, 2, 2, GEN, 1)
    unused = (set("ACGT") - {table.loc[1, "sym0"], table.loc[1, "sym1"], table.loc[1, "sep"]}).pop()
    table.loc[1, "prompt"] = unused + table.loc[1, "prompt"][1:]
    _predict(capsys, config, _table(tmp_path, table), tmp_path, "row 1", "other than sym0/sym1/sep")
    table = prompt_table(FUNCS, 2, 2, GEN, 1)
    table.loc[0, "target"] = table.loc[0, "target"][:7]
    _predict(capsys, config, _table(tmp_path, table), tmp_path, "row 0", "is not 8 symbols")


def test_predict_accepts_its_own_prompts(config, tmp_path, capsys):
    """The control: the same command on a table `genomic-icl prompts` wrote runs."""
    path = _table(tmp_path, prompt_table(FUNCS, 2, 2, GEN, 1))
    out = tmp_path / "o.parquet"
    argv = ["predict", "--config", str(config), "--model", "mode", "--prompts", str(path)]
    assert main([*argv, "-o", str(out)]) == 0
    assert len(pd.read_parquet(out)) == 4


def test_predict_refuses_an_unknown_model(config, tmp_path, capsys):
    path = _table(tmp_path, prompt_table(FUNCS, 2, 2, GEN, 1))
    argv = ["predict", "--config", str(config), "--model", "qwen", "--prompts", str(path)]
    refused(capsys, [*argv, "-o", str(tmp_path / "o.pq")], "no model named 'qwen'")


# -- validate ------------------------------------------------------------------------------
def test_validate_refuses_a_missing_file(tmp_path, capsys):
    refused(capsys, ["validate", str(tmp_path / "none.yaml")], "config file not found")


def test_console_refusals_are_one_line(config, tmp_path):
    """As a user's shell sees them: a separate process, stderr of one line, status 2."""
    bad = _tsv(tmp_path, "a\t1\tabc\n")
    for argv in (
        ["fit", str(bad)],
        ["prompts", "--config", str(config), "--encoding", "genomic", "-n", "256", "-o", "x"],
        ["predict", "--config", str(config), "--model", "mode", "--prompts", str(bad), "-o", "o"],
    ):
        proc = subprocess.run(
            [sys.executable, "-m", "genomic_icl.cli", *argv],
            capture_output=True,
            text=True,
            cwd=tmp_path,
        )
        assert proc.returncode == 2, proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert "Traceback" not in proc.stderr, proc.stderr
        if argv[0] == "prompts":  # argparse's usage lines, then its one error line
            assert lines[0].startswith("usage:")
            lines = lines[-1:]
        assert len(lines) == 1 and lines[0].startswith("genomic-icl"), proc.stderr
