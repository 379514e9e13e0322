"""Poetics: tones, Pingshui rhyme groups, the patterns of regulated verse, and the metre checker.

Data and rules, no model (see ``docs/metre.md``):

* ``rhymebook`` — ``RhymeBook``: tone (平/仄) and Pingshui rhyme groups of a character, all readings
* ``patterns`` — the four patterns of each form, the line rules (二四六, 孤平, 三平尾), ``Rule``
* ``checker`` — ``check_poem``: line by line, which characters break which rule; ``MetreReport``
* ``automaton`` — ``MetreState``: what the next character may be (for constrained decoding)
* ``masks`` — ``VocabMasks``: NumPy masks of a vocabulary's tokens for the automaton's slots
* ``reference`` — ``PingshuiReference``: pingshui-rhyme's own checker, an independent judge

``masks`` imports NumPy; import it (and the others) by module: this package imports nothing heavy.
"""
