"""The ``genomic-icl`` command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from genomic_icl.config import ConfigError


class InputError(ValueError):
    """A command's input is unusable; the message names it (exit status 2)."""


def _n_shots(text: str) -> int:
    """``-n``: a whole number of demonstrations in 1..255 (there are 256 inputs and
    the query must be unseen)."""
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 1 <= n <= 255:
        raise argparse.ArgumentTypeError(f"{n} is outside 1..255")
    return n


def _writable_file(path: str) -> str:
    """Refuse an output path that is a directory before any work is done."""
    import os

    if os.path.isdir(path):
        raise InputError(f"output {path} is a directory; give a file name")
    return path


def _functions(args: argparse.Namespace) -> int:
    from genomic_icl.functions import FUNCTION_NAMES, check_distinct, get_function

    check_distinct()
    print("name\tcategory\tn_primitives\tbit_load")
    for name in FUNCTION_NAMES:
        f = get_function(name)
        print(f"{f.name}\t{f.category}\t{f.n_primitives}\t{f.bit_load}")
    return 0


def _prompts(args: argparse.Namespace) -> int:
    from genomic_icl.config import encoding, function_names, load_config
    from genomic_icl.io import write_table
    from genomic_icl.prompts import prompt_table

    config = load_config(args.config)
    if args.encoding not in config["encodings"]:
        raise ConfigError(f"encodings: no encoding named {args.encoding!r} in {args.config}")
    _writable_file(args.output)
    table = prompt_table(
        function_names(config),
        args.n,
        config["trials"],
        encoding(config, args.encoding),
        config["seed"],
    )
    write_table(table, args.output)
    print(f"{len(table)} prompts -> {args.output}", file=sys.stderr)
    return 0


def _validate(args: argparse.Namespace) -> int:
    from genomic_icl.planning import load_and_check

    config, notes = load_and_check(args.config)
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    print(f"{args.config}: valid ({len(config['models'])} models)")
    return 0


def _predict(args: argparse.Namespace) -> int:
    import importlib.util

    from genomic_icl.config import encoding, load_config, load_config_without_schema, model_entry
    from genomic_icl.inference import predict_file
    from genomic_icl.io import read_table
    from genomic_icl.prompts import prompt_table_errors

    if importlib.util.find_spec("jsonschema") is None:  # a GPU image: checks but the schema's
        print(
            "genomic-icl: jsonschema is not installed; the config's schema is not checked "
            "(run `genomic-icl validate` on it elsewhere)",
            file=sys.stderr,
        )
        config = load_config_without_schema(args.config)
    else:
        config = load_config(args.config)
    spec = model_entry(config, args.model)
    _writable_file(args.output)
    try:
        prompts = read_table(args.prompts)
    except FileNotFoundError:
        raise InputError(f"--prompts: {args.prompts} does not exist") from None
    except Exception as err:  # noqa: BLE001 (pyarrow's errors share no base class)
        why = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise InputError(
            f"--prompts: {args.prompts} is not a Parquet prompt table (written by "
            f"`genomic-icl prompts`): {why}"
        ) from None
    errors = prompt_table_errors(prompts, encoding(config, spec["encoding"]))
    if errors:
        raise InputError(
            f"--prompts: {args.prompts} is not a prompt table for model {spec['name']!r} "
            f"(encoding {spec['encoding']!r}): {errors[0]}"
        )
    seed = config["seed"] if args.seed is None else args.seed
    predict_file(spec, args.prompts, args.output, seed)
    print(f"{spec['name']}: predictions -> {args.output}", file=sys.stderr)
    return 0


def _plan(args: argparse.Namespace) -> int:
    from genomic_icl.config import load_config
    from genomic_icl.costplan import ASSUMED_TFLOPS, cost_plan, format_plan

    config = load_config(args.config)
    tflops = ASSUMED_TFLOPS if args.tflops is None else args.tflops
    plan = cost_plan(config, tflops, args.measured)
    print(format_plan(plan, args.config, tflops))
    return 0


def _fit(args: argparse.Namespace) -> int:
    from genomic_icl.stats import fit_table, read_accuracy_tsv

    try:
        table = read_accuracy_tsv(args.accuracy_tsv)
    except FileNotFoundError:
        raise InputError(f"{args.accuracy_tsv} does not exist") from None
    except (OSError, ValueError) as err:
        raise InputError(str(err)) from None
    fit_table(table).to_csv(sys.stdout, sep="\t", index=False, float_format="%.6g")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(prog="genomic-icl", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("functions", help="print the 100 functions as a TSV table")
    p.set_defaults(func=_functions)

    p = sub.add_parser("validate", help="validate a config file")
    p.add_argument("config")
    p.set_defaults(func=_validate)

    p = sub.add_parser("prompts", help="write the prompt table of one encoding and n")
    p.add_argument("--config", default="config.yaml")
    p.add_argument("--encoding", required=True)
    p.add_argument("-n", "--n-shots", dest="n", type=_n_shots, required=True, help="1..255")
    p.add_argument("-o", "--output", required=True)
    p.set_defaults(func=_prompts)

    p = sub.add_parser(
        "predict",
        help="run one model on one prompt table (resumable; the code the workflow runs)",
    )
    p.add_argument("--config", default="config.yaml")
    p.add_argument("--model", required=True, help="a model name from the config")
    p.add_argument("--prompts", required=True, help="a prompt table (Parquet)")
    p.add_argument("-o", "--output", required=True, help="the predictions file to write")
    p.add_argument("--seed", type=int, default=None, help="default: the config's seed")
    p.set_defaults(func=_predict)

    p = sub.add_parser(
        "plan",
        help="print what a config costs before launch: per model its prompts, tokens, "
        "FLOPs, weights, peak GPU memory, GPU-hours and the SLURM request of its job",
    )
    p.add_argument("config")
    p.add_argument(
        "--tflops",
        type=float,
        default=None,
        help="achieved TFLOP/s per GPU assumed where nothing was measured (default: 35%% "
        "of an H100's dense bf16 peak)",
    )
    p.add_argument(
        "--measured", help="a GPU session's gpu.tsv (benchmarks/gpu.py): its tokens/s win"
    )
    p.set_defaults(func=_plan)

    p = sub.add_parser(
        "fit",
        help="fit accuracy = a0 + a1*log2(n) per model of a TSV (model, n_shots, accuracy "
        "as fractions); prints fits.tsv's columns (p_value: one-sided t-test a1 > 0)",
    )
    p.add_argument("accuracy_tsv")
    p.set_defaults(func=_fit)

    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point. Bad input (a config, a file, a model entry) exits with status 2 and
    one line naming the problem, never a traceback; argparse does the same for
    arguments."""
    from genomic_icl.integrity import IntegrityError
    from genomic_icl.models.base import BackendError

    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ConfigError, InputError, BackendError, IntegrityError) as err:
        print(f"genomic-icl {args.command}: {err}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into head and closed early
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
