"""The ``tang.npz`` format of the widely copied PyTorch poetry tutorial (chenyuntc/pytorch-book, ch. 9).

Layout (``np.savez_compressed``)::

    data     (N, 125) int32   one poem a row: <START> c₁ … cₙ <EOP>, padded at the FRONT with </s>,
                              cut at the END when longer than 125 (so a poem over 123 characters
                              loses <EOP>, and everything past character 124)
    word2ix  0-d object array holding a dict[str, int]   (read with ``.item()``)
    ix2word  0-d object array holding a dict[int, str]

Ids: the poems' characters first, then ``<EOP>`` = V−3, ``<START>`` = V−2, ``</s>`` = V−1 (the padding
id). The tutorial enumerates a Python ``set`` of characters, whose order changes from run to run; we use
order of first appearance so our files are reproducible — any order reads the same way.

Reading never unpickles arbitrary objects: the two dicts are read with an unpickler that only accepts
the NumPy classes an object array needs, then their key and value types are checked.
"""

from __future__ import annotations

import io
import os
import pickle
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from rnnlab.data.poems import Poem
from rnnlab.errors import ConfigError, DataError

TANG_MAXLEN = 125
EOP = "<EOP>"  # end of poem
START = "<START>"  # start of poem
PAD = "</s>"  # padding, always the last id

Overlong = Literal["truncate", "drop", "error"]

# The only globals an object-array pickle of plain dicts needs (numpy 1.x and 2.x module names).
_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
}


class _ArrayOnlyUnpickler(pickle.Unpickler):
    """Unpickles NumPy arrays and builtin containers, refuses every other class or function."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}")


@dataclass(frozen=True)
class TangNpz:
    """The three arrays of a tang.npz file, validated."""

    data: np.ndarray  # (N, maxlen) integer ids
    word2ix: dict[str, int]
    ix2word: dict[int, str]

    @property
    def pad_id(self) -> int:
        """Id of ``</s>``, the padding."""
        return self.word2ix[PAD]

    @property
    def maxlen(self) -> int:
        """The fixed row length (125 in the tutorial)."""
        return int(self.data.shape[1])

    def texts(self) -> list[str]:
        """Each row's poem text: front padding, ``<START>`` and ``<EOP>`` removed (empty rows skipped)."""
        pad, start, eop = self.pad_id, self.word2ix[START], self.word2ix[EOP]
        out = []
        for row in self.data.tolist():
            i = 0
            while i < len(row) and row[i] == pad:
                i += 1
            if i < len(row) and row[i] == start:
                i += 1
            end = row.index(eop, i) if eop in row[i:] else len(row)
            text = "".join(self.ix2word[ix] for ix in row[i:end] if ix != pad)
            if text:
                out.append(text)
        return out

    def poems(self) -> list[Poem]:
        """Each row as a ``Poem`` (the format keeps no titles or authors)."""
        return [Poem(paragraphs=(text,)) for text in self.texts()]

    def n_truncated(self) -> int:
        """Rows without ``<EOP>``: poems that were cut at the fixed length."""
        return int((~(self.data == self.word2ix[EOP]).any(axis=1)).sum())


@dataclass(frozen=True)
class TangExport:
    """What ``write_tang_npz`` wrote."""

    path: Path
    n_poems: int
    n_truncated: int  # longer than maxlen − 2 characters: cut at the end, <EOP> lost (tutorial behaviour)
    n_dropped: int  # skipped because overlong="drop"
    vocab_size: int


def _load_pickled_dict(zf: zipfile.ZipFile, name: str, path: Path) -> Any:
    member = f"{name}.npy"
    if member not in zf.namelist():
        raise DataError(f"{path}: no {name!r} array; a tang.npz holds 'data', 'word2ix' and 'ix2word'")
    with zf.open(member) as raw:
        fh = io.BytesIO(raw.read())
    version = np.lib.format.read_magic(fh)
    if version == (1, 0):
        shape, _, dtype = np.lib.format.read_array_header_1_0(fh)
    else:
        shape, _, dtype = np.lib.format.read_array_header_2_0(fh)
    if dtype != np.dtype(object) or shape != ():
        raise DataError(
            f"{path}: {name!r} should be a pickled dict (0-d object array), got shape {shape} {dtype}"
        )
    try:
        return _ArrayOnlyUnpickler(fh).load().item()
    except (pickle.UnpicklingError, EOFError, AttributeError, ValueError) as err:
        raise DataError(
            f"{path}: {name!r} is not a plain pickled dict ({err}); refusing to load it"
        ) from None


def _as_int(value: Any) -> int | None:
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return int(value)
    return None


def _validate_maps(word2ix: Any, ix2word: Any, path: Path) -> tuple[dict[str, int], dict[int, str]]:
    if not isinstance(word2ix, dict) or not isinstance(ix2word, dict):
        raise DataError(
            f"{path}: 'word2ix' and 'ix2word' must be dicts, got {type(word2ix).__name__} and "
            f"{type(ix2word).__name__}"
        )
    w2i: dict[str, int] = {}
    for key, value in word2ix.items():
        ix = _as_int(value)
        if not isinstance(key, str) or ix is None:
            raise DataError(f"{path}: 'word2ix' must map str to int, found {key!r}: {value!r}")
        w2i[key] = ix
    i2w: dict[int, str] = {}
    for key, value in ix2word.items():
        ix = _as_int(key)
        if ix is None or not isinstance(value, str):
            raise DataError(f"{path}: 'ix2word' must map int to str, found {key!r}: {value!r}")
        i2w[ix] = value
    size = len(w2i)
    if sorted(i2w) != list(range(size)) or any(i2w[ix] != w for w, ix in w2i.items()):
        raise DataError(f"{path}: 'word2ix' and 'ix2word' are not inverse mappings over ids 0..{size - 1}")
    missing = [tok for tok in (EOP, START, PAD) if tok not in w2i]
    if missing:
        raise DataError(f"{path}: the vocabulary lacks the tutorial's special tokens {missing}")
    return w2i, i2w


