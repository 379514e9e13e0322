"""The page end to end: the real server, headless Chromium driven by Playwright, a poem on screen.

Skips when Playwright or a Chromium executable is missing (the system package is enough: the
test uses it directly, no `playwright install` needed); the ``page`` fixture is in conftest.py.
"""

from __future__ import annotations

import re
from typing import Any

FIVE_CHAR_QUATRAIN = re.compile(r"^\w{5}，\n\w{5}。\n\w{5}，\n\w{5}。$")


def poem_lines(page: Any, index: int = 0) -> list[str]:
    lines = page.locator("[data-testid=poem]").nth(index).locator(".lines p:not(.tones)").all_inner_texts()
    return [line.strip() for line in lines]


def test_type_a_first_line_and_see_a_poem(page: Any) -> None:
    """Type 床前明月光, press 作诗: well-formed five-character quatrains that begin with it."""
    page.wait_for_function("document.querySelectorAll('#model option').length > 0")
    assert page.locator("#model").input_value() == "tang-lstm"
    page.fill("#prefix", "床前明月光")
    page.fill("#seed", "7")
    page.click("#generate")
    page.wait_for_selector("[data-testid=poem]")
    assert page.locator("[data-testid=poem]").count() == 2  # the page asks for two by default
    for i in range(2):
        text = "\n".join(poem_lines(page, i))
        assert text.startswith("床前明月光，"), text
        assert FIVE_CHAR_QUATRAIN.match(text), text
    assert page.locator("#error").is_hidden()
    assert "五言绝句" in page.locator("[data-testid=poem] footer").first.inner_text()


def test_bad_input_shows_the_message_inline(page: Any) -> None:
    """Latin letters in the prefix: the API's message appears under the button, no poems change."""
    page.fill("#prefix", "moon")
    page.click("#generate")
    error = page.locator("#error")
    error.wait_for(state="visible")
    assert "首句 opening" in error.inner_text() and "Chinese characters" in error.inner_text()
    page.fill("#prefix", "床前𠀀")
    page.click("#generate")
    page.wait_for_function("document.getElementById('error').textContent.includes('does not know')")
    assert "𠀀" in error.inner_text()


def test_metre_poems_show_a_tone_mark_beside_every_character(page: Any) -> None:
    """Tick 格律 and write: under each line of each poem one 平/仄 mark per character (the
    punctuation gets none), and the footer gives the verdict 合律 — the checker's marks, on screen."""
    page.wait_for_function("document.querySelectorAll('#model option').length > 0")
    page.fill("#prefix", "白日依山尽")
    page.fill("#seed", "3")
    page.check("#metre")
    page.click("#generate")
    # Poems of an earlier test may still be on screen: wait for this request's.
    page.wait_for_function(
        "document.querySelector('[data-testid=poem] .lines p')?.textContent.startsWith('白日依山尽')"
    )
    poem = page.locator("[data-testid=poem]").first
    lines = poem_lines(page)
    rows = poem.locator("[data-testid=tones]")
    assert rows.count() == len(lines) == 4
    for i, line in enumerate(lines):
        marks = rows.nth(i).locator("span").all_inner_texts()
        assert len(marks) == len(line)
        assert all(m in "平仄〇" for m in marks[:5]) and marks[5].strip() == ""
    assert "合律" in poem.locator("footer").inner_text()
