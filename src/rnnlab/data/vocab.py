"""``Vocab``: the bijection between token strings and integer ids, with reserved tokens.

Ids are assigned in a fixed, reproducible order::

    0 … R−1   the reserved tokens, in the order given (default <unk> <pad> <bos> <eos>)
    R …       corpus tokens by decreasing frequency; ties keep the order of first appearance

A token seen fewer than ``min_freq`` times, or pushed out by ``max_size`` (which counts the reserved
tokens too), maps to ``<unk>``. The JSON file written by ``save`` holds the format name and version,
the reserved roles, the token list and each token's count, so ``Vocab.load(path) == vocab`` exactly.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, overload

import numpy as np

from rnnlab.errors import CheckpointError, ConfigError

VOCAB_FORMAT = "rnnlab.vocab"
VOCAB_VERSION = 1


@dataclass(frozen=True)
class SpecialTokens:
    """The reserved tokens and their roles; a role set to ``None`` is not reserved (``unk`` is required).

    ``extra`` adds further reserved tokens after the four roles (e.g. ``("<sep>",)``).
    """

    unk: str = "<unk>"  # what unknown tokens map to
    pad: str | None = "<pad>"  # fills batches of unequal length; masked out of the loss
    bos: str | None = "<bos>"  # begin of sequence (a poem's first input)
    eos: str | None = "<eos>"  # end of sequence (separates packed poems)
    extra: tuple[str, ...] = ()

    def tokens(self) -> list[str]:
        """The reserved tokens in id order, without duplicates."""
        out: list[str] = []
        for tok in (self.unk, self.pad, self.bos, self.eos, *self.extra):
            if tok is not None and tok not in out:
                out.append(tok)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SpecialTokens:
        """Inverse of ``dataclasses.asdict`` (JSON turns the ``extra`` tuple into a list)."""
        return cls(
            unk=data["unk"],
            pad=data.get("pad"),
            bos=data.get("bos"),
            eos=data.get("eos"),
            extra=tuple(data.get("extra", ())),
        )


@dataclass(frozen=True)
class CoverageStats:
    """How well a vocabulary covers a token sequence.

    ``unk_rate`` = n_unk / n_tokens (tokens that map to ``<unk>``), ``coverage`` = 1 − unk_rate;
    ``oov_types`` counts the distinct unknown tokens.
    """

    n_tokens: int
    n_unk: int
    n_types: int
    oov_types: int

    @property
    def unk_rate(self) -> float:
        """Fraction of tokens that map to ``<unk>`` (0 for an empty sequence)."""
        return self.n_unk / self.n_tokens if self.n_tokens else 0.0

    @property
    def coverage(self) -> float:
        """Fraction of tokens the vocabulary knows."""
        return 1.0 - self.unk_rate


class Vocab:
    """Token ↔ id mapping. ``vocab["月"]`` → id, ``vocab[["明", "月"]]`` → ids, ``to_tokens(ids)`` back.

    Build one from tokens with ``Vocab.build(tokens, min_freq=..., max_size=...)`` or from counts with
    ``Vocab.from_counts``; the constructor takes an explicit token list (reserved tokens first).
    """

    def __init__(
        self,
        tokens: Sequence[str],
        specials: SpecialTokens | None = None,
        counts: Sequence[int] | None = None,
    ) -> None:
        self.specials = specials or SpecialTokens()
        reserved = self.specials.tokens()
        tokens = list(tokens)
        if tokens[: len(reserved)] != reserved:
            raise ConfigError(
                f"a Vocab's token list must start with its reserved tokens {reserved}, "
                f"got {tokens[: len(reserved)]}"
            )
        self._itos: list[str] = tokens
        self._stoi: dict[str, int] = {}
        for i, tok in enumerate(tokens):
            if tok in self._stoi:
                raise ConfigError(
                    f"token {tok!r} appears twice in the vocabulary (ids {self._stoi[tok]} and {i})"
                )
            self._stoi[tok] = i
        if counts is None:
            counts = [0] * len(tokens)
        if len(counts) != len(tokens):
            raise ConfigError(
                f"counts has {len(counts)} entries for {len(tokens)} tokens; give one per token"
            )
        self._counts: list[int] = [int(c) for c in counts]
        self.unk_id: int = self._stoi[self.specials.unk]

    # ---- construction -------------------------------------------------------------------------------
    @classmethod
    def build(
        cls,
        tokens: Iterable[str],
        min_freq: int = 1,
        max_size: int | None = None,
        specials: SpecialTokens | None = None,
    ) -> Vocab:
        """Count ``tokens`` and keep those seen at least ``min_freq`` times, at most ``max_size`` in all."""
        return cls.from_counts(Counter(tokens), min_freq=min_freq, max_size=max_size, specials=specials)

    @classmethod
    def from_counts(
        cls,
        counts: Mapping[str, int],
        min_freq: int = 1,
        max_size: int | None = None,
        specials: SpecialTokens | None = None,
    ) -> Vocab:
        """Like ``build`` from a token → count mapping whose iteration order is first appearance
        (a ``collections.Counter`` filled left to right has that order)."""
        specials = specials or SpecialTokens()
        reserved = specials.tokens()
        if min_freq < 1:
            raise ConfigError(f"min_freq must be at least 1, got {min_freq}")
        if max_size is not None and max_size < len(reserved):
            raise ConfigError(
                f"max_size={max_size} leaves no room for the {len(reserved)} reserved tokens {reserved}; "
                f"use max_size >= {len(reserved)} or None for no limit"
            )
        # sorted() is stable, so equal counts keep their first-appearance order.
        ranked = sorted(counts.items(), key=lambda kv: -kv[1])
        taken = set(reserved)
        tokens = list(reserved)
        freqs = [int(counts.get(tok, 0)) for tok in reserved]
        for tok, n in ranked:
            if n < min_freq or (max_size is not None and len(tokens) >= max_size):
                break
            if tok in taken:
                continue
            tokens.append(tok)
            freqs.append(int(n))
            taken.add(tok)
        return cls(tokens, specials, freqs)

    # ---- lookup -------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._itos)

    def __contains__(self, token: object) -> bool:
        return token in self._stoi

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Vocab):
            return NotImplemented
        return (self._itos, self._counts, self.specials) == (other._itos, other._counts, other.specials)

    def __hash__(self) -> int:
        return hash(tuple(self._itos))

    def __repr__(self) -> str:
        head = ", ".join(repr(t) for t in self._itos[:8])
        return f"Vocab(size={len(self)}, tokens=[{head}{', …' if len(self) > 8 else ''}])"

    @overload
    def __getitem__(self, token: str) -> int: ...  # type: ignore[overload-overlap]
    @overload
    def __getitem__(self, token: Sequence[str]) -> list[int]: ...
    def __getitem__(self, token: str | Sequence[str]) -> int | list[int]:
        """The id of a token (``unk_id`` when unknown), or the list of ids of a list of tokens."""
        if isinstance(token, str):
            return self._stoi.get(token, self.unk_id)
        return [self._stoi.get(t, self.unk_id) for t in token]

    def encode(self, tokens: Iterable[str], dtype: Any = np.int64) -> np.ndarray:
        """Ids of ``tokens`` as a 1-D NumPy array."""
        get, unk = self._stoi.get, self.unk_id
        return np.fromiter((get(t, unk) for t in tokens), dtype=dtype)

    @overload
    def to_tokens(self, ids: int) -> str: ...
    @overload
    def to_tokens(self, ids: Iterable[int]) -> list[str]: ...
    def to_tokens(self, ids: int | Iterable[int]) -> str | list[str]:
        """The token of an id, or the tokens of a sequence of ids (NumPy/torch integers accepted)."""
        if isinstance(ids, (int, np.integer)):
            return self._itos[self._check_id(int(ids))]
        return [self._itos[self._check_id(int(i))] for i in ids]

    def _check_id(self, i: int) -> int:
        if not 0 <= i < len(self._itos):
            raise ConfigError(
                f"token id {i} is outside this vocabulary (valid ids are 0..{len(self._itos) - 1})"
            )
        return i

    @property
    def tokens(self) -> list[str]:
        """All tokens in id order (a copy)."""
        return list(self._itos)

    @property
    def counts(self) -> list[int]:
        """Each token's count in the text the vocabulary was built from (0 for reserved tokens unseen)."""
        return list(self._counts)

    def _role_id(self, token: str | None, role: str) -> int:
        if token is None:
            raise ConfigError(
                f"this vocabulary reserves no {role} token; build it with SpecialTokens({role}=...)"
            )
        return self._stoi[token]

    @property
    def pad_id(self) -> int:
        """Id of the padding token."""
        return self._role_id(self.specials.pad, "pad")

    @property
    def bos_id(self) -> int:
        """Id of the begin-of-sequence token."""
        return self._role_id(self.specials.bos, "bos")

    @property
    def eos_id(self) -> int:
        """Id of the end-of-sequence token."""
        return self._role_id(self.specials.eos, "eos")

    @property
    def n_reserved(self) -> int:
        """How many ids (from 0) are reserved tokens."""
        return len(self.specials.tokens())

    # ---- statistics ---------------------------------------------------------------------------------
    def coverage(self, tokens: Iterable[str]) -> CoverageStats:
        """Counts of known and unknown tokens in ``tokens`` (see ``CoverageStats``)."""
        seen = Counter(tokens)
        oov = {tok: n for tok, n in seen.items() if tok not in self._stoi}
        return CoverageStats(
            n_tokens=sum(seen.values()), n_unk=sum(oov.values()), n_types=len(seen), oov_types=len(oov)
        )

    def unk_rate(self, tokens: Iterable[str]) -> float:
        """Fraction of ``tokens`` that map to ``<unk>``."""
        return self.coverage(tokens).unk_rate

    # ---- persistence --------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The JSON document ``save`` writes."""
        return {
            "format": VOCAB_FORMAT,
            "version": VOCAB_VERSION,
            "specials": asdict(self.specials),
            "tokens": list(self._itos),
            "counts": list(self._counts),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "<dict>") -> Vocab:
        """Inverse of ``to_dict``; raises CheckpointError naming ``source`` when the document is not one."""
        if not isinstance(data, Mapping) or data.get("format") != VOCAB_FORMAT:
            raise CheckpointError(
                f'{source}: not an rnnlab vocabulary file (no "format": "{VOCAB_FORMAT}"); '
                "pass the vocab.json written by Vocab.save"
            )
        version = data.get("version")
        if version != VOCAB_VERSION:
            raise CheckpointError(
                f"{source}: vocabulary format version {version!r}, but this rnnlab reads version "
                f"{VOCAB_VERSION}; "
                "rebuild the vocabulary with this version (Vocab.build(...).save(path)) or use the rnnlab "
                "release that wrote it"
            )
        try:
            return cls(data["tokens"], SpecialTokens.from_dict(data["specials"]), data["counts"])
        except (KeyError, TypeError, ConfigError) as err:
            raise CheckpointError(
                f"{source}: corrupt vocabulary file ({err}); rebuild it with Vocab.save"
            ) from None

    def save(self, path: str | Path) -> Path:
        """Write the vocabulary as UTF-8 JSON (atomically: a crash never leaves half a file)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(self.to_dict(), ensure_ascii=False, indent=0) + "\n", encoding="utf-8")
        os.replace(tmp, path)
        return path

    @classmethod
    def load(cls, path: str | Path) -> Vocab:
        """Read a file written by ``save``; a missing, corrupt or wrong-version one raises CheckpointError."""
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise CheckpointError(f"{path}: no such vocabulary file; check the path") from None
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            raise CheckpointError(
                f"{path}: corrupt vocabulary file, not valid UTF-8 JSON ({err}); rebuild it with Vocab.save"
            ) from None
        return cls.from_dict(data, source=str(path))

    def fingerprint(self) -> str:
        """A short hash of the token list and reserved roles (identifies the id mapping, not the counts)."""
        doc = json.dumps({"specials": asdict(self.specials), "tokens": self._itos}, ensure_ascii=False)
        return hashlib.sha256(doc.encode("utf-8")).hexdigest()[:16]
