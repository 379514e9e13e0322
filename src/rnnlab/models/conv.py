"""The CNN front end of a CNN-LSTM: Conv1d layers that turn a sequence of vectors into local features.

    x (T, B, C₀) ─ [mask] ─ Conv1d(k₁, C₁, stride s) ─ f ─ dropout ─ [max-pool p] ─ [mask] ─ … ─▶ (T', B, C_L)

Each layer l computes, for every output position j and channel c,

    y_{j,c} = f( b_c + Σ_{i=0}^{k−1} Σ_{c'} W_{c,c',i} · x_{j·s − pad + i, c'} )

so a feature sees a window of k neighbouring steps; stacked layers see wider windows (the
receptive field, :attr:`ConvFrontEnd.receptive_field`), and stride s > 1 or a max-pool of p
shortens the sequence that the recurrent layers then read (cheaper, coarser): each layer maps
T to ⌈⌈T/s⌉/p⌉ (the last, partial window is kept, so no non-empty sequence shrinks to nothing).

Two padding modes:

* ``causal=False`` (classifiers, taggers, encoders): ⌊(k−1)/2⌋ zeros on each side, so the window
  is centred on the step and, for stride 1 and no pooling, T' = T.
* ``causal=True`` (language models, forecasters): k − 1 steps on the left only, so y_t depends on
  x_{≤t} alone. The left context is a *state* — the last k − 1 inputs of every layer — carried
  between calls like a recurrent state, so a sequence fed in pieces (one step at a time, as in
  recursive forecasting) gives exactly the outputs of feeding it whole. Zero state = zero padding.

Padding never leaks into real steps: positions past a sequence's length are zeroed before every
convolution, which is exactly the zero padding the sequence would get alone, so a padded batch
gives each sequence the features it gets by itself (tested).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import Tensor, nn

from rnnlab.config import from_dict_strict
from rnnlab.errors import ConfigError, ShapeError

ACTIVATIONS: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "tanh": nn.Tanh, "gelu": nn.GELU}

# The causal front end's state: for each layer, its last k − 1 inputs, (B, C_in, k − 1).
ConvState = list[Tensor]


@dataclass
class ConvConfig:
    """The convolution stack; JSON-serialisable (lists become tuples on load)."""

    channels: tuple[int, ...] = (128,)  # output channels of each Conv1d layer; its length = layers
    kernel_sizes: tuple[int, ...] = (3,)  # window of each layer (one per layer, or one for all)
    stride: int = 1  # every layer's stride; > 1 shortens the sequence s-fold per layer
    pool: int = 1  # max-pool window (= its stride) after every layer; 1 = no pooling
    activation: str = "relu"  # "relu", "tanh" or "gelu"
    dropout: float = 0.0  # after each layer's activation
    causal: bool = False  # left padding only: step t sees x_{≤t} (LMs, forecasters); streams by state

    def __post_init__(self) -> None:
        self.channels = tuple(self.channels)
        self.kernel_sizes = tuple(self.kernel_sizes)
        if len(self.kernel_sizes) == 1 and len(self.channels) > 1:
            self.kernel_sizes = self.kernel_sizes * len(self.channels)
        self.validate()

    def validate(self) -> None:
        """Raise ConfigError naming the first invalid value and what would be valid."""
        if not self.channels:
            raise ConfigError("a CNN front end needs at least one layer: give channels, e.g. (128,)")
        if len(self.kernel_sizes) != len(self.channels):
            raise ConfigError(
                f"kernel_sizes has {len(self.kernel_sizes)} entries for {len(self.channels)} layers; "
                "give one kernel size per layer, or one for all"
            )
        for name, values in (("channels", self.channels), ("kernel_sizes", self.kernel_sizes)):
            for value in values:
                if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                    raise ConfigError(f"{name} must hold positive integers, got {list(values)}")
        for name in ("stride", "pool"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name} must be a positive integer (1 = off), got {value!r}")
        if self.activation not in ACTIVATIONS:
            raise ConfigError(f"unknown activation {self.activation!r}; options are {sorted(ACTIVATIONS)}")
        if not 0 <= self.dropout < 1:
            raise ConfigError(f"dropout is a probability in [0, 1), got {self.dropout!r}")
        if self.causal and (self.stride > 1 or self.pool > 1):
            raise ConfigError(
                "a causal front end keeps one output per step (it streams step by step); "
                "use stride=1 and pool=1, or causal=False"
            )

    @property
    def preserves_length(self) -> bool:
        """Whether T' = T for every T: needed wherever one output per input step is required."""
        return self.stride == 1 and self.pool == 1

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ConvConfig:
        """Build from a JSON dict, rejecting unknown keys with the list of valid ones."""
        return from_dict_strict(cls, data, "CNN front-end option")


