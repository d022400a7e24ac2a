"""The forward pass of training: log-probabilities of the trained tokens, nothing more.

Both objectives need only log p(token | prefix) at the trained positions (SFT: their sum; DPO: the
sum per reply). Computing full-vocabulary logits for every position and upcasting them to fp32 —
what `model(...).logits` gives — costs [tokens × vocabulary] fp32 memory and a head matmul for
every prompt token that is never trained. Here:

1. the decoder runs (`base.get_decoder()`), giving hidden states [B, L, H];
2. the hidden states at the predicting positions of the trained tokens are picked out;
3. `LinearTokenLogps` multiplies them by the output head in chunks of rows, takes log-softmax in
   fp32 and keeps one number per token. Backward recomputes each chunk's logits rather than
   storing them (peak extra memory: one chunk's logits).

Models whose head is not a plain Linear on the last hidden state (logit soft-capping, logit
scales, a LoRA-wrapped or quantised head) take the general path: full logits from the model,
then the same fp32 log-softmax on the trained positions only.

Varlen attention (the GPU fast path): with `FlatBatch` (data.py) the micro-batch is one row of
concatenated documents and the attention function registered here as "kielo_varlen" runs
PyTorch's flash-attention varlen kernel (`torch.nn.attention.varlen.varlen_attn`) over the
document boundaries: no dense block-diagonal mask, no padding. transformers builds no mask for
an attention implementation that has no mask function registered.
"""

from __future__ import annotations

import importlib.util
from typing import Any

import torch
from torch import Tensor, nn

from .data import Targets

VARLEN_ATTENTION = "kielo_varlen"
# Rows of logits per chunk: about this many bytes of fp32 logits at a time.
CHUNK_BYTES = 1 << 30

# Model types whose causal-LM head is `lm_head(hidden)` with nothing after it (no soft-capping or
# scaling of the logits): for these the decoder/head split is exactly the model's own forward.
PLAIN_HEAD_MODEL_TYPES = frozenset(
    {"llama", "mistral", "mixtral", "qwen2", "qwen2_moe", "qwen3", "qwen3_moe", "phi3", "gemma", "olmo", "olmo2",
     "stablelm", "starcoder2", "smollm3", "bloom", "gpt_neox", "gpt2", "opt", "falcon"}
)


# ---- varlen attention -------------------------------------------------------------------------


def varlen_attention(
    module: nn.Module,
    query: Tensor,
    key: Tensor,
    value: Tensor,
    attention_mask: Tensor | None,
    scaling: float | None = None,
    dropout: float = 0.0,
    **kwargs: Any,
) -> tuple[Tensor, None]:
    """transformers' attention interface: q [B, Hq, L, D], k/v [B, Hkv, L, D] → out [B, L, Hq, D].

    The batch must come from `FlatBatch.model_inputs()` (cu_seq_lens_q …); causal within each
    document. Flash attention handles grouped-query attention (Hkv dividing Hq) natively.
    """
    from torch.nn.attention.varlen import varlen_attn

    cu = kwargs.get("cu_seq_lens_q")
    max_length = kwargs.get("max_length_q")
    if cu is None or max_length is None:
        raise RuntimeError("kielo_varlen attention needs a flat batch (cu_seq_lens_q, max_length_q); this is a bug in the engine")
    if attention_mask is not None:
        raise RuntimeError("kielo_varlen attention got an attention mask; flat batches have none")
    if dropout:
        raise RuntimeError("kielo_varlen attention has no attention dropout")
    batch, heads, length, dim = query.shape
    # Under autocast (fp32 master weights, bf16 compute) q and k arrive in fp32: RoPE multiplies
    # them by cos/sin in the fp32 residual stream's dtype. Flash attention takes only bf16/fp16,
    # and autocast does not cover this custom op, so cast here as autocast casts sdpa's inputs.
    dtype = query.dtype
    if torch.is_autocast_enabled(query.device.type) and dtype == torch.float32:
        dtype = torch.get_autocast_dtype(query.device.type)
    q = query.transpose(1, 2).reshape(batch * length, heads, dim).to(dtype)
    k = key.transpose(1, 2).reshape(batch * length, key.shape[1], dim).to(dtype)
    v = value.transpose(1, 2).reshape(batch * length, value.shape[1], dim).to(dtype)
    out = varlen_attn(q, k, v, cu, cu, int(max_length), int(max_length), scale=scaling, window_size=(-1, 0))
    return out.view(batch, length, heads, dim), None


def register_varlen_attention() -> None:
    from transformers import AttentionInterface

    AttentionInterface.register(VARLEN_ATTENTION, varlen_attention)


# Model types whose attention goes through transformers' attention interface and whose masks
# come from `masking_utils` (which derives documents from restarting position ids): for these the
# flat layout is exact with any attention implementation, and varlen attention can run.
FLAT_MODEL_TYPES = PLAIN_HEAD_MODEL_TYPES - {"bloom", "gpt_neox", "gpt2", "opt", "falcon"}


