"""Reading and writing tables: Parquet with deterministic bytes, written atomically,
each carrying the sha256 of its content, checked when it is read.

The digest (schema metadata ``genomic_icl.content_sha256``) covers what a reader
gets, column by column (names, types, nulls, values), so a damaged file that still
parses (a flipped bit in a data page) is refused instead of read as numbers.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from genomic_icl.integrity import IntegrityError

DIGEST_KEY = b"genomic_icl.content_sha256"


def _update(h: hashlib._Hash, arr: pa.Array) -> None:
    """Feed one column's nulls and values to ``h``, the same for the same values
    however Arrow laid them out (chunks, offsets, padding)."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    nested = pa.types.is_list(arr.type) or pa.types.is_large_list(arr.type)
    h.update(b"list" if nested else str(arr.type).encode())  # not the item's field name
    h.update(np.asarray(arr.is_null()).tobytes())
    if nested:
        h.update(np.asarray(arr.value_lengths().fill_null(0), dtype=np.int64).tobytes())
        _update(h, arr.flatten())
    elif pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
        h.update("\x1f".join(s or "" for s in arr.to_pylist()).encode())
    elif pa.types.is_primitive(arr.type):
        h.update(
            np.ascontiguousarray(
                arr.fill_null(False if pa.types.is_boolean(arr.type) else 0).to_numpy(
                    zero_copy_only=False
                )
            ).tobytes()
        )
    else:
        h.update(repr(arr.to_pylist()).encode())


def content_digest(table: pa.Table) -> str:
    """The sha256 of a table's content (see the module doc)."""
    h = hashlib.sha256()
    for name, col in zip(table.column_names, table.columns, strict=True):
        h.update(f"\x1e{name}\x1f{len(col)}\x1f".encode())
        _update(h, col)
    return h.hexdigest()


def write_table(df: pd.DataFrame, path: str | os.PathLike) -> None:
    """Write ``df`` to Parquet with its content digest; the same frame always gives
    the same bytes, and a reader never sees a half-written file (write to a
    temporary name, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pandas(df, preserve_index=False)
    meta = {**(table.schema.metadata or {}), DIGEST_KEY: content_digest(table).encode()}
    table = table.replace_schema_metadata(meta)
    tmp = path.with_name(path.name + ".tmp")
    try:
        pq.write_table(table, tmp, compression="zstd")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)  # a refused write leaves nothing behind
        raise


def damaged(path: str | os.PathLike, why: str) -> IntegrityError:
    """The error for a damaged table: its path, what is wrong and the fix."""
    return IntegrityError(
        f"{path}: damaged table ({why}); delete it and rerun the workflow, which writes it "
        f"again: rm {path} && snakemake --cores N ..."
    )


def read_arrow(path: str | os.PathLike) -> pa.Table:
    """Read a Parquet table as Arrow, checking its content digest when it has one
    (every table :func:`write_table` wrote); raises :class:`IntegrityError` naming
    the file for one that does not parse or whose content changed."""
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as err:
        if isinstance(err, FileNotFoundError):
            raise
        raise damaged(path, f"not readable as Parquet: {err}") from None
    want = (table.schema.metadata or {}).get(DIGEST_KEY)
    if want is not None and content_digest(table) != want.decode(errors="replace"):
        raise damaged(path, "its content does not match the sha256 it was written with")
    return table


def read_table(path: str | os.PathLike) -> pd.DataFrame:
    """Read a Parquet table written by :func:`write_table` (checked: :func:`read_arrow`)."""
    return read_arrow(path).to_pandas()


def write_tsv(df: pd.DataFrame, path: str | os.PathLike) -> None:
    """Write a TSV (floats with full precision), atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    try:
        df.to_csv(tmp, sep="\t", index=False, float_format="%.6g")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
