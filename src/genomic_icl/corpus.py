"""A seeded generator of DNA-like pretraining sequence (an "evolving genome").

The corpus is genome-like, not task-like: it is simulated from a small model of
genome evolution and is never built from the task functions, the symbol
encodings or the prompt layout (this module imports nothing from the task
code). Each chromosome is produced in three stages:

1. **Background** sequence whose base composition drifts along the chromosome
   (a Gaussian random walk of the log-composition, like isochores / GC-content
   drift), with CpG depletion (most CG dinucleotides decay to CA/TG, as by
   methyl-cytosine deamination).
2. **Repeat-generating events** applied in order to the growing chromosome,
   each copy aging by its own point-mutation rate:

   - *tandem arrays*: a unit of period 1..64 (microsatellites 1-6, minisatellites
     7-64; log-uniform) repeated head to tail; every copy is mutated
     independently, so the array's consensus is only visible across many copies;
     some units come from a low-complexity (2-3 letter) background;
   - *segmental duplications*: a stretch of the chromosome so far copied to a
     distant position, forward or reverse-complemented (inverted duplication);
   - *inverted repeats* (hairpins): a stem, a short loop, the stem's reverse
     complement;
   - *transposable-element families*: a few consensus elements per chromosome,
     inserted many times, forward or reverse-complemented, often 5'-truncated,
     each copy with its own divergence.
3. A final light **point-mutation** pass (substitutions and 1-3 bp indels).

Everything derives from ``(seed, chromosome index)`` through
``numpy.random.SeedSequence``, so the same recipe gives the same bytes.
"""

from __future__ import annotations

import gzip
import hashlib
import io
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # numpy imported where used: planning reads CorpusRecipe without it
    import numpy as np

ALPHABET = "ACGT"
_A, _C, _G, _T = 0, 1, 2, 3
_COMPLEMENT = (_T, _G, _C, _A)  # the complement of each base code


@dataclass(frozen=True)
class CorpusRecipe:
    """Parameters of the evolving-genome generator (config ``pretrain.*.corpus``)."""

    seed: int = 0
    chromosomes: int = 256  # number of FASTA records
    length: int = 16384  # length of each chromosome (bp)
    # background composition
    drift_sigma: float = 0.25  # random-walk step of the log-composition per drift block
    drift_block: int = 512  # bp between composition steps (linearly interpolated)
    cpg_decay: float = 0.75  # probability a CG dinucleotide decays to CA or TG
    # events per kilobase of final chromosome
    tandem_per_kb: float = 0.8
    duplication_per_kb: float = 0.4
    hairpin_per_kb: float = 0.6
    transposon_per_kb: float = 0.8
    # event shapes
    tandem_period_max: int = 64
    tandem_length_mean: int = 400  # mean total array length (bp)
    tandem_length_max: int = 3000
    low_complexity_prob: float = 0.3  # tandem unit drawn from a 2-3 letter alphabet
    duplication_length_max: int = 1024
    # share of duplications inserted near their source (tandem segmental duplications),
    # at an exponential distance downstream of it with this mean (bp)
    duplication_local_fraction: float = 0.0
    duplication_local_gap: int = 200
    transposon_families: int = 4
    # divergence of copies: each copy's substitution rate is max * U(0,1)**skew
    # (skew > 1: many young, nearly identical copies and a tail of old diverged ones)
    divergence_max: float = 0.25
    divergence_skew: float = 2.0
    point_mutation_rate: float = 0.004  # final substitution pass
    indel_rate: float = 0.0005  # final small insertions/deletions

    @classmethod
    def from_mapping(cls, mapping: Mapping | None) -> CorpusRecipe:
        mapping = dict(mapping or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(mapping) - known)
        if unknown:
            raise ValueError(f"unknown corpus recipe keys: {unknown}; known: {sorted(known)}")
        return cls(**mapping)

    def to_dict(self) -> dict:
        return asdict(self)


# --------------------------------------------------------------------------- helpers


def revcomp(seq: np.ndarray) -> np.ndarray:
    """Reverse complement of a base array (codes 0..3 = A, C, G, T)."""
    import numpy as np

    return np.array(_COMPLEMENT, dtype=np.uint8)[seq[::-1]]


def to_text(seq: np.ndarray) -> str:
    import numpy as np

    return np.frombuffer(ALPHABET.encode("ascii"), dtype=np.uint8)[seq].tobytes().decode("ascii")


