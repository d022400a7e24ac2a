"""The weights of a Llama-family decoder, taken from a Hugging Face model without copying them.

The fast decoder computes directly on the model's own parameters. Two matrix products per layer
are fused — q, k, v into one and gate, up into one — which needs each group's rows adjacent in
memory: the first time a model is prepared, each group is copied into one buffer and the module's
parameters are re-pointed to row slices of it (`Parameter.data = buffer[rows]`), so the model
keeps working unchanged for anything else (transformers' own generate, training) and holds no
second copy of its weights.

Supported: llama, mistral, qwen2 (q/k/v biases), qwen3 (RMSNorm of q and k per head). What the
fast decoder does not compute (sliding windows shorter than the generation, RoPE variants whose
frequencies change with the length, LoRA layers not merged, quantised layers, other activations)
is refused with a reason, and generation falls back to transformers.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

SUPPORTED_MODEL_TYPES = ("llama", "mistral", "qwen2", "qwen3")
# RoPE types whose inverse frequencies are fixed at load time (transformers' ROPE_INIT_FUNCTIONS);
# "dynamic" and "longrope" recompute them from the sequence length and are not supported.
STATIC_ROPE_TYPES = ("default", "linear", "llama3", "yarn", "proportional")


class Unsupported(Exception):
    """The fast decoder cannot run this model; the message says why."""


@dataclass
class LayerWeights:
    input_norm: Tensor
    qkv: Tensor  # [(heads + 2·kv_heads)·head_dim, hidden]
    qkv_bias: Tensor | None
    q_norm: Tensor | None  # qwen3: RMSNorm over head_dim
    k_norm: Tensor | None
    o: Tensor
    o_bias: Tensor | None
    post_norm: Tensor
    gate_up: Tensor  # [2·intermediate, hidden]
    gate_up_bias: Tensor | None
    down: Tensor
    down_bias: Tensor | None


@dataclass
class DecoderWeights:
    model_type: str
    layers: list[LayerWeights]
    embed: Tensor  # [vocab, hidden]
    norm: Tensor
    head: Tensor  # [vocab, hidden]; the embedding itself when tied
    head_bias: Tensor | None
    eps: float
    heads: int
    kv_heads: int
    head_dim: int
    hidden: int
    inv_freq: Tensor  # fp32 [head_dim / 2]
    attention_scaling: float
    sliding_window: int | None

    @property
    def dtype(self) -> torch.dtype:
        return self.embed.dtype

    @property
    def device(self) -> torch.device:
        return self.embed.device

    @property
    def vocab(self) -> int:
        return self.head.shape[0]

    @property
    def q_rows(self) -> int:
        return self.heads * self.head_dim

    @property
    def kv_rows(self) -> int:
        return self.kv_heads * self.head_dim


def unsupported_reason(model: nn.Module) -> str | None:
    """Why the fast decoder cannot run `model`, or None when it can."""
    try:
        check_model(model)
    except Unsupported as err:
        return str(err)
    return None


PROJECTIONS = (("self_attn", "q_proj"), ("self_attn", "k_proj"), ("self_attn", "v_proj"), ("self_attn", "o_proj"),
               ("mlp", "gate_proj"), ("mlp", "up_proj"), ("mlp", "down_proj"))


def check_model(model: nn.Module) -> None:
    if hasattr(model, "peft_config"):
        raise Unsupported("a LoRA adapter that is not merged (merge it into the weights first: merge_and_unload)")
    config = getattr(model, "config", None)
    model_type = getattr(config, "model_type", None)
    if model_type not in SUPPORTED_MODEL_TYPES:
        raise Unsupported(f"model_type {model_type!r} (supported: {', '.join(SUPPORTED_MODEL_TYPES)})")
    inner = getattr(model, "model", None)
    if inner is None or not hasattr(inner, "layers") or not hasattr(model, "lm_head"):
        raise Unsupported(f"{type(model).__name__} is not a causal LM with model.layers and lm_head")
    if getattr(config, "hidden_act", "silu") != "silu":
        raise Unsupported(f"activation {config.hidden_act!r} (only silu)")
    rope_type = (getattr(config, "rope_parameters", None) or {}).get("rope_type", "default")
    if rope_type not in STATIC_ROPE_TYPES:
        raise Unsupported(f"RoPE type {rope_type!r} changes its frequencies with the length")
    rotary = getattr(inner, "rotary_emb", None)
    if rotary is None or not isinstance(getattr(rotary, "inv_freq", None), Tensor):
        raise Unsupported("the model has no single rotary embedding (model.rotary_emb.inv_freq)")
    if len({p.device for p in model.parameters()}) != 1:
        raise Unsupported("the model's weights are spread over several devices")
    if type(model.get_input_embeddings()) is not nn.Embedding:
        raise Unsupported("the input embedding is not a plain nn.Embedding")
    if type(model.lm_head) is not nn.Linear:
        raise Unsupported("the output head is not a plain Linear (quantised or adapter layer)")
    for index, layer in enumerate(inner.layers):
        for part, name in PROJECTIONS:
            module = getattr(getattr(layer, part, None), name, None)
            if type(module) is not nn.Linear:
                kind = type(module).__name__ if module is not None else "missing"
                raise Unsupported(f"layer {index} {part}.{name} is {kind}, not a plain Linear (quantised or adapter layer)")


def window_of(model: nn.Module) -> int | None:
    """The sliding-window length if any layer attends through one, else None."""
    config = model.config
    window = getattr(config, "sliding_window", None)
    if window is None:
        return None
    layer_types = getattr(config, "layer_types", None)
    if layer_types is not None and "sliding_attention" not in layer_types:
        return None
    if getattr(config, "use_sliding_window", True) is False:
        return None
    return int(window)


def adjacent_rows(weights: list[Tensor]) -> Tensor | None:
    """The single [Σrows, cols] tensor the weights are consecutive row slices of, if they are."""
    first = weights[0]
    cols = first.shape[1]
    expected = first.data_ptr()
    for w in weights:
        if not w.is_contiguous() or w.dim() != 2 or w.shape[1] != cols or w.data_ptr() != expected:
            return None
        if w.untyped_storage().data_ptr() != first.untyped_storage().data_ptr():
            return None
        expected += w.numel() * w.element_size()
    rows = sum(w.shape[0] for w in weights)
    return first.as_strided((rows, cols), (cols, 1))


def fuse_rows(params: list[nn.Parameter]) -> Tensor:
    """One [Σrows, cols] tensor whose row slices are the parameters (re-pointed there if needed)."""
    fused = adjacent_rows([p.data for p in params])
    if fused is not None:
        return fused
    with torch.no_grad():
        fused = torch.cat([p.data for p in params], dim=0)
        start = 0
        for p in params:
            rows = p.shape[0]
            p.data = fused[start : start + rows]
            start += rows
    return fused


def fuse_bias(modules: list[nn.Linear]) -> Tensor | None:
    biases = [m.bias for m in modules]
    if all(b is None for b in biases):
        return None
    parts = [b.data if b is not None else torch.zeros(m.out_features, dtype=m.weight.dtype, device=m.weight.device)
             for b, m in zip(biases, modules)]
    return torch.cat(parts)  # biases are small: a copy is fine


def extract_weights(model: nn.Module) -> DecoderWeights:
    """The decoder's weights (fusing q/k/v and gate/up in place, see the module docstring)."""
    check_model(model)
    config = model.config
    layers = []
    for layer in model.model.layers:
        attn, mlp = layer.self_attn, layer.mlp
        qkv_modules = [attn.q_proj, attn.k_proj, attn.v_proj]
        layers.append(
            LayerWeights(
                input_norm=layer.input_layernorm.weight.data,
                qkv=fuse_rows([m.weight for m in qkv_modules]),
                qkv_bias=fuse_bias(qkv_modules),
                q_norm=attn.q_norm.weight.data if hasattr(attn, "q_norm") else None,
                k_norm=attn.k_norm.weight.data if hasattr(attn, "k_norm") else None,
                o=attn.o_proj.weight.data,
                o_bias=attn.o_proj.bias.data if attn.o_proj.bias is not None else None,
                post_norm=layer.post_attention_layernorm.weight.data,
                gate_up=fuse_rows([mlp.gate_proj.weight, mlp.up_proj.weight]),
                gate_up_bias=fuse_bias([mlp.gate_proj, mlp.up_proj]),
                down=mlp.down_proj.weight.data,
                down_bias=mlp.down_proj.bias.data if mlp.down_proj.bias is not None else None,
            )
        )
    heads = config.num_attention_heads
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // heads
    rotary = model.model.rotary_emb
    return DecoderWeights(
        model_type=config.model_type,
        layers=layers,
        embed=model.get_input_embeddings().weight.data,
        norm=model.model.norm.weight.data,
        head=model.lm_head.weight.data,
        head_bias=model.lm_head.bias.data if model.lm_head.bias is not None else None,
        eps=float(model.model.norm.variance_epsilon),
        heads=heads,
        kv_heads=getattr(config, "num_key_value_heads", None) or heads,
        head_dim=head_dim,
        hidden=config.hidden_size,
        inv_freq=rotary.inv_freq.detach().float(),
        attention_scaling=float(getattr(rotary, "attention_scaling", 1.0)),
        sliding_window=window_of(model),
    )
