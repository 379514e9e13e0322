"""Inference engines: steppers that the one decoder of :mod:`rnnlab.generate` drives.

* :mod:`rnnlab.inference.torch_engine` — any torch language model (imports torch).
"""