def from_text(text: str) -> np.ndarray:
    import numpy as np

    lut = np.full(256, 255, dtype=np.uint8)
    for i, ch in enumerate(ALPHABET):
        lut[ord(ch)] = i
        lut[ord(ch.lower())] = i
    arr = lut[np.frombuffer(text.encode("ascii"), dtype=np.uint8)]
    if (arr == 255).any():
        raise ValueError("sequence holds letters outside ACGT")
    return arr


def _mutate(rng: np.random.Generator, seq: np.ndarray, rate: float) -> np.ndarray:
    """Substitute each base with probability ``rate`` by one of the other three."""
    if rate <= 0 or seq.size == 0:
        return seq.copy()
    out = seq.copy()
    hit = rng.random(seq.size) < rate
    k = int(hit.sum())
    if k:
        out[hit] = (out[hit] + rng.integers(1, 4, size=k)) % 4
    return out


def _sample_composition(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One base per row of ``probs`` (shape (L, 4))."""
    import numpy as np

    cdf = np.cumsum(probs, axis=1)
    u = rng.random(probs.shape[0])[:, None] * cdf[:, -1:]
    return (u > cdf).sum(axis=1).astype(np.uint8)


def _background(rng: np.random.Generator, length: int, r: CorpusRecipe) -> np.ndarray:
    """Sequence with drifting composition and CpG depletion."""
    import numpy as np

    blocks = length // r.drift_block + 2
    z = np.cumsum(rng.normal(0.0, r.drift_sigma, size=(blocks, 4)), axis=0)
    z += rng.normal(0.0, 0.3, size=(1, 4))  # chromosome-level bias
    x = np.arange(length) / r.drift_block
    zi = np.stack([np.interp(x, np.arange(blocks), z[:, j]) for j in range(4)], axis=1)
    p = np.exp(zi - zi.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    seq = _sample_composition(rng, p)
    _cpg_decay(rng, seq, r.cpg_decay)
    return seq


def _cpg_decay(rng: np.random.Generator, seq: np.ndarray, prob: float) -> None:
    """In place: CG -> CA or TG with probability ``prob`` (deamination on either strand)."""
    import numpy as np

    if prob <= 0 or seq.size < 2:
        return
    cg = np.flatnonzero((seq[:-1] == _C) & (seq[1:] == _G))
    cg = cg[rng.random(cg.size) < prob]
    strand = rng.random(cg.size) < 0.5
    seq[cg[strand] + 1] = _A  # CG -> CA
    seq[cg[~strand]] = _T  # CG -> TG


def _loguniform_int(rng: np.random.Generator, lo: int, hi: int) -> int:
    import numpy as np

    return int(np.floor(np.exp(rng.uniform(np.log(lo), np.log(hi + 1)))))


def _tandem_array(rng: np.random.Generator, r: CorpusRecipe, context: np.ndarray) -> np.ndarray:
    import numpy as np

    if rng.random() < 0.4:
        period = int(rng.integers(1, 7))  # microsatellite
    else:
        period = _loguniform_int(rng, 7, max(7, r.tandem_period_max))
    if rng.random() < r.low_complexity_prob:
        letters = rng.choice(4, size=int(rng.integers(2, 4)), replace=False)
        unit = letters[rng.integers(0, letters.size, size=period)].astype(np.uint8)
    else:
        start = int(rng.integers(0, max(1, context.size - period)))
        unit = context[start : start + period].copy()
        if unit.size < period:
            unit = rng.integers(0, 4, size=period).astype(np.uint8)
    total = min(r.tandem_length_max, max(2 * period, int(rng.exponential(r.tandem_length_mean))))
    copies = max(2, total // period)
    rate = _divergence(rng, r)
    array = np.tile(unit, copies)
    array = _mutate(rng, array, rate)  # every copy diverges on its own
    partial = int(rng.integers(0, period))  # arrays rarely end on a unit boundary
    return np.concatenate([array, unit[:partial]])


def _duplication(
    rng: np.random.Generator, r: CorpusRecipe, genome: np.ndarray
) -> tuple[np.ndarray, int]:
    """A (possibly reverse-complemented, aged) copy of a stretch of ``genome``, and
    the end of its source."""
    length = _loguniform_int(rng, 16, r.duplication_length_max)
    length = min(length, genome.size)
    start = int(rng.integers(0, genome.size - length + 1))
    seg = genome[start : start + length]
    if rng.random() < 0.5:
        seg = revcomp(seg)
    return _mutate(rng, seg, _divergence(rng, r)), start + length


def _hairpin(rng: np.random.Generator, r: CorpusRecipe, context: np.ndarray) -> np.ndarray:
    import numpy as np

    stem_len = int(rng.integers(6, 41))
    loop_len = int(rng.integers(3, 31))
    start = int(rng.integers(0, max(1, context.size - stem_len)))
    stem = context[start : start + stem_len].copy()
    if stem.size < stem_len:
        stem = rng.integers(0, 4, size=stem_len).astype(np.uint8)
    loop = rng.integers(0, 4, size=loop_len).astype(np.uint8)
    arm = _mutate(rng, revcomp(stem), _divergence(rng, r, 0.5))
    return np.concatenate([stem, loop, arm])


def _transposon(
    rng: np.random.Generator, r: CorpusRecipe, families: list[np.ndarray]
) -> np.ndarray:
    te = families[int(rng.integers(0, len(families)))]
    if rng.random() < 0.5:  # 5'-truncated copy
        te = te[int(rng.integers(0, te.size // 2 + 1)) :]
    if rng.random() < 0.5:
        te = revcomp(te)
    return _mutate(rng, te, _divergence(rng, r))


def _divergence(rng: np.random.Generator, r: CorpusRecipe, scale: float = 1.0) -> float:
    return scale * r.divergence_max * float(rng.random()) ** r.divergence_skew


def _point_pass(rng: np.random.Generator, seq: np.ndarray, r: CorpusRecipe) -> np.ndarray:
    import numpy as np

    seq = _mutate(rng, seq, r.point_mutation_rate)
    n_indel = rng.poisson(r.indel_rate * seq.size)
    if n_indel == 0:
        return seq
    pos = np.sort(rng.integers(0, seq.size, size=n_indel))
    pieces, last = [], 0
    for p in pos:
        p = int(p)
        if p < last:
            continue
        pieces.append(seq[last:p])
        size = int(rng.integers(1, 4))
        if rng.random() < 0.5:  # insertion
            pieces.append(rng.integers(0, 4, size=size).astype(np.uint8))
            last = p
        else:  # deletion
            last = p + size
    pieces.append(seq[last:])
    return np.concatenate(pieces)


def chromosome(recipe: CorpusRecipe, index: int) -> np.ndarray:
    """Chromosome ``index`` of the recipe (codes 0..3), exactly ``recipe.length`` long."""
    import numpy as np

    r = recipe
    rng = np.random.default_rng(np.random.SeedSequence([int(r.seed), 0x5EED, int(index)]))
    target = r.length
    genome = _background(rng, target, r)
    families = []
    for _ in range(max(1, r.transposon_families)):
        te_len = _loguniform_int(rng, 80, 400)
        families.append(_background(rng, te_len, r))
    rates = np.array([r.tandem_per_kb, r.duplication_per_kb, r.hairpin_per_kb, r.transposon_per_kb])
    n_events = rng.poisson(rates.sum() * target / 1000.0)
    kinds = rng.choice(4, size=n_events, p=rates / rates.sum()) if rates.sum() > 0 else []
    for kind in kinds:
        pos = int(rng.integers(0, genome.size + 1))
        near = genome[max(0, pos - 2000) : pos + 2000]
        if kind == 0:
            piece = _tandem_array(rng, r, near)
        elif kind == 1:
            piece, source_end = _duplication(rng, r, genome)
            # the extra draws only when local duplications are asked for, so that
            # recipes without them keep their bytes
            if r.duplication_local_fraction > 0 and rng.random() < r.duplication_local_fraction:
                gap = int(rng.exponential(r.duplication_local_gap))
                pos = min(genome.size, source_end + gap)
        elif kind == 2:
            piece = _hairpin(rng, r, near)
        else:
            piece = _transposon(rng, r, families)
        genome = np.concatenate([genome[:pos], piece, genome[pos:]])
    genome = _point_pass(rng, genome, r)
    # the chromosome grew by insertions: keep a window of the target length
    if genome.size > target:
        start = int(rng.integers(0, genome.size - target + 1))
        genome = genome[start : start + target]
    elif genome.size < target:
        genome = np.concatenate([genome, _background(rng, target - genome.size, r)])
    return genome.astype(np.uint8)


def iter_chromosomes(recipe: CorpusRecipe) -> Iterable[tuple[str, np.ndarray]]:
    for i in range(recipe.chromosomes):
        yield f"chr{i}", chromosome(recipe, i)


# --------------------------------------------------------------------------- files


def recipe_digest(recipe: CorpusRecipe) -> str:
    text = repr(sorted(recipe.to_dict().items()))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def write_fasta(recipe: CorpusRecipe, path: str | Path, width: int = 100) -> Path:
    """Write the corpus as (optionally gzipped, by suffix) FASTA with deterministic bytes."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.StringIO()
    digest = recipe_digest(recipe)
    for name, seq in iter_chromosomes(recipe):
        text = to_text(seq)
        buf.write(f">{name} genomic_icl.corpus seed={recipe.seed} recipe={digest}\n")
        for i in range(0, len(text), width):
            buf.write(text[i : i + width])
            buf.write("\n")
    data = buf.getvalue().encode("ascii")
    if path.suffix == ".gz":
        data = gzip.compress(data, compresslevel=6, mtime=0)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
    return path


def read_fasta(path: str | Path) -> list[np.ndarray]:
    """Read FASTA records as arrays of codes 0..3."""
    path = Path(path)
    raw = path.read_bytes()
    if path.suffix == ".gz":
        raw = gzip.decompress(raw)
    records, current = [], []
    for line in raw.decode("ascii").splitlines():
        if line.startswith(">"):
            if current:
                records.append(from_text("".join(current)))
            current = []
        elif line:
            current.append(line.strip())
    if current:
        records.append(from_text("".join(current)))
    return records


# --------------------------------------------------------------------------- statistics


def composition(seq: np.ndarray, window: int = 1024) -> np.ndarray:
    """Base frequencies per non-overlapping window, shape (windows, 4)."""
    import numpy as np

    n = seq.size // window
    w = seq[: n * window].reshape(n, window)
    return np.stack([(w == b).mean(axis=1) for b in range(4)], axis=1)


def repeat_fraction(seq: np.ndarray, k: int = 16, max_distance: int | None = None) -> float:
    """Share of positions starting a k-mer that occurred earlier (within ``max_distance``)."""
    import numpy as np

    if seq.size < k:
        return 0.0
    codes = np.zeros(seq.size - k + 1, dtype=np.uint64)
    for j in range(k):
        codes = codes * np.uint64(4) + seq[j : j + codes.size].astype(np.uint64)
    last: dict[int, int] = {}
    hits = 0
    for i, c in enumerate(codes.tolist()):
        j = last.get(c)
        if j is not None and (max_distance is None or i - j <= max_distance):
            hits += 1
        last[c] = i
    return hits / codes.size


def revcomp_repeat_fraction(seq: np.ndarray, k: int = 16) -> float:
    """Share of k-mers whose reverse complement also occurs in the sequence (not palindromes)."""
    import numpy as np

    if seq.size < k:
        return 0.0
    w = 4 ** np.arange(k - 1, -1, -1, dtype=np.uint64)
    idx = np.arange(seq.size - k + 1)[:, None] + np.arange(k)[None, :]
    fwd = (seq[idx].astype(np.uint64) * w).sum(axis=1)
    rc = (np.array(_COMPLEMENT, dtype=np.uint8)[seq[idx[:, ::-1]]].astype(np.uint64) * w).sum(
        axis=1
    )
    present = np.isin(rc, fwd) & (rc != fwd)
    return float(present.mean())


def cpg_ratio(seq: np.ndarray) -> float:
    """Observed / expected CG dinucleotides (genomes: about 0.2-0.25)."""
    c = (seq == _C).mean()
    g = (seq == _G).mean()
    obs = ((seq[:-1] == _C) & (seq[1:] == _G)).mean()
    return float(obs / max(c * g, 1e-12))


def summarize(recipe: CorpusRecipe, chromosomes: int | None = None) -> dict:
    """Measured properties of the first ``chromosomes`` chromosomes (for docs and tests)."""
    import numpy as np

    n = recipe.chromosomes if chromosomes is None else min(chromosomes, recipe.chromosomes)
    seqs = [chromosome(recipe, i) for i in range(n)]
    comp = np.concatenate([composition(s) for s in seqs])
    gc = comp[:, 1] + comp[:, 2]
    return {
        "chromosomes": n,
        "bases": int(sum(s.size for s in seqs)),
        "gc_mean": float(gc.mean()),
        "gc_sd_between_1kb_windows": float(gc.std()),
        "repeat_fraction_k16": float(np.mean([repeat_fraction(s) for s in seqs])),
        "revcomp_fraction_k16": float(np.mean([revcomp_repeat_fraction(s) for s in seqs])),
        "cpg_obs_exp": float(np.mean([cpg_ratio(s) for s in seqs])),
    }
