"""Seeded trials and their prompts (docs/protocol.md §3).

Every draw of a trial derives from ``(seed, function, n, trial)`` alone, so adding a
shot count, raising m or changing other settings never changes an existing prompt,
and every encoding of a trial shares its demonstrations, query, constant and the
rank of the symbols standing for 0, 1 and the separator (paired design).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

from genomic_icl import bits
from genomic_icl.functions import get_function

if TYPE_CHECKING:  # imported where used: planning reads Encoding and prompt_length alone
    import numpy as np
    import pandas as pd

GENOMIC = "ACGT"
LINGUISTIC = "0123456789"
N_ROLES = 3  # 0, 1 and the separator


def name_key(name: str) -> int:
    """A stable 64-bit key for a name (never a list position), for seeding."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "little")


def trial_rng(seed: int, function: str, n: int, trial: int, *extra: int) -> np.random.Generator:
    """The generator of one trial; ``extra`` keys derive independent side streams."""
    import numpy as np

    return np.random.default_rng(
        np.random.SeedSequence([int(seed), name_key(function), int(n), int(trial), *extra])
    )


@dataclass(frozen=True)
class Encoding:
    """A prompt form: its name and the alphabet its three symbols are drawn from."""

    name: str
    alphabet: str

    def __post_init__(self) -> None:
        if len(self.alphabet) < N_ROLES or len(set(self.alphabet)) != len(self.alphabet):
            raise ValueError(
                f"encoding {self.name!r}: alphabet {self.alphabet!r} needs at least "
                f"{N_ROLES} distinct single characters"
            )


class Trial(NamedTuple):
    """The encoding-independent draws of one trial."""

    demo_inputs: np.ndarray
    demo_outputs: np.ndarray
    query: int
    target: int
    constant: int
    roles: np.ndarray  # roles[i] = rank (in the chosen 3-subset) of the symbol for 0, 1, SEP


def draw_trial(seed: int, function: str, n: int, trial: int) -> Trial:
    """Draw n distinct demonstration inputs, a query outside them, meta_constant's
    constant and the symbol roles of one trial."""
    import numpy as np

    if not 1 <= n <= bits.N_SYMBOLS - 1:
        raise ValueError(f"n_shots must be in 1..255, got {n}")
    rng = trial_rng(seed, function, n, trial)
    demos = rng.choice(bits.N_SYMBOLS, size=n, replace=False)
    rest = np.setdiff1d(bits.ALL_INPUTS, demos)
    query = int(rest[rng.integers(len(rest))])
    constant = int(rng.integers(bits.N_SYMBOLS))
    roles = rng.permutation(N_ROLES)
    f = get_function(function)
    outputs = f.apply(np.append(demos, query), constant)
    return Trial(
        demos.astype(np.int64),
        outputs[:-1],
        query,
        int(outputs[-1]),
        constant if f.uses_constant else -1,
        roles,
    )


def trial_symbols(
    seed: int, function: str, n: int, trial: int, encoding: Encoding, roles: np.ndarray
) -> tuple[str, str, str]:
    """The characters for (0, 1, SEP): a 3-subset of the alphabet drawn per trial and
    form, assigned by the trial's shared ranks."""
    import numpy as np

    rng = trial_rng(seed, function, n, trial, name_key("symbols:" + encoding.alphabet))
    chosen = np.sort(rng.choice(len(encoding.alphabet), size=N_ROLES, replace=False))
    sym0, sym1, sep = (encoding.alphabet[chosen[r]] for r in roles)
    return sym0, sym1, sep


def encode_bits(x: int, sym0: str, sym1: str) -> str:
    """A value as 8 symbols, bit 0 first."""
    return bits.to_str(x).translate(str.maketrans("01", sym0 + sym1))


def decode(text: str, sym0: str, sym1: str) -> int:
    """8 symbols back to a value; -1 if the text is not 8 symbols of ``sym0``/``sym1``."""
    if len(text) != bits.N_BITS or set(text) - {sym0, sym1}:
        return -1
    return bits.from_str(text.translate(str.maketrans(sym0 + sym1, "01")))


