"""``RNN``, ``LSTM`` and ``GRU`` layers: stacking, direction, lengths, dropout and the two paths.

Shapes (as torch.nn; L layers, D = 2 if bidirectional else 1, H hidden, P = proj_size or H)::

    input    (T, B, I)  or (B, T, I) with batch_first, or (T, I) unbatched, or a PackedSequence
    h_0, h_n (L·D, B, P)        c_0, c_n (L·D, B, H)   (LSTM)
    output   (T, B, D·P)        zero after each sequence's length

Parameters carry torch.nn's names, shapes and gate order (``weight_ih_l{k}[_reverse]``,
``weight_hh_l…``, ``bias_ih_l…``, ``bias_hh_l…``, ``weight_hr_l…``), so ``load_state_dict``
works both ways with ``torch.nn.RNN/LSTM/GRU``.

Several implementations sit behind one class:

* ``impl="fused"`` hands the whole stack to PyTorch's fused kernels (oneDNN/ATen on the CPU,
  cuDNN on the GPU) — the same call ``torch.nn.LSTM`` makes.
* ``impl="reference"`` runs our cells step by step (:mod:`rnnlab.recurrence`): one matrix
  product and one call into :mod:`rnnlab.kernels` per step, with back-propagation through
  time written by hand.
* ``impl="compiled"`` is the reference path with each step's kernels fused by
  ``torch.compile`` (:mod:`rnnlab.compiled`); it compiles on first use and falls back to
  ``"reference"`` with a warning where compiling is impossible. A float32 LSTM on the CPU
  runs its whole time loop in C++ instead (:mod:`rnnlab.native`, the same BPTT in one call
  per layer and direction), where MKL and a compiler allow it.
* ``impl="autograd"`` runs the readable cells of :mod:`rnnlab.cells` under autograd: the
  slowest path and the definition the others are tested against.
* ``impl="auto"`` (default) takes the fused path whenever the configuration allows it, the
  reference path otherwise — except a float32 LSTM on the CPU over more than one step, which
  takes the C++ loop of :mod:`rnnlab.native` (one source file, compiled once per machine in a
  few seconds and cached). It never compiles Inductor steps by itself: those take tens of
  seconds per shape.

Variants that only our own paths express: layer normalisation (``layer_norm``) and
variational (per-sequence) dropout on inputs and hidden state (``dropout_input``,
``dropout_hidden``). DropConnect on the hidden-to-hidden weights (``weight_drop``, as in
AWD-LSTM) and the forget-gate bias initialisation (``forget_bias``) work on every path.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass, fields
from typing import Any, ClassVar, Literal

import torch
from torch import _VF, Tensor, nn
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from rnnlab.cells import NONLINEARITIES
from rnnlab.compiled import compiled_kernels
from rnnlab.config import from_dict_strict
from rnnlab.dropout import dropout, dropout_mask
from rnnlab.errors import ConfigError, ShapeError
from rnnlab.kernels import EAGER
from rnnlab.recurrence import CellKind, MinKind, ScanExtras, min_scan, scan

State = Tensor | tuple[Tensor, Tensor]
Impl = Literal["auto", "fused", "reference", "compiled", "autograd"]

IMPLS: tuple[str, ...] = ("auto", "fused", "reference", "compiled", "autograd")
CELLS: tuple[str, ...] = ("rnn", "lstm", "gru", "mingru", "minlstm")
MIN_CELLS: tuple[str, ...] = ("mingru", "minlstm")  # no hidden product: gates read x_t only
_GATES = {"rnn": 1, "lstm": 4, "gru": 3, "mingru": 2, "minlstm": 3}


@dataclass
class RecurrentConfig:
    """Everything that defines a recurrent layer; serialises to JSON with ``asdict``."""

    cell: str  # "rnn", "lstm", "gru", "mingru" or "minlstm"
    input_size: int  # features per time step, I
    hidden_size: int  # units per layer and direction, H
    num_layers: int = 1  # stacked layers, each reading the previous one's outputs
    nonlinearity: str = "tanh"  # RNN only: "tanh" or "relu"
    bias: bool = True  # b_ih and b_hh, as torch.nn keeps both
    batch_first: bool = False  # (B, T, I) instead of time-major (T, B, I) at the boundary
    dropout: float = 0.0  # ordinary dropout on each layer's outputs except the last
    bidirectional: bool = False  # a second layer reads the sequence backwards; outputs concatenated
    proj_size: int = 0  # LSTM only: project h_t to this size (Sak et al. 2014); 0 = off
    impl: str = "auto"  # "auto", "fused", "reference", "compiled" or "autograd" (module docstring)
    layer_norm: bool = False  # layer-normalised cell (Ba et al. 2016); reference path
    dropout_input: float = 0.0  # variational dropout on each layer's inputs, one mask per sequence
    dropout_hidden: float = 0.0  # variational dropout on h_{t−1} before W_hh (Gal & Ghahramani 2016)
    weight_drop: float = 0.0  # DropConnect on W_hh, one mask per forward (Wan et al. 2013; AWD-LSTM)
    forget_bias: float | None = None  # LSTM only: initial b_f (b_ih + b_hh); 1.0 is the usual choice

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise ConfigError naming the first invalid value and its valid range."""
        if self.cell not in CELLS:
            raise ConfigError(f"unknown cell {self.cell!r}; options are {list(CELLS)}")
        for name in ("input_size", "hidden_size", "num_layers"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ConfigError(f"{name} must be a positive integer, got {value!r}")
        if self.nonlinearity not in NONLINEARITIES:
            raise ConfigError(
                f"unknown nonlinearity {self.nonlinearity!r}; options are {list(NONLINEARITIES)}"
            )
        if self.cell != "rnn" and self.nonlinearity != "tanh":
            raise ConfigError(f"nonlinearity applies to cell='rnn' only, not {self.cell!r}")
        if self.impl not in IMPLS:
            raise ConfigError(f"unknown impl {self.impl!r}; options are {list(IMPLS)}")
        for name in ("dropout", "dropout_input", "dropout_hidden", "weight_drop"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
                raise ConfigError(f"{name} is a probability in [0, 1), got {value!r}")
        if self.proj_size:
            if self.cell != "lstm":
                raise ConfigError("proj_size is defined for LSTM only")
            if not 0 < self.proj_size < self.hidden_size:
                raise ConfigError(
                    f"proj_size must be in [0, hidden_size={self.hidden_size}), got {self.proj_size}"
                )
            if self.layer_norm:
                raise ConfigError("layer_norm with proj_size is not supported; choose one of them")
        if self.cell in MIN_CELLS:
            self._validate_min_cell()
        if self.forget_bias is not None and self.cell != "lstm":
            raise ConfigError("forget_bias is an LSTM setting; GRU and RNN have no forget gate")
        if self.forget_bias is not None and not self.bias:
            raise ConfigError("forget_bias needs bias=True")
        if self.impl == "fused" and not self.fusable(training=True):
            raise ConfigError(
                "impl='fused' cannot express layer_norm, dropout_input or dropout_hidden; "
                "use impl='reference' (or 'auto', which picks the reference path for them)"
            )

    def _validate_min_cell(self) -> None:
        """minGRU/minLSTM have no W_hh: refuse the options that act on it, and kernels they lack."""
        for name in ("layer_norm", "dropout_hidden", "weight_drop"):
            if getattr(self, name):
                raise ConfigError(
                    f"{name} acts on the hidden product h_{{t−1}} W_hh, which a {self.cell} does not "
                    f"have; drop {name} (dropout_input and dropout apply to the min cells)"
                )
        if self.impl in ("fused", "compiled"):
            raise ConfigError(
                f"impl={self.impl!r} does not exist for {self.cell}; use 'auto' (the parallel scan) "
                "or 'reference' (step by step)"
            )

    def fusable(self, training: bool) -> bool:
        """Whether PyTorch's fused kernels compute this configuration (variational dropout is off in eval)."""
        if self.layer_norm or self.cell in MIN_CELLS:
            return False
        return not (training and (self.dropout_input > 0 or self.dropout_hidden > 0))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RecurrentConfig:
        """Build from a JSON dict, rejecting unknown keys with the list of valid ones."""
        return from_dict_strict(cls, data, "recurrent-layer option")


def detach_state(state: State) -> State:
    """Cut the graph behind a carried state (truncated BPTT between batches) without copying it."""
    if isinstance(state, tuple):
        return (state[0].detach(), state[1].detach())
    return state.detach()


class RecurrentLayer(nn.Module):
    """A stack of recurrent layers; use :class:`RNN`, :class:`LSTM` or :class:`GRU`."""

    cell: ClassVar[CellKind | MinKind]

    def __init__(
        self,
        config: RecurrentConfig,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        self.config = config
        if config.dropout > 0 and config.num_layers == 1:
            warnings.warn(
                "dropout acts between stacked layers, so with num_layers=1 it does nothing; "
                "use dropout_input/dropout_hidden for a single layer",
                stacklevel=3,
            )
        kw: dict[str, Any] = {"device": device, "dtype": dtype}
        gate_size = _GATES[config.cell] * config.hidden_size
        self._flat_weights_names: list[str] = []
        self.layer_norms = nn.ModuleDict()
        for layer in range(config.num_layers):
            for direction in range(self.num_directions):
                sfx = f"_l{layer}{'_reverse' if direction else ''}"
                in_size = (
                    config.input_size if layer == 0 else self.output_size_per_direction * self.num_directions
                )
                shapes: list[tuple[str, tuple[int, ...]]] = [("weight_ih", (gate_size, in_size))]
                if config.cell not in MIN_CELLS:
                    shapes.append(("weight_hh", (gate_size, self.output_size_per_direction)))
                if config.bias:
                    shapes.append(("bias_ih", (gate_size,)))
                    if config.cell not in MIN_CELLS:
                        shapes.append(("bias_hh", (gate_size,)))
                if config.proj_size:
                    shapes.append(("weight_hr", (config.proj_size, config.hidden_size)))
                for name, shape in shapes:
                    setattr(self, name + sfx, nn.Parameter(torch.empty(shape, **kw)))
                    self._flat_weights_names.append(name + sfx)
                if config.layer_norm:
                    # Ba et al. normalise W_x x and W_h h separately; the bias b follows, so the
                    # norms need no shift of their own.
                    self.layer_norms["ih" + sfx] = nn.LayerNorm(gate_size, bias=False, **kw)
                    self.layer_norms["hh" + sfx] = nn.LayerNorm(gate_size, bias=False, **kw)
                    if config.cell == "lstm":
                        self.layer_norms["c" + sfx] = nn.LayerNorm(config.hidden_size, **kw)
        self.reset_parameters()

    # torch.nn-compatible attributes
    @property
    def input_size(self) -> int:
        return self.config.input_size

    @property
    def hidden_size(self) -> int:
        return self.config.hidden_size

    @property
    def num_layers(self) -> int:
        return self.config.num_layers

    @property
    def bias(self) -> bool:
        return self.config.bias

    @property
    def batch_first(self) -> bool:
        return self.config.batch_first

    @property
    def dropout(self) -> float:
        return float(self.config.dropout)

    @property
    def bidirectional(self) -> bool:
        return self.config.bidirectional

    @property
    def proj_size(self) -> int:
        return self.config.proj_size

    @property
    def impl(self) -> str:
        return self.config.impl

    @property
    def num_directions(self) -> int:
        return 2 if self.config.bidirectional else 1

    @property
    def output_size_per_direction(self) -> int:
        return self.config.proj_size or self.config.hidden_size

    @property
    def mode(self) -> str:
        """torch.nn's name for the fused kernel: RNN_TANH, RNN_RELU, LSTM or GRU."""
        if self.config.cell == "rnn":
            return "RNN_" + self.config.nonlinearity.upper()
        return self.config.cell.upper()

    def reset_parameters(self) -> None:
        """torch.nn's U(−1/√H, 1/√H) for every weight and bias; then the forget bias, if set."""
        bound = 1.0 / math.sqrt(self.config.hidden_size)
        for name in self._flat_weights_names:
            nn.init.uniform_(getattr(self, name), -bound, bound)
        for norm in self.layer_norms.values():
            if isinstance(norm, nn.LayerNorm):
                norm.reset_parameters()
        if self.config.forget_bias is not None:
            h = self.config.hidden_size
            with torch.no_grad():
                for name in self._flat_weights_names:
                    # b_f is split over two vectors in torch's layout; put it all in b_ih.
                    if name.startswith("bias_ih"):
                        getattr(self, name)[h : 2 * h] = self.config.forget_bias
                    elif name.startswith("bias_hh"):
                        getattr(self, name)[h : 2 * h] = 0.0

    def extra_repr(self) -> str:
        defaults = RecurrentConfig(cell=self.config.cell, input_size=1, hidden_size=1)
        shown = [f"{self.config.input_size}, {self.config.hidden_size}"]
        for f in fields(self.config):
            if f.name in ("cell", "input_size", "hidden_size"):
                continue
            value = getattr(self.config, f.name)
            if value != getattr(defaults, f.name):
                shown.append(f"{f.name}={value!r}")
        return ", ".join(shown)

    # ------------------------------------------------------------------ state helpers
    def zero_state(self, batch_size: int, device: torch.device | None = None) -> State:
        """The all-zero initial state for ``batch_size`` sequences (what ``hx=None`` means)."""
        ref = getattr(self, self._flat_weights_names[0])
        n = self.config.num_layers * self.num_directions
        h = torch.zeros(
            n, batch_size, self.output_size_per_direction, device=device or ref.device, dtype=ref.dtype
        )
        if self.config.cell == "lstm":
            return (h, torch.zeros(n, batch_size, self.config.hidden_size, device=h.device, dtype=h.dtype))
        return h

    def uses_fused(self) -> bool:
        """Whether the next forward call takes the fused path."""
        if self.config.impl in ("auto", "fused"):
            return self.config.fusable(self.training)
        return False

    # ------------------------------------------------------------------ forward
    def forward(
        self, input: Tensor | PackedSequence, hx: State | None = None, lengths: Tensor | None = None
    ) -> tuple[Tensor | PackedSequence, State]:
        """Run the stack. ``lengths`` (B,) marks variable-length sequences in a padded batch.

        Returns ``(output, h_n)`` or, for LSTM, ``(output, (h_n, c_n))``, as torch.nn does;
        a PackedSequence input gives a PackedSequence output.
        """
        if isinstance(input, PackedSequence):
            if lengths is not None:
                raise ShapeError(
                    "pass lengths only with a padded tensor; a PackedSequence already holds them"
                )
            return self._forward_packed(input, hx)
        x, unbatched = self._check_input(input)
        batch_size, steps = x.shape[1], x.shape[0]  # x is time-major from here on
        if lengths is not None:
            lengths = self._check_lengths(lengths, batch_size, steps)
        h0, c0 = self._check_state(hx, batch_size, unbatched, x)
        if self.uses_fused():
            if lengths is None:
                out, hn, cn = self._fused(x, h0, c0, None)
            else:
                packed = pack_padded_sequence(x, lengths, enforce_sorted=False)
                h0s, c0s = _permute_state(h0, c0, packed.sorted_indices)
                data, hn, cn = self._fused(packed.data, h0s, c0s, packed.batch_sizes)
                hn, cn = _permute_state(hn, cn, packed.unsorted_indices)
                out, _ = pad_packed_sequence(packed._replace(data=data), total_length=steps)
        else:
            out, hn, cn = self._reference(x, h0, c0, lengths)
        if self.config.batch_first:
            out = out.transpose(0, 1)
        if unbatched:
            out, hn = out.squeeze(1), hn.squeeze(1)
            cn = None if cn is None else cn.squeeze(1)
        return out, hn if cn is None else (hn, cn)

    def _forward_packed(self, packed: PackedSequence, hx: State | None) -> tuple[PackedSequence, State]:
        if packed.data.dim() != 2 or packed.data.shape[-1] != self.config.input_size:
            raise ShapeError(
                f"packed input data must have shape (sum of lengths, {self.config.input_size}), "
                f"got {tuple(packed.data.shape)}"
            )
        self._check_dtype(packed.data)
        batch_size = int(packed.batch_sizes[0])
        h0, c0 = self._check_state(hx, batch_size, False, packed.data)
        if self.uses_fused():
            # torch stores packed batches sorted by length; the state follows that order inside.
            h0s, c0s = _permute_state(h0, c0, packed.sorted_indices)
            data, hn, cn = self._fused(packed.data, h0s, c0s, packed.batch_sizes)
            hn, cn = _permute_state(hn, cn, packed.unsorted_indices)
            out = packed._replace(data=data)
        else:
            padded, lengths = pad_packed_sequence(packed)  # original batch order
            padded_out, hn, cn = self._reference(padded, h0, c0, lengths.to(padded.device))
            order = packed.sorted_indices
            if order is not None:
                padded_out = padded_out.index_select(1, order)
                lengths = lengths.index_select(0, order.cpu())
            data = pack_padded_sequence(padded_out, lengths, enforce_sorted=True).data
            out = packed._replace(data=data)
        return out, hn if cn is None else (hn, cn)

    # ------------------------------------------------------------------ checks
    def _check_dtype(self, x: Tensor) -> None:
        ref = getattr(self, self._flat_weights_names[0])
        if x.dtype != ref.dtype and not torch.is_autocast_enabled(x.device.type):
            raise ConfigError(
                f"input dtype {x.dtype} does not match the layer's {ref.dtype}: convert the input "
                f"(x.to({ref.dtype})) or the layer (layer.to({x.dtype}))"
            )

    def _check_input(self, input: Tensor) -> tuple[Tensor, bool]:
        """Validate and return the input time-major and batched, and whether it was unbatched."""
        size = self.config.input_size
        layout = "(B, T, {0})" if self.config.batch_first else "(T, B, {0})"
        expected = f"{layout.format(size)} or unbatched (T, {size})"
        if not isinstance(input, Tensor) or input.dim() not in (2, 3):
            shape = tuple(input.shape) if isinstance(input, Tensor) else type(input).__name__
            raise ShapeError(f"{type(self).__name__} expects input of shape {expected}, got {shape}")
        if input.shape[-1] != size:
            raise ShapeError(
                f"{type(self).__name__} was built with input_size={size} but the input has "
                f"{input.shape[-1]} features (shape {tuple(input.shape)}); expected {expected}"
            )
        self._check_dtype(input)
        unbatched = input.dim() == 2
        x = input.unsqueeze(1) if unbatched else (input.transpose(0, 1) if self.config.batch_first else input)
        if x.shape[0] == 0 or x.shape[1] == 0:
            raise ShapeError(
                f"empty batch: input of shape {tuple(input.shape)} has no time steps or no sequences; "
                f"expected {expected} with T ≥ 1 and B ≥ 1"
            )
        return x, unbatched

    def _check_lengths(self, lengths: Tensor, batch_size: int, steps: int) -> Tensor:
        lengths = torch.as_tensor(lengths)
        if lengths.dim() != 1 or lengths.shape[0] != batch_size:
            raise ShapeError(
                f"lengths must have shape ({batch_size},), one per sequence, got {tuple(lengths.shape)}"
            )
        if lengths.dtype.is_floating_point or lengths.dtype == torch.bool:
            raise ShapeError(f"lengths must be integers, got dtype {lengths.dtype}")
        lengths = lengths.to("cpu", torch.int64)
        low, high = int(lengths.min()), int(lengths.max())
        if low < 1 or high > steps:
            raise ShapeError(
                f"lengths must lie in [1, T={steps}] (the padded sequence length), "
                f"got min {low}, max {high}; drop empty sequences and pad the input to the longest one"
            )
        return lengths

    def _check_state(
        self, hx: State | None, batch_size: int, unbatched: bool, x: Tensor
    ) -> tuple[Tensor, Tensor | None]:
        n = self.config.num_layers * self.num_directions
        h_shape = (n, batch_size, self.output_size_per_direction)
        c_shape = (n, batch_size, self.config.hidden_size)
        if hx is None:
            h = x.new_zeros(h_shape)
            return h, (x.new_zeros(c_shape) if self.config.cell == "lstm" else None)
        if self.config.cell == "lstm":
            if not isinstance(hx, tuple) or len(hx) != 2:
                raise ShapeError("an LSTM state is a tuple (h_0, c_0)")
            return self._state_part(hx[0], h_shape, unbatched, "h_0"), self._state_part(
                hx[1], c_shape, unbatched, "c_0"
            )
        if isinstance(hx, tuple):
            raise ShapeError(f"a {type(self).__name__} state is a single tensor h_0, not a tuple")
        return self._state_part(hx, h_shape, unbatched, "h_0"), None

    @staticmethod
    def _state_part(t: Tensor, shape: tuple[int, int, int], unbatched: bool, name: str) -> Tensor:
        expected = (shape[0], shape[2]) if unbatched else shape
        if tuple(t.shape) != expected:
            raise ShapeError(
                f"{name} must have shape {expected} (num_layers·num_directions, batch, size), "
                f"got {tuple(t.shape)}"
            )
        return t.unsqueeze(1) if unbatched else t

    # ------------------------------------------------------------------ the two paths
    def _weights(self) -> list[Tensor]:
        """Parameters in torch's flat order, with DropConnect applied to W_hh while training."""
        weights = [getattr(self, name) for name in self._flat_weights_names]
        p = self.config.weight_drop
        if p > 0 and self.training:
            weights = [
                nn.functional.dropout(w, p) if name.startswith("weight_hh") else w
                for name, w in zip(self._flat_weights_names, weights, strict=True)
            ]
        return weights

    def _fused(
        self, x: Tensor, h0: Tensor, c0: Tensor | None, batch_sizes: Tensor | None
    ) -> tuple[Tensor, Tensor, Tensor | None]:
        """PyTorch's fused kernels for the whole stack (time-major, or packed data).

        One call for the stack, except in CPU training with dropout between layers: PyTorch's
        stacked kernel draws those masks with the slow ``bernoulli_``, and it runs its layers one
        after the other anyway, so there the stack is one call per layer with
        :func:`rnnlab.dropout.dropout` between them.
        """
        cfg = self.config
        kernel: Any = {"LSTM": _VF.lstm, "GRU": _VF.gru, "RNN_TANH": _VF.rnn_tanh, "RNN_RELU": _VF.rnn_relu}[
            self.mode
        ]
        weights = self._weights()
        split = cfg.dropout > 0 and self.training and cfg.num_layers > 1 and x.device.type == "cpu"
        step = 1 if split else cfg.num_layers  # layers per call
        per_layer, d = len(weights) // cfg.num_layers, self.num_directions
        out, h_n, c_n = x, [], []
        for first in range(0, cfg.num_layers, step):
            if first > 0:
                out = dropout(out, cfg.dropout, True)
            rows = slice(first * d, (first + step) * d)
            hx: Any = h0[rows] if c0 is None else (h0[rows], c0[rows])
            w = weights[first * per_layer : (first + step) * per_layer]
            flags = (cfg.bias, step, 0.0 if split else float(cfg.dropout), self.training, cfg.bidirectional)
            if batch_sizes is None:
                result = kernel(out, hx, w, *flags, False)
            else:
                result = kernel(out, batch_sizes, hx, w, *flags)
            out = result[0]
            h_n.append(result[1])
            if c0 is not None:
                c_n.append(result[2])
        if not split:
            return out, h_n[0], (c_n[0] if c0 is not None else None)
        return out, torch.cat(h_n), (torch.cat(c_n) if c0 is not None else None)

    def _reference(
        self, x: Tensor, h0: Tensor, c0: Tensor | None, lengths: Tensor | None
    ) -> tuple[Tensor, Tensor, Tensor | None]:
        """Our cells, layer by layer and direction by direction (time-major input)."""
        cfg = self.config
        steps = x.shape[0]
        mask = None
        reverse_index = None
        if lengths is not None:
            lengths = lengths.to(x.device)
            time = torch.arange(steps, device=x.device).unsqueeze(1)
            mask = (time < lengths.unsqueeze(0)).unsqueeze(2)  # (T, B, 1)
            # Reverse each sequence within its own length; padding stays where it is.
            reverse_index = torch.where(mask.squeeze(2), lengths.unsqueeze(0) - 1 - time, time)
        weights = dict(zip(self._flat_weights_names, self._weights(), strict=True))
        h_n, c_n = [], []
        layer_input = x
        for layer in range(cfg.num_layers):
            if cfg.dropout_input > 0 and self.training:
                layer_input = layer_input * _locked_mask(layer_input, cfg.dropout_input)
            outputs = []
            for direction in range(self.num_directions):
                k = layer * self.num_directions + direction
                sfx = f"_l{layer}{'_reverse' if direction else ''}"
                seq = layer_input if direction == 0 else _reverse(layer_input, reverse_index)
                out, h, c = self._run_direction(seq, sfx, weights, h0[k], None if c0 is None else c0[k], mask)
                outputs.append(out if direction == 0 else _reverse(out, reverse_index))
                h_n.append(h)
                if c is not None:
                    c_n.append(c)
            layer_input = outputs[0] if len(outputs) == 1 else torch.cat(outputs, dim=2)
            if cfg.dropout > 0 and self.training and layer < cfg.num_layers - 1:
                layer_input = dropout(layer_input, cfg.dropout, True)
        return layer_input, torch.stack(h_n), (torch.stack(c_n) if c_n else None)

    def _run_direction(
        self,
        seq: Tensor,
        sfx: str,
        weights: dict[str, Tensor],
        h0: Tensor,
        c0: Tensor | None,
        mask: Tensor | None,
    ) -> tuple[Tensor, Tensor, Tensor | None]:
        cfg = self.config
        if cfg.cell in MIN_CELLS:
            # minGRU/minLSTM: every gate from one product over the whole sequence, then a scan;
            # "auto" scans in parallel unless there is a single step (generation).
            gx = nn.functional.linear(seq, weights["weight_ih" + sfx], weights.get("bias_ih" + sfx))
            parallel = cfg.impl == "auto" and seq.shape[0] > 1
            out, h = min_scan(cfg.cell, gx, h0, mask, parallel)  # type: ignore[arg-type]
            return out, h, None
        w_ih, w_hh = weights["weight_ih" + sfx], weights["weight_hh" + sfx]
        b_ih = weights.get("bias_ih" + sfx)
        b_hh = weights.get("bias_hh" + sfx)
        if cfg.cell != "gru" and b_ih is not None and b_hh is not None:
            # For RNN and LSTM the two biases only ever appear summed: fold b_hh into the
            # input product so the time loop does one matrix multiply per step and no add.
            b_ih, b_hh = b_ih + b_hh, None
        extras = ScanExtras()
        if cfg.layer_norm:
            # LN(W_x x) ⊙ γ + b: the norm has no shift of its own, so b is its β. The time loop
            # normalises each step's product, which costs no pass of its own over all of them.
            gx = nn.functional.linear(seq, w_ih)
            extras.ih_norm, extras.ih_bias = _layer_norm(self.layer_norms["ih" + sfx]), b_ih
            extras.hh_norm = _layer_norm(self.layer_norms["hh" + sfx])
            extras.cell_norm = _layer_norm(self.layer_norms["c" + sfx]) if cfg.cell == "lstm" else None
        else:
            gx = nn.functional.linear(seq, w_ih, b_ih)
        if cfg.dropout_hidden > 0 and self.training:
            extras.hidden_mask = _locked_mask(h0.unsqueeze(0), cfg.dropout_hidden).squeeze(0)
        if cfg.proj_size:
            extras.weight_hr = weights["weight_hr" + sfx]
        return scan(
            cfg.cell,  # type: ignore[arg-type]
            gx,
            h0,
            c0,
            w_hh,
            b_hh,
            mask,
            cfg.nonlinearity,  # type: ignore[arg-type]
            extras,
            bptt=cfg.impl != "autograd",
            kernels=compiled_kernels(seq.device) if cfg.impl == "compiled" else EAGER,
            # "auto" reaches here only for what the fused kernel cannot express; the C++ loop
            # serves it too, except for single steps (generation), where packing W_hh per call
            # would cost more than the step.
            native=cfg.impl == "compiled" or (cfg.impl == "auto" and seq.shape[0] > 1),
        )

    # ------------------------------------------------------------------ cuDNN
    def flatten_parameters(self) -> None:
        """Lay the weights out in one contiguous cuDNN buffer (GPU only; a no-op elsewhere).

        Without it cuDNN copies the weights on every call and warns; torch.nn does the same.
        """
        weights = [getattr(self, name) for name in self._flat_weights_names]
        first = weights[0]
        if (
            self.config.cell in MIN_CELLS
            or not first.is_cuda
            or not all(
                w.is_cuda and w.dtype == first.dtype and torch.backends.cudnn.is_acceptable(w)
                for w in weights
            )
        ):
            return
        if len({w.data_ptr() for w in weights}) != len(weights):
            return
        from torch.backends.cudnn import rnn as cudnn_rnn

        with torch.cuda.device_of(first), torch.no_grad():
            if torch._use_cudnn_rnn_flatten_weight():
                torch._cudnn_rnn_flatten_weight(
                    weights,
                    (4 if self.config.bias else 2) + (1 if self.config.proj_size else 0),
                    self.config.input_size,
                    cudnn_rnn.get_cudnn_mode(self.mode),
                    self.config.hidden_size,
                    self.config.proj_size,
                    self.config.num_layers,
                    self.config.batch_first,
                    self.config.bidirectional,
                )

    def _apply(self, fn: Any, recurse: bool = True) -> RecurrentLayer:
        ret = super()._apply(fn, recurse)
        self.flatten_parameters()
        return ret

    @classmethod
    def from_config(
        cls,
        config: RecurrentConfig,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> RecurrentLayer:
        """Build the layer class that matches ``config.cell``."""
        layer_cls = {"rnn": RNN, "lstm": LSTM, "gru": GRU, "mingru": MinGRU, "minlstm": MinLSTM}[config.cell]
        layer: RecurrentLayer = object.__new__(layer_cls)
        RecurrentLayer.__init__(layer, config, device, dtype)
        return layer


def _permute_state(h: Tensor, c: Tensor | None, order: Tensor | None) -> tuple[Tensor, Tensor | None]:
    if order is None:
        return h, c
    order = order.to(h.device)
    return h.index_select(1, order), (None if c is None else c.index_select(1, order))


def _layer_norm(module: nn.Module) -> nn.LayerNorm:
    assert isinstance(module, nn.LayerNorm)
    return module


def _reverse(seq: Tensor, index: Tensor | None) -> Tensor:
    """Reverse time, each sequence within its own length when ``index`` says so."""
    if index is None:
        return seq.flip(0)
    return seq.gather(0, index.unsqueeze(2).expand_as(seq))


def _locked_mask(like: Tensor, p: float) -> Tensor:
    """A dropout mask of shape (1, B, F), the same at every time step, scaled by 1/(1 − p)."""
    return dropout_mask(like, p, (1, *like.shape[1:]))


class RNN(RecurrentLayer):
    """Elman RNN, h_t = f(W_ih x_t + b_ih + W_hh h_{t−1} + b_hh); torch.nn.RNN's interface."""

    cell = "rnn"

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        nonlinearity: str = "tanh",
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        *,
        impl: Impl = "auto",
        layer_norm: bool = False,
        dropout_input: float = 0.0,
        dropout_hidden: float = 0.0,
        weight_drop: float = 0.0,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        config = RecurrentConfig(
            "rnn", input_size, hidden_size, num_layers, nonlinearity, bias, batch_first, dropout,
            bidirectional, impl=impl, layer_norm=layer_norm, dropout_input=dropout_input,
            dropout_hidden=dropout_hidden, weight_drop=weight_drop,
        )  # fmt: skip
        super().__init__(config, device, dtype)


class LSTM(RecurrentLayer):
    """LSTM (see :func:`rnnlab.cells.lstm_cell`); torch.nn.LSTM's interface, ``proj_size`` included."""

    cell = "lstm"

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        *,
        impl: Impl = "auto",
        layer_norm: bool = False,
        dropout_input: float = 0.0,
        dropout_hidden: float = 0.0,
        weight_drop: float = 0.0,
        forget_bias: float | None = None,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        config = RecurrentConfig(
            "lstm", input_size, hidden_size, num_layers, "tanh", bias, batch_first, dropout, bidirectional,
            proj_size, impl=impl, layer_norm=layer_norm, dropout_input=dropout_input,
            dropout_hidden=dropout_hidden, weight_drop=weight_drop, forget_bias=forget_bias,
        )  # fmt: skip
        super().__init__(config, device, dtype)


class GRU(RecurrentLayer):
    """GRU (see :func:`rnnlab.cells.gru_cell`); torch.nn.GRU's interface."""

    cell = "gru"

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        *,
        impl: Impl = "auto",
        layer_norm: bool = False,
        dropout_input: float = 0.0,
        dropout_hidden: float = 0.0,
        weight_drop: float = 0.0,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        config = RecurrentConfig(
            "gru", input_size, hidden_size, num_layers, "tanh", bias, batch_first, dropout, bidirectional,
            impl=impl, layer_norm=layer_norm, dropout_input=dropout_input, dropout_hidden=dropout_hidden,
            weight_drop=weight_drop,
        )  # fmt: skip
        super().__init__(config, device, dtype)


class _MinLayer(RecurrentLayer):
    """The constructor of :class:`MinGRU` and :class:`MinLSTM`: torch.nn's arguments minus W_hh's."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        *,
        impl: Impl = "auto",
        dropout_input: float = 0.0,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        config = RecurrentConfig(
            self.cell, input_size, hidden_size, num_layers, "tanh", bias, batch_first, dropout, bidirectional,
            impl=impl, dropout_input=dropout_input,
        )  # fmt: skip
        super().__init__(config, device, dtype)


class MinGRU(_MinLayer):
    """minGRU (Feng et al. 2024; see :func:`rnnlab.cells.min_gru_cell`), trained with a parallel scan.

    h_t = (1 − z_t) ⊙ h_{t−1} + z_t ⊙ g(W_h x_t + b_h),  z_t = σ(W_z x_t + b_z): the gates read
    only x_t, so a layer is one matrix product and a scan (``rnnlab.recurrence.min_scan``).
    Parameters ``weight_ih_l{k}`` (2H, I) and ``bias_ih_l{k}`` stack (z, h̃); there is no W_hh.
    ``impl="auto"`` scans in parallel (one step at a time for T = 1), ``"reference"`` steps.
    """

    cell = "mingru"


class MinLSTM(_MinLayer):
    """minLSTM (Feng et al. 2024; see :func:`rnnlab.cells.min_lstm_cell`), trained with a parallel scan.

    h_t = f′_t ⊙ h_{t−1} + i′_t ⊙ g(W_h x_t + b_h) with the normalised gates f′ = f/(f + i),
    i′ = i/(f + i) of x_t alone; no cell state (the state is h). Parameters ``weight_ih_l{k}``
    (3H, I) and ``bias_ih_l{k}`` stack (f, i, h̃). ``impl`` as for :class:`MinGRU`.
    """

    cell = "minlstm"
