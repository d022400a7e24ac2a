"""The decoder's arithmetic: prefill of many prompts and one decode step of many rows.

Written to match transformers' Llama-family modules operation for operation (RMSNorm in fp32 then
cast, RoPE tables computed in fp32 and cast, residual order, head in the model's dtype then fp32),
so that in fp32 greedy output equals transformers' `generate` token for token. Two differences
that change only rounding: q/k/v and gate/up are one matrix product each (weights.py), and decode
attention is our own (attention.py).

The KV cache is one tensor per K and V, [layers, slots, kv_heads, length, head_dim]: slot s holds
one request's keys at positions 0…pos. A decode step works on slots 0…b−1 (the scheduler keeps
the live rows there) and reads `tokens`/`positions` from the `DecodeState` buffers, so that the
same call can be captured once as a CUDA graph and replayed.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from .weights import DecoderWeights

# attend(q [b, heads, dim], k_cache [slots, kv_heads, length, dim], v_cache, positions [b], width) → [b, heads·dim]
Attend = Callable[[Tensor, Tensor, Tensor, Tensor, int], Tensor]


def rms_norm(x: Tensor, weight: Tensor, eps: float) -> Tensor:
    """transformers' LlamaRMSNorm: normalised in fp32, cast back, then scaled (two roundings, as there).

    torch's fused rms_norm (one kernel on CUDA instead of five) computes x·rsqrt(mean(x²) + eps)
    in fp32, bit for bit what transformers' separate operations give on the CPU.
    """
    h = F.rms_norm(x.to(torch.float32), (x.shape[-1],), eps=eps)
    return weight * h.to(x.dtype)


def rope_tables(weights: DecoderWeights, length: int) -> tuple[Tensor, Tensor]:
    """cos and signed sin [length, head_dim] in the model's dtype, as transformers computes them per position.

    The sin table's first half is negated: `rope` multiplies it with the halves swapped, which
    gives transformers' `rotate_half(x) * sin` = cat(−x₂, x₁)·sin exactly (−a·b = a·(−b) in IEEE
    arithmetic) with one kernel fewer.
    """
    positions = torch.arange(length, device=weights.device, dtype=torch.float32)
    freqs = positions[:, None] * weights.inv_freq.to(weights.device)[None, :]
    emb = torch.cat((freqs, freqs), dim=-1)
    cos = (emb.cos() * weights.attention_scaling).to(weights.dtype)
    sin = (emb.sin() * weights.attention_scaling).to(weights.dtype)
    half = sin.shape[-1] // 2
    return cos, torch.cat((-sin[:, :half], sin[:, half:]), dim=-1)


def rope(x: Tensor, cos: Tensor, signed_sin: Tensor) -> Tensor:
    """transformers' apply_rotary_pos_emb for one tensor: x·cos + rotate_half(x)·sin."""
    half = x.shape[-1] // 2
    swapped = torch.cat((x[..., half:], x[..., :half]), dim=-1)
    return (x * cos) + (swapped * signed_sin)


class DecodeState:
    """Per-slot buffers that a decode step reads and updates in place (static addresses for graphs)."""

    def __init__(self, slots: int, max_new_tokens: int, device: torch.device, sampling: bool):
        self.tokens = torch.zeros(slots, dtype=torch.long, device=device)  # the token fed next
        self.positions = torch.zeros(slots, dtype=torch.long, device=device)  # its position
        self.generated = torch.zeros(slots, dtype=torch.long, device=device)  # tokens generated so far
        self.done = torch.ones(slots, dtype=torch.bool, device=device)  # empty slots count as done
        self.output = torch.zeros(slots, max_new_tokens, dtype=torch.long, device=device)
        self.uniforms = torch.zeros(slots, max_new_tokens, dtype=torch.float64, device=device) if sampling else None
        self.rows = torch.arange(slots, device=device)

    def tensors(self) -> list[Tensor]:
        """Every per-slot tensor (dimension 0 is the slot), for moving rows between slots."""
        found = [self.tokens, self.positions, self.generated, self.done, self.output]
        return found + ([self.uniforms] if self.uniforms is not None else [])


