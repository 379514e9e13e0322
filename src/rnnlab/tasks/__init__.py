"""Sequence tasks around the task models: task and pair files, metrics, baselines, run folders.

Modules are imported by name (``rnnlab.tasks.pairs``, ``rnnlab.tasks.seq2seq`` …); importing this
package imports nothing heavy.
"""
