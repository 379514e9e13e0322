"""Attention over encoder outputs: additive (Bahdanau) and dot / general (Luong), masked on padding.

For a decoder state (the *query*) q_t ∈ ℝ^{D_q} and encoder outputs h_1 … h_S ∈ ℝ^{D_k}::

    additive  (Bahdanau et al. 2015)  e_{t,s} = vᵀ tanh(W_q q_t + W_k h_s)   W_q (A×D_q), W_k (A×D_k), v ∈ ℝ^A
    dot       (Luong et al. 2015)     e_{t,s} = q_tᵀ h_s                      needs D_q = D_k
    general   (Luong et al. 2015)     e_{t,s} = q_tᵀ W_a h_s                  W_a (D_q×D_k)

    α_{t,s} = exp(e_{t,s}) / Σ_{s' ∈ real} exp(e_{t,s'})     α_{t,s} = 0 where s is padding
    c_t     = Σ_s α_{t,s} h_s                                 the context vector, (D_k)

The part of the score that depends on the source only (W_k h_s, W_a h_s) is computed once per
source by :meth:`Attention.prepare` and reused at every decoding step. Padding gets the score −∞
before the softmax, so its weight is exactly 0 and what a padded position holds cannot change the
context (tested). Shapes are time-major, as everywhere in the library::

    query (T, B, D_q)   keys (S, B, D_k)   mask (S, B) bool, True at real positions
    →  context (T, B, D_k),   weights (T, B, S)
"""

from __future__ import annotations

from torch import Tensor, nn

from rnnlab.errors import ConfigError, ShapeError

ATTENTIONS: tuple[str, ...] = ("none", "additive", "dot", "general")


class Attention(nn.Module):
    """Score, mask, softmax and weighted sum; subclasses give the score (see the module docstring)."""

    def prepare(self, keys: Tensor) -> Tensor:
        """The source-only part of the score for keys (S, B, D_k); identity by default."""
        return keys

    def scores(self, query: Tensor, prepared: Tensor) -> Tensor:
        """e (T, B, S) for query (T, B, D_q) and the prepared keys (S, B, ·)."""
        raise NotImplementedError

    def forward(
        self, query: Tensor, keys: Tensor, mask: Tensor, prepared: Tensor | None = None
    ) -> tuple[Tensor, Tensor]:
        """Context (T, B, D_k) and weights (T, B, S); pass ``prepared`` to reuse :meth:`prepare`."""
        if query.dim() != 3 or keys.dim() != 3 or query.shape[1] != keys.shape[1]:
            raise ShapeError(
                f"attention needs query (T, B, D) and keys (S, B, D) with the same B, got "
                f"{tuple(query.shape)} and {tuple(keys.shape)}"
            )
        if mask.shape != keys.shape[:2]:
            raise ShapeError(
                f"the mask must have the keys' (S, B) = {tuple(keys.shape[:2])}, got {tuple(mask.shape)}"
            )
        e = self.scores(query, self.prepare(keys) if prepared is None else prepared)  # (T, B, S)
        e = e.masked_fill(~mask.t().unsqueeze(0), float("-inf"))
        weights = e.softmax(dim=-1)  # (T, B, S)
        context = (weights.transpose(0, 1) @ keys.transpose(0, 1)).transpose(0, 1)  # (T, B, D_k)
        return context, weights


class AdditiveAttention(Attention):
    """e = vᵀ tanh(W_q q + W_k h) (Bahdanau et al. 2015); ``size`` is A."""

    def __init__(self, query_size: int, key_size: int, size: int) -> None:
        super().__init__()
        self.W_q = nn.Linear(query_size, size, bias=False)
        self.W_k = nn.Linear(key_size, size, bias=True)
        self.v = nn.Linear(size, 1, bias=False)

    def prepare(self, keys: Tensor) -> Tensor:
        return self.W_k(keys)  # (S, B, A)

    def scores(self, query: Tensor, prepared: Tensor) -> Tensor:
        # (T, 1, B, A) + (1, S, B, A) → tanh → v → (T, S, B) → (T, B, S)
        hidden = (self.W_q(query).unsqueeze(1) + prepared.unsqueeze(0)).tanh()
        return self.v(hidden).squeeze(-1).permute(0, 2, 1)


class DotAttention(Attention):
    """e = qᵀ h (Luong et al. 2015); query and keys must have the same width."""

    def scores(self, query: Tensor, prepared: Tensor) -> Tensor:
        if query.shape[-1] != prepared.shape[-1]:
            raise ShapeError(
                f"dot attention needs queries and keys of one width, got {query.shape[-1]} and "
                f"{prepared.shape[-1]}; use general or additive attention"
            )
        # (B, T, D) @ (B, D, S) → (B, T, S) → (T, B, S)
        return (query.transpose(0, 1) @ prepared.permute(1, 2, 0)).transpose(0, 1)


class GeneralAttention(DotAttention):
    """e = qᵀ W_a h (Luong et al. 2015): a dot product after mapping the keys to the query's width."""

    def __init__(self, query_size: int, key_size: int) -> None:
        super().__init__()
        self.W_a = nn.Linear(key_size, query_size, bias=False)

    def prepare(self, keys: Tensor) -> Tensor:
        return self.W_a(keys)  # (S, B, D_q)


def make_attention(kind: str, query_size: int, key_size: int, size: int) -> Attention | None:
    """The attention module of ``kind`` (one of ATTENTIONS), or None for ``"none"``."""
    if kind == "none":
        return None
    if kind == "additive":
        return AdditiveAttention(query_size, key_size, size)
    if kind == "dot":
        if query_size != key_size:
            raise ConfigError(
                f"dot attention needs the decoder's hidden size ({query_size}) to equal the encoder's output "
                f"width ({key_size}: hidden size × directions); change one, or use attention='general'"
            )
        return DotAttention()
    if kind == "general":
        return GeneralAttention(query_size, key_size)
    raise ConfigError(f"unknown attention {kind!r}; options are {list(ATTENTIONS)}")