def build_prompt(
    demo_inputs: np.ndarray, demo_outputs: np.ndarray, query: int, sym0: str, sym1: str, sep: str
) -> str:
    """Demonstrations (8 input then 8 output symbols) joined by SEP, then SEP and the query."""
    words = [encode_bits(x, sym0, sym1) for x in range(bits.N_SYMBOLS)]
    demos = sep.join(words[x] + words[y] for x, y in zip(demo_inputs, demo_outputs, strict=True))
    return demos + sep + words[query]


def prompt_length(n: int) -> int:
    """Symbols of every prompt at ``n`` shots (:func:`build_prompt`): n demonstrations
    of 16 symbols, each followed by SEP, then the 8-symbol query: 17 n + 8."""
    return (2 * bits.N_BITS + 1) * n + bits.N_BITS


PROMPT_COLUMNS = (
    "function",
    "category",
    "n_shots",
    "trial",
    "encoding",
    "sym0",
    "sym1",
    "sep",
    "prompt",
    "target",
    "demo_inputs",
    "demo_outputs",
    "query",
    "target_bits",
    "constant",
)


def prompt_table(
    functions: list[str] | tuple[str, ...], n: int, m: int, encoding: Encoding, seed: int
) -> pd.DataFrame:
    """All prompts of one encoding and shot count: m trials of each function, in the
    given function order, then by trial."""
    import pandas as pd

    rows = []
    for name in functions:
        category = get_function(name).category
        for t in range(m):
            tr = draw_trial(seed, name, n, t)
            sym0, sym1, sep = trial_symbols(seed, name, n, t, encoding, tr.roles)
            rows.append(
                (
                    name,
                    category,
                    n,
                    t,
                    encoding.name,
                    sym0,
                    sym1,
                    sep,
                    build_prompt(tr.demo_inputs, tr.demo_outputs, tr.query, sym0, sym1, sep),
                    encode_bits(tr.target, sym0, sym1),
                    tr.demo_inputs.tolist(),
                    tr.demo_outputs.tolist(),
                    tr.query,
                    tr.target,
                    tr.constant,
                )
            )
    return pd.DataFrame(rows, columns=list(PROMPT_COLUMNS))


def prompt_table_errors(table: pd.DataFrame, encoding: Encoding) -> list[str]:
    """Why ``table`` is not a prompt table of ``encoding`` (empty when it is one): its
    columns (:data:`PROMPT_COLUMNS`), at least one row, its ``encoding`` column, and
    each row's symbols: ``sym0``, ``sym1``, ``sep`` distinct symbols of the alphabet,
    the prompt written in them, the target 8 of ``sym0``/``sym1``, and the prompt's
    length that of ``n_shots`` demonstrations (17 n + 8 symbols)."""
    missing = [c for c in PROMPT_COLUMNS if c not in table.columns]
    if missing:
        return [f"not a prompt table: missing columns {missing}"]
    if table.empty:
        return ["the prompt table has no rows"]
    errors = []
    other = sorted(set(map(str, table["encoding"])) - {encoding.name})
    if other:
        errors.append(
            f"its prompts are in encoding {', '.join(map(repr, other))}, not the model's "
            f"{encoding.name!r}"
        )
    alphabet = set(encoding.alphabet)
    for i, row in enumerate(table.itertuples(index=False)):
        roles = {row.sym0, row.sym1, row.sep}
        why = None
        if len(roles) != N_ROLES or not roles <= alphabet:
            given = f"{row.sym0!r}/{row.sym1!r}/{row.sep!r}"
            why = f"sym0/sym1/sep {given} are not 3 symbols of {encoding.alphabet!r}"
        elif extra := "".join(sorted(set(row.prompt) - roles)):
            why = f"the prompt holds symbols {extra!r} other than sym0/sym1/sep"
        elif len(row.target) != bits.N_BITS or set(row.target) - {row.sym0, row.sym1}:
            why = f"the target {row.target!r} is not 8 symbols of sym0/sym1"
        elif len(row.prompt) != prompt_length(int(row.n_shots)):
            why = f"the prompt has {len(row.prompt)} symbols, not those of {row.n_shots} shots"
        if why:
            errors.append(f"row {i} ({row.function}, n = {row.n_shots}, trial {row.trial}): {why}")
            break
    return errors
