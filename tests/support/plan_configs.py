"""`snakemake -n` on many configs in one Python process (tests/test_bad_configs.py).

Each config is planned through Snakemake's own command line entry point
(``snakemake.cli.main``, the function the ``snakemake`` command runs) with the same
arguments as ``snakemake -s SNAKEFILE -d DIR --configfile FILE -n``, so the real
planning path runs: Snakemake's config loading, the Snakefile and every rule file.
Only the interpreter start and Snakemake's import (about 1.6 s of the 2-3 s a
``snakemake -n`` takes) are shared. Between configs the working directory and the
environment (the Snakefile exports HF_HOME and bind paths) are restored.

Usage: python plan_configs.py SNAKEFILE CONFIG...   A config named config.yaml is
read by the Snakefile's `configfile:` directive (no --configfile). Writes, beside
each CONFIG, CONFIG.out (stdout and stderr together) and CONFIG.rc (exit status).
"""

import os
import sys
from pathlib import Path

from snakemake.cli import main


def plan(snakefile: str, config: Path) -> int:
    args = ["-s", snakefile, "-d", str(config.parent), "-n", "--quiet", "rules"]
    if config.name != "config.yaml":
        args += ["--configfile", str(config)]
    try:
        main(args)
    except SystemExit as done:
        return int(done.code or 0)
    return 0


def main_many(snakefile: str, configs: list[str]) -> None:
    cwd, env = os.getcwd(), dict(os.environ)
    for name in configs:
        config = Path(name).absolute()
        sys.stdout.flush(), sys.stderr.flush()
        saved = os.dup(1), os.dup(2)
        with open(f"{config}.out", "w") as out:
            os.dup2(out.fileno(), 1), os.dup2(out.fileno(), 2)
            try:
                code = plan(snakefile, config)
            finally:
                sys.stdout.flush(), sys.stderr.flush()
                os.dup2(saved[0], 1), os.dup2(saved[1], 2)
                os.close(saved[0]), os.close(saved[1])
        Path(f"{config}.rc").write_text(str(code))
        os.chdir(cwd)
        os.environ.clear()
        os.environ.update(env)


if __name__ == "__main__":
    main_many(sys.argv[1], sys.argv[2:])
