"""genomic-icl: in-context learning of genomic and linguistic next-token predictors."""

__version__ = "0.1.0"
