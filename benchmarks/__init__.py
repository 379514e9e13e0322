"""rnnlab's benchmarks: each module runs on its own (``python -m benchmarks.layers``) and the suite
(``python -m benchmarks``, see :mod:`benchmarks.suite`) runs the registered ones in one go."""