def choose_attention(requested: str, config: dict[str, Any], device: torch.device, compute_dtype: torch.dtype) -> tuple[str, bool, str]:
    """(attn_implementation, flat layout, why) for a job's `model.attn_implementation`.

    `auto`: varlen attention over flat batches where it can run (a CUDA GPU, bf16/fp16, a model
    type in FLAT_MODEL_TYPES without sliding windows, a head size flash attention takes); flat
    batches with sdpa elsewhere for those model types; padded rows with sdpa for the rest. An
    explicit implementation (`sdpa`, `eager`, `kielo_varlen`) is used as given."""
    model_type = config.get("model_type")
    flat_ok = model_type in FLAT_MODEL_TYPES
    if requested == VARLEN_ATTENTION:
        if not flat_ok:
            raise ValueError(f"attn_implementation {VARLEN_ATTENTION} needs a model type in {sorted(FLAT_MODEL_TYPES)}, got {model_type!r}")
        return VARLEN_ATTENTION, True, "asked for"
    if requested != "auto":
        return requested, flat_ok, "asked for"
    why_not = _varlen_unavailable(config, device, compute_dtype) if flat_ok else f"model type {model_type!r}"
    if why_not is None:
        return VARLEN_ATTENTION, True, "flat batches, flash-attention varlen kernel"
    return "sdpa", flat_ok, f"sdpa ({why_not})"


def _varlen_unavailable(config: dict[str, Any], device: torch.device, compute_dtype: torch.dtype) -> str | None:
    if device.type != "cuda":
        return "no GPU"
    if compute_dtype not in (torch.bfloat16, torch.float16):
        return f"compute dtype {str(compute_dtype).removeprefix('torch.')}: flash attention needs bf16 or fp16"
    if importlib.util.find_spec("torch.nn.attention.varlen") is None:
        return f"torch {torch.__version__} has no torch.nn.attention.varlen"
    if config.get("sliding_window") and config.get("use_sliding_window", True):
        return "sliding-window attention"
    head_dim = config.get("head_dim") or config["hidden_size"] // config["num_attention_heads"]
    if head_dim % 8 or head_dim > 256:
        return f"head dimension {head_dim}: flash attention needs a multiple of 8, at most 256"
    return None


# ---- decoder and head -------------------------------------------------------------------------


def base_model(model: nn.Module) -> nn.Module:
    """The transformers model under a peft wrapper."""
    return model.get_base_model() if hasattr(model, "get_base_model") else model


def decoder_and_head(model: nn.Module) -> tuple[nn.Module, nn.Linear] | None:
    """(decoder, head) when logits are exactly head(decoder(...).last_hidden_state), else None.

    None under FSDP2 too: the root unit (embeddings, final norm, head) is gathered by the root's
    forward hook, which calling the decoder and the head's weight directly would skip (their
    weights would still be shards)."""
    from torch.distributed.fsdp import FSDPModule

    if isinstance(model, FSDPModule):
        return None
    base = base_model(model)
    if getattr(base.config, "model_type", None) not in PLAIN_HEAD_MODEL_TYPES:
        return None
    head = base.get_output_embeddings()
    if type(head) is not nn.Linear:  # LoRA on the head, NF4, or something custom
        return None
    decoder = base.get_decoder()
    if decoder is base:
        return None
    return decoder, head


