"""The 对联 tab end to end: the real server, headless Chromium, a couplet on screen (needs Chromium).

The ``page`` fixture (the server, Chromium and Playwright) is in conftest.py.
"""

from __future__ import annotations

from typing import Any


def test_type_an_upper_line_and_see_lower_lines(page: Any) -> None:
    """Open 对联, type 海内存知己, press 对: three lower lines of five characters under the upper line."""
    page.click("#tab-couplets")
    assert page.locator("#couplet-panel").is_visible() and page.locator("#poem-panel").is_hidden()
    page.wait_for_function("document.querySelectorAll('#couplet-model option').length > 0")
    page.fill("#upper", "海内存知己")
    page.fill("#couplet-seed", "3")
    page.click("#answer")
    page.wait_for_selector("[data-testid=couplet]")
    cards = page.locator("[data-testid=couplet]")
    assert cards.count() == 3  # the tab asks for three by default
    for i in range(3):
        upper, lower = (t.strip() for t in cards.nth(i).locator(".lines p").all_inner_texts())
        assert upper == "海内存知己" and len(lower) == 5 and lower != upper
    assert page.locator("#couplet-error").is_hidden()


def test_bad_input_shows_the_message_inline(page: Any) -> None:
    """Latin letters: the API's message appears under the button."""
    page.click("#tab-couplets")
    page.fill("#upper", "moon")
    page.click("#answer")
    error = page.locator("#couplet-error")
    error.wait_for(state="visible")
    assert "上联 upper line" in error.inner_text() and "Chinese characters" in error.inner_text()
