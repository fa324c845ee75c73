"""Arrow columns from numpy arrays and Python lists without pyarrow's conversion layer.

Why: every `pa.array(...)` conversion (and `ChunkedArray.to_numpy()`) makes pyarrow import
pandas to check whether the input is a pandas object — 0.24–0.27 s of every `qc ingest` and
`qc inspect` process on this machine, for tables of row ids, probabilities and lexicon
entries. These build the same arrays straight from buffers (`pa.Array.from_buffers`).
tests/test_arrowcols.py checks they equal `pa.array` on the same values, nulls included.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

_NUMERIC = {pa.int32(): np.int32, pa.int64(): np.int64, pa.float64(): np.float64}


def numbers(values, type: pa.DataType = pa.int64()) -> pa.Array:
    """int32 / int64 / float64 column from a numpy array or a sequence without None."""
    arr = np.ascontiguousarray(np.asarray(values, dtype=_NUMERIC[type]))
    if arr.ndim != 1:
        arr = arr.reshape(-1)
    return pa.Array.from_buffers(type, len(arr), [None, pa.py_buffer(arr)])


def strings(values) -> pa.Array:
    """utf8 column from a sequence of str or None."""
    vals = list(values)
    encoded = [b"" if v is None else str(v).encode("utf-8") for v in vals]
    if sum(map(len, encoded)) >= 2**31:         # past int32 offsets: pyarrow's own path
        return pa.array(vals, pa.string())
    offsets = np.zeros(len(encoded) + 1, dtype=np.int32)
    if encoded:
        offsets[1:] = np.cumsum(np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded)))
    nulls = [v is None for v in vals]
    validity = None
    if any(nulls):
        validity = pa.py_buffer(np.packbits(~np.array(nulls, dtype=bool), bitorder="little"))
    return pa.Array.from_buffers(pa.string(), len(vals), [validity, pa.py_buffer(offsets), pa.py_buffer(b"".join(encoded))],
                                 null_count=sum(nulls))


def int64s(col) -> np.ndarray:
    """An int64 Arrow column (Array or ChunkedArray) without nulls as one numpy array."""
    chunks = col.chunks if isinstance(col, pa.ChunkedArray) else [col]
    if col.null_count or col.type != pa.int64():
        raise ValueError(f"int64s: needs int64 without nulls, got {col.type} with {col.null_count} nulls")
    parts = [np.frombuffer(c.buffers()[1], dtype=np.int64)[c.offset:c.offset + len(c)] for c in chunks]
    return np.concatenate(parts) if parts else np.empty(0, dtype=np.int64)


def inferred(values) -> pa.Array:
    """A column of Python numbers typed as `pa.array` infers it: int64 when every value is an
    int, else float64 (config values such as deduction points are either)."""
    vals = list(values)
    if all(isinstance(v, int) and not isinstance(v, bool) for v in vals):
        return numbers(vals, pa.int64())
    return numbers([float(v) for v in vals], pa.float64())


def joined_text(col) -> str:
    """All values of a string column (Array or ChunkedArray, no nulls) concatenated, as one
    str: the column's data buffers between their first and last offsets, decoded once."""
    return joined_bytes(col).decode("utf-8")


def joined_bytes(col) -> bytes:
    """`joined_text` as the UTF-8 bytes Arrow holds (no decoding)."""
    chunks = col.chunks if isinstance(col, pa.ChunkedArray) else [col]
    if col.null_count:
        raise ValueError(f"joined_bytes: needs a column without nulls, got {col.null_count} nulls")
    parts = []
    for c in chunks:
        if c.type == pa.string():
            off_t = np.int32
        elif c.type == pa.large_string():
            off_t = np.int64
        else:
            raise ValueError(f"joined_bytes: needs string values, got {c.type}")
        if not len(c):
            continue
        _, offsets, data = c.buffers()
        off = np.frombuffer(offsets, dtype=off_t)[c.offset:c.offset + len(c) + 1]
        parts.append(memoryview(data)[int(off[0]):int(off[-1])])
    return b"".join(parts)
