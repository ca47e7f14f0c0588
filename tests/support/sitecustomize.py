"""Runs at interpreter start when this folder is on PYTHONPATH (test subprocesses
only): with GENOMIC_ICL_VORTEX_CPU=1, the vortex CPU stand-ins
(:func:`genomic_icl.models.evo2.patches.install_cpu_standins`) are installed the first
time ``vortex`` or ``evo2`` is imported, so the real Evo 2 code path runs in Snakemake
jobs on a machine without CUDA."""

import os
import sys

if os.environ.get("GENOMIC_ICL_VORTEX_CPU") == "1":

    class _InstallBeforeVortex:
        """A meta-path hook that installs the stand-ins, then lets the normal finders work."""

        @staticmethod
        def find_spec(name, path=None, target=None):
            if name in ("vortex", "evo2"):
                sys.meta_path.remove(_InstallBeforeVortex)
                from genomic_icl.models.evo2.patches import install_cpu_standins

                install_cpu_standins()
            return None

    sys.meta_path.insert(0, _InstallBeforeVortex)
