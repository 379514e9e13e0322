"""A linear-chain conditional random field output layer (Lafferty et al. 2001; Lample et al. 2016).

For emissions E (T, K) from the encoder and a tag sequence y_1 … y_T,

    score(y) = s_{y_1} + Σ_{t=1}^{T} E_{t, y_t} + Σ_{t=2}^{T} A_{y_{t−1}, y_t} + e_{y_T}
    p(y | x) = exp score(y) / Z,        Z = Σ_{y'} exp score(y')

with learned start scores s (K), transitions A (K, K) and end scores e (K). The sum over all K^T
sequences is the **forward algorithm** in log space:

    α_1(j) = s_j + E_{1,j}
    α_t(j) = log Σ_i exp(α_{t−1}(i) + A_{i,j}) + E_{t,j}            t = 2 … T
    log Z  = log Σ_j exp(α_T(j) + e_j)

and the best sequence is **Viterbi**: the same recursion with max instead of log-sum-exp, keeping
the arg max ψ_t(j) to trace the path back from arg max_j (δ_T(j) + e_j).

**Partly labelled sequences** (a tag of ``ignore_index`` where the gold tag is unknown, e.g. a
punctuation mark or a ○ in the tone data): the likelihood of what *is* known marginalises over
the unknown positions (Tsuboi et al. 2008),

    −log p(y_known | x) = log Z − log Z_known,

where Z_known is the forward algorithm with each known position restricted to its gold tag.
With every position known, Z_known = exp score(y) and this is the usual CRF negative
log-likelihood. Everything is time-major and length-aware: a batch (T, B, K) with a prefix
``mask`` (T, B) treats each column as a sequence of its own length (padding changes nothing).
Tested against brute-force enumeration of all K^T sequences.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from rnnlab.errors import ShapeError
from rnnlab.models.encoder import wide

IGNORE_INDEX = -100


class CRF(nn.Module):
    """Transition, start and end scores for K tags; see the module docstring."""

    def __init__(self, num_tags: int) -> None:
        super().__init__()
        if num_tags < 1:
            raise ShapeError(f"a CRF needs at least one tag, got {num_tags}")
        self.num_tags = num_tags
        self.start = nn.Parameter(torch.empty(num_tags))  # s
        self.end = nn.Parameter(torch.empty(num_tags))  # e
        self.transitions = nn.Parameter(torch.empty(num_tags, num_tags))  # A[i, j]: score of i → j
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Small uniform scores, as pytorch-crf and the BiLSTM-CRF papers start."""
        for p in (self.start, self.end, self.transitions):
            nn.init.uniform_(p, -0.1, 0.1)

    def _check(self, emissions: Tensor, mask: Tensor) -> None:
        if emissions.dim() != 3 or emissions.shape[2] != self.num_tags:
            raise ShapeError(f"emissions must be (T, B, {self.num_tags}), got {tuple(emissions.shape)}")
        if mask.shape != emissions.shape[:2] or mask.dtype != torch.bool:
            raise ShapeError(f"mask must be a bool (T, B) = {tuple(emissions.shape[:2])} tensor")
        if emissions.shape[0] and not bool(mask[0].all()):
            raise ShapeError("every sequence needs at least one step: mask[0] must be all True")

    def log_partition(self, emissions: Tensor, mask: Tensor, allowed: Tensor | None = None) -> Tensor:
        """log Z (B,) by the forward algorithm; ``allowed`` (T, B, K) restricts the tags at each step."""
        self._check(emissions, mask)
        e = wide(emissions)
        if allowed is not None:
            e = e.masked_fill(~allowed, -torch.inf)
        alpha = wide(self.start) + e[0]  # (B, K)
        trans = wide(self.transitions).unsqueeze(0)  # (1, K_from, K_to)
        for t in range(1, e.shape[0]):
            step = torch.logsumexp(alpha.unsqueeze(2) + trans, dim=1) + e[t]
            alpha = torch.where(mask[t].unsqueeze(1), step, alpha)  # past its end a sequence stays put
        return torch.logsumexp(alpha + wide(self.end), dim=1)

    def score(self, emissions: Tensor, tags: Tensor, mask: Tensor) -> Tensor:
        """score(y) (B,) of fully given tag sequences ``tags`` (T, B)."""
        self._check(emissions, mask)
        e = wide(emissions)
        tags = tags.masked_fill(~mask, 0)
        emit = e.gather(2, tags.unsqueeze(2)).squeeze(2)  # (T, B)
        trans = wide(self.transitions)[tags[:-1], tags[1:]]  # (T − 1, B)
        total = wide(self.start)[tags[0]] + (emit * mask).sum(0) + (trans * mask[1:]).sum(0)
        last = tags.gather(0, (mask.sum(0) - 1).unsqueeze(0)).squeeze(0)  # y_{T_b}
        return total + wide(self.end)[last]

    def nll(self, emissions: Tensor, tags: Tensor, mask: Tensor, ignore_index: int = IGNORE_INDEX) -> Tensor:
        """−log p(y_known | x) per sequence (B,); ``tags`` is ``ignore_index`` where unknown."""
        known = (tags != ignore_index) & mask
        log_z = self.log_partition(emissions, mask)
        if bool((known == mask).all()):
            return log_z - self.score(emissions, tags, mask)
        gold = nn.functional.one_hot(tags.clamp(min=0), self.num_tags).bool()  # (T, B, K)
        allowed = torch.where(known.unsqueeze(2), gold, torch.ones_like(gold))
        return log_z - self.log_partition(emissions, mask, allowed)

    @torch.no_grad()
    def decode(self, emissions: Tensor, mask: Tensor) -> Tensor:
        """The Viterbi path (T, B) of each sequence; 0 at padded steps."""
        self._check(emissions, mask)
        e = wide(emissions)
        steps, batch, k = e.shape
        delta = wide(self.start) + e[0]  # (B, K)
        trans = wide(self.transitions).unsqueeze(0)
        identity = torch.arange(k, device=e.device).expand(batch, k)
        back = []
        for t in range(1, steps):
            best, arg = (delta.unsqueeze(2) + trans).max(dim=1)  # over the previous tag i
            live = mask[t].unsqueeze(1)
            delta = torch.where(live, best + e[t], delta)
            back.append(torch.where(live, arg, identity))  # padded steps point to themselves
        path = [(delta + wide(self.end)).argmax(dim=1)]  # (B,)
        for pointers in reversed(back):
            path.append(pointers.gather(1, path[-1].unsqueeze(1)).squeeze(1))
        tags = torch.stack(path[::-1])  # (T, B)
        return tags.masked_fill(~mask, 0)