def read_tang_npz(path: str | Path) -> TangNpz:
    """Read and validate a tang.npz file (see the module docstring for the layout)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file; check the path")
    try:
        with zipfile.ZipFile(path) as zf:
            word2ix = _load_pickled_dict(zf, "word2ix", path)
            ix2word = _load_pickled_dict(zf, "ix2word", path)
        with np.load(path, allow_pickle=False) as npz:
            if "data" not in npz.files:
                raise DataError(f"{path}: no 'data' array; a tang.npz holds 'data', 'word2ix' and 'ix2word'")
            data = npz["data"]
    except zipfile.BadZipFile:
        raise DataError(f"{path}: not an .npz (zip) file; pass a tang.npz written by np.savez") from None
    except ValueError as err:  # np.load refusing an object array for 'data'
        raise DataError(f"{path}: 'data' must be an integer array ({err})") from None
    w2i, i2w = _validate_maps(word2ix, ix2word, path)
    if data.ndim != 2 or not np.issubdtype(data.dtype, np.integer):
        raise DataError(
            f"{path}: 'data' must be a 2-D integer array (poems × length), got {data.shape} {data.dtype}"
        )
    if data.size and (data.min() < 0 or data.max() >= len(w2i)):
        raise DataError(f"{path}: 'data' holds ids outside 0..{len(w2i) - 1}, the vocabulary's range")
    return TangNpz(data=data, word2ix=w2i, ix2word=i2w)


def encode_tang(
    texts: Sequence[str], maxlen: int = TANG_MAXLEN, overlong: Overlong = "truncate"
) -> tuple[TangNpz, int, int]:
    """The tang.npz arrays for ``texts``, plus (number truncated, number dropped).

    ``overlong`` says what happens to a poem longer than ``maxlen − 2`` characters: ``"truncate"``
    cuts the row at the end as the tutorial does (``<EOP>`` is lost), ``"drop"`` leaves the poem out,
    ``"error"`` raises DataError naming the poem.
    """
    if maxlen < 3:
        raise ConfigError(f"maxlen must be at least 3 (<START>, one character, <EOP>), got {maxlen}")
    if overlong not in ("truncate", "drop", "error"):
        raise ConfigError(f"overlong={overlong!r}; options are ['truncate', 'drop', 'error']")
    word2ix: dict[str, int] = {}
    for text in texts:
        for ch in text:
            word2ix.setdefault(ch, len(word2ix))
    for tok in (EOP, START, PAD):
        word2ix[tok] = len(word2ix)
    pad = word2ix[PAD]
    rows: list[list[int]] = []
    n_truncated = n_dropped = 0
    for i, text in enumerate(texts):
        ids = [word2ix[START], *(word2ix[ch] for ch in text), word2ix[EOP]]
        if len(ids) > maxlen:
            if overlong == "error":
                raise DataError(
                    f"poem {i} has {len(text)} characters, more than fits in a row of {maxlen} "
                    f"(<START> + {maxlen - 2} characters + <EOP>); pass overlong='truncate' to cut it as the "
                    "tutorial does, overlong='drop' to leave it out, or a larger maxlen"
                )
            if overlong == "drop":
                n_dropped += 1
                continue
            n_truncated += 1
            ids = ids[:maxlen]
        rows.append([pad] * (maxlen - len(ids)) + ids)
    data = np.array(rows, dtype=np.int32).reshape(len(rows), maxlen)
    ix2word = {ix: w for w, ix in word2ix.items()}
    return TangNpz(data=data, word2ix=word2ix, ix2word=ix2word), n_truncated, n_dropped


def write_tang_npz(
    texts: Sequence[str], path: str | Path, maxlen: int = TANG_MAXLEN, overlong: Overlong = "truncate"
) -> TangExport:
    """Write ``texts`` (poem bodies) as a tang.npz the tutorial's ``get_data`` reads unchanged."""
    path = Path(path)
    arrays, n_truncated, n_dropped = encode_tang(texts, maxlen=maxlen, overlong=overlong)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    # A file object stops NumPy from appending ".npz" to the name; the rename makes the write atomic.
    with tmp.open("wb") as fh:
        # Wrapping each dict in a 0-d object array is exactly what np.savez does with a dict argument.
        np.savez_compressed(
            fh,
            data=arrays.data,
            word2ix=np.array(arrays.word2ix, dtype=object),
            ix2word=np.array(arrays.ix2word, dtype=object),
        )
    os.replace(tmp, path)
    return TangExport(
        path=path,
        n_poems=int(arrays.data.shape[0]),
        n_truncated=n_truncated,
        n_dropped=n_dropped,
        vocab_size=len(arrays.word2ix),
    )
