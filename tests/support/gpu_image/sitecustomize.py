"""Runs at interpreter start when this folder is on PYTHONPATH: makes the packages that
the lent GPU sessions' image lacks (jsonschema, snakemake) not installed, as far as
Python can tell (``import`` fails, ``importlib.util.find_spec`` gives None), so that a
CPU machine rehearses what runs there (benchmarks/gpu_session.sh --tiny, and the
tests that check prediction imports neither)."""

import sys

MISSING = ("jsonschema", "snakemake")


class _Hiding:
    """One of Python's import finders, blind to the missing packages."""

    def __init__(self, finder) -> None:
        self._finder = finder

    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in MISSING:
            return None
        return self._finder.find_spec(name, path, target)

    def __getattr__(self, attr):
        return getattr(self._finder, attr)


for _name in [m for m in sys.modules if m.partition(".")[0] in MISSING]:
    del sys.modules[_name]
sys.meta_path[:] = [
    f if isinstance(f, _Hiding) or not hasattr(f, "find_spec") else _Hiding(f)
    for f in sys.meta_path
]