def chunk_rows(vocab: int) -> int:
    return max(1, CHUNK_BYTES // (4 * vocab))


class LinearTokenLogps(torch.autograd.Function):
    """log_softmax(h @ Wᵀ + b)[i, ids[i]] in fp32, chunked over rows; backward recomputes each
    chunk's logits (d logp / d logits = onehot − softmax)."""

    @staticmethod
    def forward(ctx: Any, hidden: Tensor, weight: Tensor, bias: Tensor | None, ids: Tensor, rows: int) -> Tensor:
        n = hidden.shape[0]
        acc = _accumulation_dtype(hidden)
        out = torch.empty(n, dtype=acc, device=hidden.device)
        lse = torch.empty(n, dtype=acc, device=hidden.device)
        for a in range(0, n, rows):
            logits = _chunk_logits(hidden[a : a + rows], weight, bias)
            lse[a : a + rows] = torch.logsumexp(logits, dim=-1)
            out[a : a + rows] = logits.gather(-1, ids[a : a + rows, None]).squeeze(-1) - lse[a : a + rows]
        ctx.save_for_backward(hidden, weight, bias, ids, lse)
        ctx.rows = rows
        return out

    @staticmethod
    def backward(ctx: Any, grad_out: Tensor) -> tuple[Tensor | None, ...]:
        hidden, weight, bias, ids, lse = ctx.saved_tensors
        rows = ctx.rows
        need_h, need_w = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
        need_b = bias is not None and ctx.needs_input_grad[2]
        acc = _accumulation_dtype(hidden)
        grad_h = torch.empty_like(hidden) if need_h else None
        grad_w = torch.zeros(weight.shape, dtype=acc, device=weight.device) if need_w else None
        grad_b = torch.zeros(bias.shape, dtype=acc, device=bias.device) if need_b else None
        for a in range(0, hidden.shape[0], rows):
            h = hidden[a : a + rows]
            g_out = grad_out[a : a + rows].to(acc)
            probs = torch.exp(_chunk_logits(h, weight, bias) - lse[a : a + rows, None])
            # d/dlogits of g·(logit[id] − lse) = g·(onehot − softmax)
            grad_logits = probs.mul_(-g_out[:, None])
            grad_logits.scatter_add_(-1, ids[a : a + rows, None], g_out[:, None])
            g = grad_logits.to(hidden.dtype)
            if grad_h is not None:
                grad_h[a : a + rows] = g @ weight.to(hidden.dtype)
            if grad_w is not None:
                grad_w += (g.t() @ h).to(acc)
            if grad_b is not None:
                grad_b += grad_logits.sum(0)
        return (
            grad_h,
            None if grad_w is None else grad_w.to(weight.dtype),
            None if grad_b is None else grad_b.to(bias.dtype),
            None,
            None,
        )


def _accumulation_dtype(hidden: Tensor) -> torch.dtype:
    """fp32 for the log-softmax and gradient sums, whatever the compute dtype; fp64 stays fp64."""
    return torch.float64 if hidden.dtype == torch.float64 else torch.float32


def _chunk_logits(hidden: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
    logits = hidden @ weight.to(hidden.dtype).t()
    if bias is not None:
        logits = logits + bias.to(hidden.dtype)
    return logits.to(_accumulation_dtype(hidden))


def linear_token_logps(hidden: Tensor, head: nn.Linear, ids: Tensor) -> Tensor:
    """Per-token log-probs of `ids` under head(hidden): fp32 (fp64 stays fp64), [n]."""
    weight, bias = head.weight, head.bias
    device_type = hidden.device.type
    if torch.is_autocast_enabled(device_type):
        # Under autocast (fp32 master weights, bf16 compute) the head computes in the autocast
        # dtype, as nn.Linear would; the casts are recorded, so gradients reach the fp32 weights.
        dtype = torch.get_autocast_dtype(device_type)
        hidden, weight = hidden.to(dtype), weight.to(dtype)
        bias = None if bias is None else bias.to(dtype)
        with torch.autocast(device_type, enabled=False):
            return LinearTokenLogps.apply(hidden, weight, bias, ids, chunk_rows(weight.shape[0]))
    if weight.dtype != hidden.dtype:
        weight = weight.to(hidden.dtype)
    return LinearTokenLogps.apply(hidden, weight, bias, ids, chunk_rows(weight.shape[0]))


def gathered_token_logps(logits: Tensor, ids: Tensor) -> Tensor:
    """log_softmax over the last dimension in fp32 (fp64 stays), gathered at ids, chunked."""
    dtype = torch.float64 if logits.dtype == torch.float64 else torch.float32
    rows = chunk_rows(logits.shape[-1])
    parts = []
    for a in range(0, logits.shape[0], rows):
        chunk = logits[a : a + rows].to(dtype)
        parts.append(chunk.gather(-1, ids[a : a + rows, None]).squeeze(-1) - torch.logsumexp(chunk, dim=-1))
    return torch.cat(parts) if parts else logits.new_zeros(0, dtype=dtype)


def token_logps(model: nn.Module, inputs: dict[str, Any], targets: Targets) -> Tensor:
    """log p(targets.ids[i] | prefix) for every trained token of the batch, [n] fp32."""
    parts = decoder_and_head(model)
    if parts is None:
        logits = model(**inputs, use_cache=False).logits
        return gathered_token_logps(logits[targets.rows, targets.cols], targets.ids)
    decoder, head = parts
    hidden = decoder(**inputs, use_cache=False).last_hidden_state
    return linear_token_logps(hidden[targets.rows, targets.cols], head, targets.ids)


def sequence_sums(values: Tensor, targets: Targets, sequences: int) -> Tensor:
    """Σ of per-token values per sequence of the batch, [sequences] (fp32/fp64 as the values)."""
    return values.new_zeros(sequences).index_add_(0, targets.seq, values)


def target_counts(targets: Targets, sequences: int) -> Tensor:
    return torch.bincount(targets.seq, minlength=sequences)


__all__ = [
    "VARLEN_ATTENTION",
    "decoder_and_head",
    "gathered_token_logps",
    "linear_token_logps",
    "choose_attention",
    "register_varlen_attention",
    "sequence_sums",
    "target_counts",
    "token_logps",
]
