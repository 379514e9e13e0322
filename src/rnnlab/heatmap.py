"""Attention heat maps as PNG images (matplotlib, imported only when a plot is drawn).

Row t of the map is the attention α_t over the source while the model wrote target character t
(see :mod:`rnnlab.models.attention`): for a good couplet model a bright, nearly diagonal band —
the lower line answers the upper one character by character.

Chinese labels need a CJK font. The first installed one of :data:`CJK_FONTS` (or any system font
file whose name says CJK) is used; without one the axes are labelled by position and a note says
which font package to install.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from rnnlab.errors import ShapeError

CJK_FONTS: tuple[str, ...] = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "WenQuanYi Micro Hei",
    "WenQuanYi Zen Hei",
    "SimHei",
    "Microsoft YaHei",
    "PingFang SC",
    "Heiti SC",
    "AR PL UMing CN",
)
_CJK_FILE_HINTS = ("cjk", "wqy", "sourcehan", "simhei", "msyh", "pingfang", "uming", "hei")


def cjk_font() -> str | None:
    """The family name of an installed CJK font, or None."""
    from matplotlib import font_manager

    names = {f.name for f in font_manager.fontManager.ttflist}
    for name in CJK_FONTS:
        if name in names:
            return name
    # A font installed after matplotlib built its cache is not in ttflist yet: register it.
    for path in font_manager.findSystemFonts():
        if any(hint in Path(path).name.lower() for hint in _CJK_FILE_HINTS):
            font_manager.fontManager.addfont(path)
    names = {f.name for f in font_manager.fontManager.ttflist}
    return next((name for name in CJK_FONTS if name in names), None)


def plot_attention(
    weights: NDArray[np.floating],
    source: Sequence[str],
    target: Sequence[str],
    path: str | Path,
    title: str = "",
) -> tuple[Path, str | None]:
    """Draw ``weights`` (len(target), len(source)) as a heat map; returns the file and a note (or None)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    weights = np.asarray(weights, dtype=np.float64)
    if weights.shape != (len(target), len(source)):
        raise ShapeError(
            f"attention weights of shape {weights.shape} do not fit a source of {len(source)} and a target "
            f"of {len(target)} characters; pass the weights the model produced for this pair"
        )
    font = cjk_font()
    note = None
    if font is None:
        note = (
            "no CJK font found, so the axes show positions; install one (e.g. fonts-noto-cjk) for characters"
        )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    size = (1.2 + 0.45 * len(source), 1.0 + 0.45 * len(target))
    with plt.rc_context({"font.family": font} if font else {}):
        fig, ax = plt.subplots(figsize=(max(size[0], 3.5), max(size[1], 3.0)))
        image = ax.imshow(weights, cmap="viridis", vmin=0.0, vmax=1.0, aspect="equal")
        labels_x = list(source) if font else [str(i + 1) for i in range(len(source))]
        labels_y = list(target) if font else [str(i + 1) for i in range(len(target))]
        ax.set_xticks(range(len(source)), labels_x, fontsize=12)
        ax.set_yticks(range(len(target)), labels_y, fontsize=12)
        ax.xaxis.tick_top()
        ax.xaxis.set_label_position("top")
        ax.set_xlabel("upper line (source)")
        ax.set_ylabel("lower line (written)")
        fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="attention α")
        if title:
            ax.set_title(title, fontsize=10, pad=24)
        fig.tight_layout()
        fig.savefig(path, dpi=120)
        plt.close(fig)
    return path, note
