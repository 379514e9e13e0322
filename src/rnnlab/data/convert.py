"""Traditional → simplified Chinese conversion with OpenCC (optional on every loader).

The chinese-poetry collection is in traditional script; most Tang-poem tutorials and our shared data use
simplified characters. OpenCC's ``t2s`` table converts character by character plus phrase rules, so a
poem keeps its length and punctuation (which the form detection relies on).
"""

from __future__ import annotations

from dataclasses import replace

import opencc

from rnnlab.data.poems import Poem
from rnnlab.errors import ConfigError

# OpenCC configurations that make sense for this project; see `opencc.CONFIGS` for the full list.
KNOWN_CONFIGS = ("t2s", "s2t", "tw2s", "hk2s", "t2tw", "t2hk")


class ChineseConverter:
    """A reusable OpenCC converter: ``ChineseConverter("t2s")("數里就迴湍")`` → ``"数里就回湍"``.

    Building the converter loads OpenCC's dictionaries, so build one and reuse it for a whole corpus.
    """

    def __init__(self, config: str = "t2s") -> None:
        try:
            self._cc = opencc.OpenCC(config)
        except Exception as err:  # OpenCC raises a bare RuntimeError/ValueError for unknown configs
            raise ConfigError(
                f"unknown OpenCC configuration {config!r} ({err}); common options are {list(KNOWN_CONFIGS)}"
            ) from None
        self.config = config

    def __call__(self, text: str) -> str:
        """``text`` converted."""
        return str(self._cc.convert(text))

    def poem(self, poem: Poem) -> Poem:
        """``poem`` with title, author and every paragraph converted."""
        return replace(
            poem,
            title=self(poem.title),
            author=self(poem.author),
            paragraphs=tuple(self(p) for p in poem.paragraphs),
        )


def to_simplified(text: str) -> str:
    """``text`` in simplified characters (OpenCC ``t2s``); build a ``ChineseConverter`` for many texts."""
    return ChineseConverter("t2s")(text)
