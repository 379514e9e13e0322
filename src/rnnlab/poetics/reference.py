"""An independent judge: the regulated-verse checker of the ``pingshui-rhyme`` package.

Used to check our checker and generator from outside (tests, benchmarks), never by them. Its rules
are looser than ours — the strict pattern first, then only 对/粘 at the 2nd, 4th, 6th characters
(polyphonic characters skipped); no 孤平 or 三平尾 — and it reads traditional characters, so a
poem is converted with OpenCC ``s2t`` first, as its documentation asks.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rnnlab.errors import DataError


@dataclass(frozen=True)
class ReferenceVerdict:
    """pingshui-rhyme's verdict on one poem: tone pattern and rhyme, each with its message."""

    metre: bool
    rhyme: bool
    metre_message: str
    rhyme_message: str

    @property
    def both(self) -> bool:
        return self.metre and self.rhyme


class PingshuiReference:
    """``PingshuiReference()(lines)`` → :class:`ReferenceVerdict` from pingshui-rhyme's checker."""

    def __init__(self) -> None:
        import opencc

        self._checker = _structure_checker()
        self._to_traditional = opencc.OpenCC("s2t")

    def __call__(self, lines: Sequence[str]) -> ReferenceVerdict:
        text = "".join(f"{line}{'，' if i % 2 == 0 else '。'}" for i, line in enumerate(lines))
        traditional = self._to_traditional.convert(text)
        metre, metre_message = self._checker.check_poem_pingze_meter(traditional)
        rhyme, rhyme_message = self._checker.check_poem_rhyming(traditional)
        return ReferenceVerdict(bool(metre), bool(rhyme), str(metre_message), str(rhyme_message))


def _structure_checker() -> Any:
    """pingshui_rhyme.PoemStructureChecker(), with a stand-in for ``pkg_resources`` if it is missing.

    The package only asks pkg_resources for the path of its data file; setuptools ≥ 81 dropped that
    module, so where it is gone we lend a one-function stand-in for the import and take it back.
    """
    if importlib.util.find_spec("pingshui_rhyme") is None:
        raise DataError("the reference checker needs pingshui-rhyme: pip install 'pingshui-rhyme>=0.20'")
    lent = False
    try:
        importlib.import_module("pkg_resources")
    except ImportError:
        stand_in = types.ModuleType("pkg_resources")
        stand_in.resource_filename = _resource_filename  # type: ignore[attr-defined]
        sys.modules["pkg_resources"] = stand_in
        lent = True
    try:
        module = importlib.import_module("pingshui_rhyme.poem_structure_checker")
        return module.PoemStructureChecker()
    finally:
        if lent:
            del sys.modules["pkg_resources"]


def _resource_filename(package: str, name: str) -> str:
    spec = importlib.util.find_spec(package.rpartition(".")[0] or package)
    assert spec is not None and spec.submodule_search_locations
    return f"{next(iter(spec.submodule_search_locations))}/{name}"
