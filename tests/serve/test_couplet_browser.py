"""The 对联 tab end to end: the real server, headless Chromium, a couplet on screen (needs Chromium)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from .test_browser import chromium_path


@pytest.fixture(scope="module")
def page(live_server: str) -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed")
    executable = chromium_path()
    if executable is None:
        pytest.skip("no Chromium executable on PATH (apt install chromium, or set RNNLAB_CHROMIUM)")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, headless=True)
        page = browser.new_page(viewport={"width": 1100, "height": 760})
        page.set_default_timeout(15_000)
        page.goto(live_server)
        yield page
        browser.close()


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
