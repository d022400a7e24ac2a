"""NEFTune: uniform noise on the input embeddings while training (transformers' semantics).

transformers (`integrations/neftune.py`) adds Uniform(−b, b) with b = α / sqrt(L·d) to every
element of the embedding output, where L is the length of the batch tensor (padded, or the total
flattened length of a packed / padding-free batch) and d the hidden size; only in training mode.
The expected squared norm of the noise on one sequence of L tokens is L·d·b²/3 = α²/3.

Packed and padding-free batches (specs/training.md §5, last bullet). With HF semantics a pack of
ten 400-token documents gets the noise of one 4000-token sequence: b shrinks by √10 and each
document gets a tenth of the noise energy it would get alone. We keep HF semantics as the default
(`per_document=False`) so results compare with TRL runs, and offer `per_document=True`: each
document's own length L_doc is used (b = α / sqrt(L_doc·d)), so every document receives the
noise energy α²/3 it would receive unpacked. Document boundaries come from the `position_ids`
the loop hands over through `handle.documents(position_ids, attention_mask)` (positions restart
at 0 at every document); padding (attention_mask 0) does not count into any length. Without
that context, `per_document=True` uses the non-padding length of each row, or the row length.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn


def neftune_bound(alpha: float, length: int, hidden: int) -> float:
    """b = α / sqrt(L·d), the half-width of the uniform noise."""
    if length <= 0 or hidden <= 0:
        raise ValueError(f"length and hidden must be positive, got {length} and {hidden}")
    return alpha / math.sqrt(length * hidden)


def document_lengths_per_token(position_ids: Tensor, attention_mask: Tensor | None = None) -> Tensor:
    """For each token [B, T], the number of real tokens of the document it belongs to.

    A document starts at the first column of a row and wherever `position_ids == 0`.
    """
    if position_ids.dim() == 1:
        position_ids = position_ids.unsqueeze(0)
    starts = position_ids == 0
    starts[:, 0] = True
    doc_index = starts.long().cumsum(dim=1) - 1  # 0-based document number within the row
    real = torch.ones_like(position_ids, dtype=torch.long) if attention_mask is None else attention_mask.long()
    n_docs = int(doc_index.max().item()) + 1
    counts = torch.zeros(position_ids.size(0), n_docs, dtype=torch.long, device=position_ids.device)
    counts.scatter_add_(1, doc_index, real)
    return counts.gather(1, doc_index).clamp(min=1)


@dataclass
class NEFTuneHandle:
    """What `attach_neftune` returns: `.remove()` detaches the hook."""

    alpha: float
    per_document: bool
    generator: torch.Generator | None
    _hook: torch.utils.hooks.RemovableHandle | None = None
    _position_ids: Tensor | None = field(default=None, repr=False)
    _attention_mask: Tensor | None = field(default=None, repr=False)

    def remove(self) -> None:
        if self._hook is not None:
            self._hook.remove()
            self._hook = None

    @contextlib.contextmanager
    def documents(self, position_ids: Tensor | None, attention_mask: Tensor | None = None) -> Iterator[None]:
        """Tell the hook the document layout of the batch about to be forwarded (per_document mode)."""
        self._position_ids, self._attention_mask = position_ids, attention_mask
        try:
            yield
        finally:
            self._position_ids, self._attention_mask = None, None

    def noise_bound(self, output: Tensor) -> Tensor | float:
        """b for this embedding output [B, L, d]: a scalar (HF) or one value per token (per document)."""
        length, hidden = output.size(1), output.size(2)
        if not self.per_document:
            return neftune_bound(self.alpha, length, hidden)
        if self._position_ids is not None:
            lengths = document_lengths_per_token(self._position_ids.to(output.device), self._attention_mask)
        elif self._attention_mask is not None:
            lengths = self._attention_mask.long().sum(dim=1, keepdim=True).clamp(min=1).expand(-1, length)
        else:
            lengths = torch.full(output.shape[:2], length, device=output.device)
        return (self.alpha / torch.sqrt(lengths.to(torch.float32) * hidden)).unsqueeze(-1).to(output.dtype)

    def _hook_fn(self, module: nn.Module, _inputs: object, output: Tensor) -> Tensor:
        if not module.training:
            return output
        bound = self.noise_bound(output)
        # Draw in fp32 then cast: uniform_ on bf16 directly quantises the noise distribution.
        unit = torch.empty(output.shape, dtype=torch.float32, device=output.device)
        unit.uniform_(-1.0, 1.0, generator=self.generator)
        return output + (unit.to(output.dtype) * bound)


def input_embeddings(model: nn.Module) -> nn.Module:
    """The input embedding module, looking through a peft wrapper to the base model."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    return base.get_input_embeddings()


def attach_neftune(
    model: nn.Module, alpha: float, *, per_document: bool = False, generator: torch.Generator | None = None
) -> NEFTuneHandle:
    """Register the NEFTune forward hook on the model's input embeddings.

    Noise is drawn from `generator` (or torch's global generator, which the loop seeds), fresh on
    every forward, and only while the embedding module is in training mode.
    """
    if alpha <= 0:
        raise ValueError(f"NEFTune alpha must be positive, got {alpha}")
    handle = NEFTuneHandle(alpha=alpha, per_document=per_document, generator=generator)
    handle._hook = input_embeddings(model).register_forward_hook(handle._hook_fn)
    return handle
