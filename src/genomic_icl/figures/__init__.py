"""Drawing every figure of the pipeline (docs/protocol.md §7 analogues and the extra
analyses). Which figures a config gets is planned in :mod:`genomic_icl.figure_registry`,
without matplotlib; only the figure jobs import this package.

- :mod:`~genomic_icl.figures.style`: the house style every plot uses (sizes, series
  styles, axes, :func:`~genomic_icl.figures.style.footnote`,
  :func:`~genomic_icl.figures.style.save`);
- :mod:`~genomic_icl.figures.context`: :class:`FigureContext`, all a plot function
  receives, and :func:`draw`, which draws one planned figure with the plot function
  its registry entry points at (``draw="module.function"``);
- one module per group of figures: :mod:`~genomic_icl.figures.accuracy` (Fig. 2),
  :mod:`~genomic_icl.figures.sizes` (Fig. 2c, 2d, 3),
  :mod:`~genomic_icl.figures.breakdowns` (Fig. 4, 7-10),
  :mod:`~genomic_icl.figures.fits` (Fig. 5), :mod:`~genomic_icl.figures.errors`
  (Fig. 6, 11), :mod:`~genomic_icl.figures.comparisons` (per task, paired
  differences), :mod:`~genomic_icl.figures.loss` (in-context loss) and
  :mod:`~genomic_icl.figures.pretrain` (the pretraining loss curve).

A plot function takes one :class:`FigureContext` and writes ``ctx.png`` and
``ctx.pdf``; it returns nothing.
"""

import matplotlib

matplotlib.use("Agg")  # before any pyplot figure: the jobs have no display

# every module of plot functions (a module the registry alone names is fingerprinted
# too: genomic_icl.codeversion.NAMED_BY)
from genomic_icl.figures import (  # noqa: E402
    accuracy,
    breakdowns,
    comparisons,
    errors,
    fits,
    loss,
    pretrain,
    sizes,
    style,
)
from genomic_icl.figures.accuracy import (  # noqa: E402
    match_reference,
    paired_significant,
    published_table4,
)
from genomic_icl.figures.context import FigureContext, draw, plot_function  # noqa: E402
from genomic_icl.figures.pretrain import pretrain_loss  # noqa: E402

__all__ = [
    "FigureContext",
    "accuracy",
    "breakdowns",
    "comparisons",
    "draw",
    "errors",
    "fits",
    "loss",
    "match_reference",
    "paired_significant",
    "plot_function",
    "pretrain",
    "pretrain_loss",
    "published_table4",
    "sizes",
    "style",
]
