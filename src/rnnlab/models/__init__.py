"""Models built on the recurrent layers: language models, n-gram baselines, forecasters."""
