"""Take docs/serve.png: the page after writing three poems, in headless Chromium.

    PYTHONPATH=src python scripts/serve_screenshot.py [OUT.png]

Needs Playwright (`pip install playwright`) and a Chromium executable (the system package will do),
plus a CJK font (e.g. Debian's fonts-noto-cjk) for the characters to render.
"""

from __future__ import annotations

import shutil
import sys
import threading
import time
from pathlib import Path

import uvicorn
from playwright.sync_api import sync_playwright

from rnnlab.serve import create_app


def main(out: Path) -> None:
    server = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=8765, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, headless=True)
        page = browser.new_page(viewport={"width": 1100, "height": 720}, device_scale_factor=1)
        page.goto("http://127.0.0.1:8765")
        page.wait_for_function("document.querySelectorAll('#model option').length > 0")
        page.fill("#prefix", "床前明月光")
        page.fill("#num", "3")
        page.fill("#seed", "7")
        page.click("#generate")
        page.wait_for_selector("[data-testid=poem]")
        page.screenshot(path=str(out), full_page=True)
        browser.close()
    server.should_exit = True
    thread.join(timeout=5)
    print(f"wrote {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs/serve.png"))