class Decoder:
    """The model's forward passes over a static KV cache of `slots` rows of `length` positions."""

    def __init__(self, weights: DecoderWeights, slots: int, length: int):
        self.w = weights
        shape = (len(weights.layers), slots, weights.kv_heads, length, weights.head_dim)
        self.k_cache = torch.zeros(shape, dtype=weights.dtype, device=weights.device)
        self.v_cache = torch.zeros(shape, dtype=weights.dtype, device=weights.device)
        self.cos, self.sin = rope_tables(weights, length)
        self.scale = weights.head_dim**-0.5
        self.length = length

    def _qkv(self, x: Tensor, layer: int, cos: Tensor, sin: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """x [*rows, hidden] → q, k (RoPE applied), v shaped [*rows, heads, dim].

        q and k go through RoPE together (one set of kernels); qwen3 RMS-norms each first.
        """
        w, lw = self.w, self.w.layers[layer]
        rows = x.shape[:-1]
        h = rms_norm(x, lw.input_norm, w.eps)
        qkv = F.linear(h, lw.qkv, lw.qkv_bias)
        v = qkv[..., w.q_rows + w.kv_rows :].view(*rows, w.kv_heads, w.head_dim)
        if lw.q_norm is None or lw.k_norm is None:
            qk = rope(qkv[..., : w.q_rows + w.kv_rows].view(*rows, w.heads + w.kv_heads, w.head_dim), cos, sin)
            return qk[..., : w.heads, :], qk[..., w.heads :, :], v
        q = rms_norm(qkv[..., : w.q_rows].view(*rows, w.heads, w.head_dim), lw.q_norm, w.eps)
        k = rms_norm(qkv[..., w.q_rows : w.q_rows + w.kv_rows].view(*rows, w.kv_heads, w.head_dim), lw.k_norm, w.eps)
        return rope(q, cos, sin), rope(k, cos, sin), v

    def _rest(self, x: Tensor, attended: Tensor, layer: int) -> Tensor:
        """Output projection, residual, MLP, residual."""
        w, lw = self.w, self.w.layers[layer]
        x = x + F.linear(attended, lw.o, lw.o_bias)
        h = rms_norm(x, lw.post_norm, w.eps)
        gate, up = F.linear(h, lw.gate_up, lw.gate_up_bias).chunk(2, dim=-1)
        return x + F.linear(F.silu(gate) * up, lw.down, lw.down_bias)

    def _logits(self, x: Tensor) -> Tensor:
        x = rms_norm(x, self.w.norm, self.w.eps)
        return F.linear(x, self.w.head, self.w.head_bias).float()

    def prefill(self, tokens: Tensor, last: Tensor, slots: Tensor) -> Tensor:
        """Right-padded prompts [n, width] into cache slots `slots`; fp32 logits [n, vocab] at `last`.

        Causal attention makes right padding harmless: a real position never sees a later one,
        and the padding's keys in the cache are overwritten by decode steps before any row reads them.
        """
        n, width = tokens.shape
        w = self.w
        x = F.embedding(tokens, w.embed)
        cos, sin = self.cos[:width, None, :], self.sin[:width, None, :]  # [width, 1, dim] against [n, width, heads, dim]
        groups = w.heads // w.kv_heads
        for layer in range(len(w.layers)):
            q, k, v = self._qkv(x, layer, cos, sin)
            q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)  # [n, heads, width, dim]
            self.k_cache[layer][slots, :, :width] = k
            self.v_cache[layer][slots, :, :width] = v
            if groups > 1:
                k, v = k.repeat_interleave(groups, dim=1), v.repeat_interleave(groups, dim=1)
            attended = F.scaled_dot_product_attention(q, k, v, is_causal=True, scale=self.scale)
            x = self._rest(x, attended.transpose(1, 2).reshape(n, width, w.q_rows), layer)
        return self._logits(x[torch.arange(n, device=x.device), last])

    def decode(self, state: DecodeState, batch: int, width: int, attend: Attend) -> Tensor:
        """One token for slots 0…batch−1: writes its K/V at its position; fp32 logits [batch, vocab].

        `width` bounds the cache positions attention may read (every row's position is below it).
        """
        w = self.w
        tokens, positions, rows = state.tokens[:batch], state.positions[:batch], state.rows[:batch]
        x = F.embedding(tokens, w.embed)
        cos, sin = self.cos[positions][:, None, :], self.sin[positions][:, None, :]
        for layer in range(len(w.layers)):
            q, k, v = self._qkv(x, layer, cos, sin)
            self.k_cache[layer][rows, :, positions] = k
            self.v_cache[layer][rows, :, positions] = v
            attended = attend(q, self.k_cache[layer], self.v_cache[layer], positions, width)
            x = self._rest(x, attended, layer)
        return self._logits(x)

    def move_rows(self, sources: list[int], targets: list[int], width: int) -> None:
        """Copy cache rows (positions below `width`) from slots `sources` to slots `targets`."""
        for start in range(0, len(sources), 16):  # a few rows at a time bounds the temporary copy
            src = torch.tensor(sources[start : start + 16], device=self.k_cache.device)
            dst = torch.tensor(targets[start : start + 16], device=self.k_cache.device)
            for cache in (self.k_cache, self.v_cache):
                cache[:, dst, :, :width] = cache[:, src, :, :width]