class ConvFrontEnd(nn.Module):
    """Conv1d stack over time-major sequences; see the module docstring.

    ``forward(x (T, B, C₀), lengths (B,) | None, state | None) → (y (T', B, C_L), lengths', state')``;
    ``state`` is used only when ``causal`` (else it is always None).
    """

    def __init__(self, input_size: int, config: ConvConfig) -> None:
        super().__init__()
        if isinstance(input_size, bool) or not isinstance(input_size, int) or input_size < 1:
            raise ConfigError(f"input_size must be a positive integer, got {input_size!r}")
        self.config = config
        self.input_size = input_size
        widths = (input_size, *config.channels)
        self.convs = nn.ModuleList(
            nn.Conv1d(c_in, c_out, k, stride=config.stride)
            for c_in, c_out, k in zip(widths[:-1], widths[1:], config.kernel_sizes, strict=True)
        )
        self.activation = ACTIVATIONS[config.activation]()
        self.drop = nn.Dropout(config.dropout)

    @property
    def output_size(self) -> int:
        return self.config.channels[-1]

    @property
    def receptive_field(self) -> int:
        """How many input steps one output of the last layer depends on (at most)."""
        field, jump = 1, 1
        for k in self.config.kernel_sizes:
            field += (k - 1) * jump
            jump *= self.config.stride
            if self.config.pool > 1:
                field += (self.config.pool - 1) * jump
                jump *= self.config.pool
        return field

    def _pads(self, k: int) -> tuple[int, int]:
        """Zeros (left, right) of a layer with window k: k − 1 in all, so stride 1 keeps T."""
        left = k - 1 if self.config.causal else (k - 1) // 2
        return left, k - 1 - left

    def _conv_lengths(self, lengths: Tensor, k: int) -> Tensor:
        """⌊(T + k − 1 − k)/s⌋ + 1 = ⌈T/s⌉: a layer's k − 1 zeros of padding keep every step's window."""
        return _ceil_div(lengths, self.config.stride)

    def output_lengths(self, lengths: Tensor) -> Tensor:
        """T'_b for input lengths T_b (an integer tensor): ⌈T/s⌉, then ⌈·/p⌉, per layer; ≥ 1 when T ≥ 1."""
        for k in self.config.kernel_sizes:
            lengths = _ceil_div(self._conv_lengths(lengths, k), self.config.pool)
        return lengths

    def zero_state(self, batch_size: int, device: torch.device | None = None) -> ConvState:
        """The causal state before any input: k − 1 zero steps per layer (= zero left padding)."""
        weight = next(self.parameters())
        widths = (self.input_size, *self.config.channels[:-1])
        return [
            torch.zeros(batch_size, c_in, k - 1, device=device or weight.device, dtype=weight.dtype)
            for c_in, k in zip(widths, self.config.kernel_sizes, strict=True)
        ]

    def forward(
        self, x: Tensor, lengths: Tensor | None = None, state: ConvState | None = None
    ) -> tuple[Tensor, Tensor | None, ConvState | None]:
        if x.dim() != 3 or x.shape[-1] != self.input_size:
            raise ShapeError(
                f"the CNN front end reads (T, B, {self.input_size}) sequences, got {tuple(x.shape)}"
            )
        if state is not None and not self.config.causal:
            raise ConfigError("only a causal front end carries a state; pass state=None")
        if lengths is not None:
            lengths = lengths.to(device=x.device, dtype=torch.long)
            if lengths.shape != (x.shape[1],) or int(lengths.max()) > x.shape[0] or int(lengths.min()) < 0:
                raise ShapeError(
                    f"lengths must be a ({x.shape[1]},) tensor of values in [0, {x.shape[0]}], "
                    f"got shape {tuple(lengths.shape)}"
                )
        h = x.permute(1, 2, 0)  # (B, C, T): Conv1d's layout
        if self.config.causal:
            h, new_state = self._causal(h, lengths, state)
        else:
            h, new_state = self._centred(h, lengths), None
        out_lengths = None if lengths is None else self.output_lengths(lengths)
        if out_lengths is not None:
            h = _fill_after(h, out_lengths, 0.0)
        return h.permute(2, 0, 1), out_lengths, new_state  # (T', B, C_L)

    def _centred(self, h: Tensor, lengths: Tensor | None) -> Tensor:
        pool = self.config.pool
        for conv, k in zip(self.convs, self.config.kernel_sizes, strict=True):
            if lengths is not None:
                h = _fill_after(h, lengths, 0.0)
            h = self.drop(self.activation(conv(nn.functional.pad(h, self._pads(k)))))
            if lengths is not None:
                lengths = self._conv_lengths(lengths, k)
            if pool > 1:
                if lengths is not None:
                    h = _fill_after(h, lengths, -math.inf)  # a window's max never sees padding
                # ceil_mode keeps the last, partial window: a sequence never shrinks to nothing
                h = nn.functional.max_pool1d(h, pool, ceil_mode=True)
                if lengths is not None:
                    lengths = _ceil_div(lengths, pool)
        return h

    def _causal(self, h: Tensor, lengths: Tensor | None, state: ConvState | None) -> tuple[Tensor, ConvState]:
        if state is None:
            state = self.zero_state(h.shape[0], h.device)
        if len(state) != len(self.convs):
            raise ShapeError(f"the front-end state has {len(state)} layers, the front end {len(self.convs)}")
        new_state: ConvState = []
        for conv, k, past in zip(self.convs, self.config.kernel_sizes, state, strict=True):
            if lengths is not None:
                h = _fill_after(h, lengths, 0.0)
            full = torch.cat([past.to(h.dtype), h], dim=2)  # (B, C, k − 1 + T)
            new_state.append(_last_inputs(full, lengths, k - 1))
            h = self.drop(self.activation(conv(full)))
        return h, new_state


def _fill_after(h: Tensor, lengths: Tensor, value: float) -> Tensor:
    """h (B, C, T) with the steps at and after each row's length set to ``value``."""
    steps = torch.arange(h.shape[2], device=h.device)
    past_end = steps.view(1, 1, -1) >= lengths.to(h.device).view(-1, 1, 1)  # (B, 1, T)
    return h.masked_fill(past_end, value)


def _ceil_div(n: Tensor, d: int) -> Tensor:
    return torch.div(n + d - 1, d, rounding_mode="floor")


def _last_inputs(full: Tensor, lengths: Tensor | None, width: int) -> Tensor:
    """The ``width`` inputs before each row's end in ``full`` (B, C, width + T): the next call's past."""
    if width == 0:
        return full[:, :, :0]
    if lengths is None:
        return full[:, :, full.shape[2] - width :]
    # Row b's real inputs end at index width + T_b − 1 of ``full``, so its past starts at T_b.
    index = lengths.view(-1, 1, 1) + torch.arange(width, device=full.device).view(1, 1, -1)
    return full.gather(2, index.expand(-1, full.shape[1], -1))
