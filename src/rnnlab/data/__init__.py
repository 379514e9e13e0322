"""Text and poem data: tokens, vocabularies, corpora, sequence sampling."""
