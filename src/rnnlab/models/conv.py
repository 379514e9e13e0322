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

import torch
from torch import Tensor, nn

from rnnlab.dropout import Dropout
from rnnlab.errors import ConfigError, ShapeError
from rnnlab.models.configs import CONV_ACTIVATIONS, ConvConfig

__all__ = ["ACTIVATIONS", "ConvConfig", "ConvFrontEnd", "ConvState"]  # ConvConfig: rnnlab.models.configs

# ConvConfig (torch-free, in rnnlab.models.configs) names the activations; here are their modules.
ACTIVATIONS: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "tanh": nn.Tanh, "gelu": nn.GELU}
assert set(ACTIVATIONS) == set(CONV_ACTIVATIONS)

# The causal front end's state: for each layer, its last k − 1 inputs, (B, C_in, k − 1).
ConvState = list[Tensor]


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
        self.drop = Dropout(config.dropout)

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
