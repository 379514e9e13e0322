"""Tests of the web app: API, concurrency, CLI, and the page in a headless browser."""
