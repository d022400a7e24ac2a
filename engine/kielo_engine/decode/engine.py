"""The fast generation loop: every prompt in flight over a static KV cache, rows leaving as they stop.

1. The cache has one slot per row in flight: as many as memory allows (all prompts when they
   fit), each as long as the longest prompt plus `max_new_tokens`.
2. Prompts are prefilled in batches of similar length (right-padded, causal attention) straight
   into their slots; the prefill's last logits give each row its first token.
3. Decode steps run on slots 0…b−1, b the smallest of a few batch sizes (1, 2, 3, 4, 6, 8, 12 …)
   holding the live rows, with attention over only as many cache positions as the longest row
   needs (a bucket of `WIDTH_STEP` positions, or each row's own with the Triton kernel). Each
   (b, width) step is a CUDA graph on the GPU (graphs.py).
4. Every `sync_every` steps the host reads which rows are done (a stop token or max_new_tokens),
   takes their tokens, and moves the last live rows into the freed slots, so the live rows stay
   dense at the front and the batch shrinks as rows finish; waiting prompts (when not all fit)
   are prefilled into free slots.

Each row's computation depends only on its own tokens and cache, so greedy output equals
transformers' generate up to rounding (equal in fp32, tested) and sampled output does not depend
on the batch (sampling.py).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn

from ..sampling import choose_tokens, request_uniforms
from .attention import self_test, torch_attention
from .graphs import StepRunner
from .layers import Attend, Decoder, DecodeState
from .weights import DecoderWeights, Unsupported, extract_weights

WIDTH_STEP = {"cuda": 128, "cpu": 32}  # attention width buckets (torch attention): fewer graphs on the GPU
SYNC_EVERY = {"cuda": 8, "cpu": 4}  # decode steps between looks at which rows are done
PREFILL_TOKENS = {"cuda": 32768, "cpu": 4096}  # padded prompt tokens per prefill batch
TRITON_TOLERANCE = {torch.float32: 1e-4, torch.bfloat16: 3e-2, torch.float16: 1e-2}  # vs fp32, outputs of order 1


@dataclass
class FastOptions:
    attention: str = "auto"  # auto (Triton on CUDA when its self-test passes) | triton | torch
    graphs: bool = True  # CUDA graphs for decode steps (CUDA only)
    memory_fraction: float = 0.85  # of free GPU memory (of available RAM on the CPU: half of it)
    sync_every: int | None = None
    log: Callable[[str], None] = field(default=lambda message: None)


@dataclass
class FastReport:
    attention: str = ""
    graphs: bool = False
    graphs_captured: int = 0
    capture_seconds: float = 0.0
    prefill_seconds: float = 0.0
    decode_seconds: float = 0.0
    steps: int = 0
    slots: int = 0
    cache_length: int = 0
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def batch_sizes(slots: int) -> list[int]:
    """1, 2, 3, 4, 6, 8, 12, 16 … below `slots`, and `slots` itself."""
    sizes = {slots}
    size = 1
    while size < slots:
        sizes.update(s for s in (size, size + size // 2) if s < slots)
        size *= 2
    return sorted(sizes)


def slot_bytes(w: DecoderWeights, length: int, max_new_tokens: int, sampling: bool) -> int:
    """Memory one row in flight needs: its K and V cache, its outputs, and its share of a step's logits."""
    element = w.embed.element_size()
    cache = 2 * len(w.layers) * w.kv_heads * length * w.head_dim * element
    logits = w.vocab * (element + 4 + (48 if sampling else 8))  # head output, fp32 copy, sampling temporaries
    return cache + logits + max_new_tokens * (8 + (8 if sampling else 0))


def available_bytes(device: torch.device, fraction: float) -> int:
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return int(free * fraction)
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES") * 0.5)
    except (ValueError, OSError):
        return 4 << 30


def prefill_reserve(w: DecoderWeights, tokens: int) -> int:
    intermediate = w.layers[0].gate_up.shape[0] // 2
    per_token = 8 * w.hidden + 4 * intermediate + 4 * (w.q_rows + 2 * w.kv_rows)
    return tokens * per_token * w.embed.element_size()


def pick_attention(preference: str, w: DecoderWeights, log: Callable[[str], None], notes: list[str]) -> tuple[Attend, str]:
    if preference == "torch" or (preference == "auto" and w.device.type != "cuda"):
        return torch_attention, "torch"
    try:
        from .triton_attention import triton_attention

        error = self_test(triton_attention, w.device, w.dtype, w.heads, w.kv_heads, w.head_dim)
        tolerance = TRITON_TOLERANCE.get(w.dtype, 3e-2)
        if error <= tolerance:
            return triton_attention, "triton"
        reason = f"its self-test differs from torch attention by {error:.3g} (tolerance {tolerance})"
    except Exception as err:  # noqa: BLE001 — any Triton failure: fall back to torch attention
        reason = f"{type(err).__name__}: {str(err)[:300]}"
    note = f"Triton decode attention unavailable ({reason}); using torch attention"
    notes.append(note)
    log(note)
    return torch_attention, "torch"


def make_step(decoder: Decoder, state: DecodeState, attend: Attend, temperature: float, top_p: float,
              stops: torch.Tensor, max_new_tokens: int) -> Callable[[int, int], None]:
    """One decode step for slots 0…batch−1, choosing and recording each live row's next token."""

    def step(batch: int, width: int) -> None:
        logits = decoder.decode(state, batch, width, attend)
        rows = state.rows[:batch]
        generated = state.generated[:batch]
        index = generated.clamp(max=max_new_tokens - 1)
        uniforms = state.uniforms[rows, index] if state.uniforms is not None else None
        chosen = choose_tokens(logits, temperature, top_p, uniforms)
        active = ~state.done[:batch]
        state.output[rows, index] = torch.where(active, chosen, state.output[rows, index])
        stopped = (chosen[:, None] == stops[None, :]).any(dim=-1) | (generated + 1 >= max_new_tokens)
        state.done[:batch] |= active & stopped
        advance = active.long()
        state.generated[:batch] += advance
        state.positions[:batch] += advance
        state.tokens[:batch] = torch.where(active, chosen, state.tokens[:batch])

    return step


def fast_generate(
    model: nn.Module,
    prompts: list[list[int]],
    *,
    max_new_tokens: int,
    temperature: float,
    top_p: float,
    seed: int,
    stop_token_ids: list[int],
    max_rows: int | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    options: FastOptions | None = None,
) -> tuple[list[list[int]], FastReport]:
    """Generated tokens per prompt, in input order: up to and including the first stop token."""
    options = options or FastOptions()
    weights = extract_weights(model)
    with torch.no_grad():
        loop = Loop(weights, prompts, max_new_tokens=max_new_tokens, temperature=temperature, top_p=top_p, seed=seed,
                    stop_token_ids=stop_token_ids, max_rows=max_rows, options=options)
        outputs = loop.run(on_progress)
    return outputs, loop.report


class Loop:
    """The state of one fast_generate call (see the module docstring for the algorithm)."""

    def __init__(self, w: DecoderWeights, prompts: list[list[int]], *, max_new_tokens: int, temperature: float,
                 top_p: float, seed: int, stop_token_ids: list[int], max_rows: int | None, options: FastOptions):
        self.w, self.prompts, self.options = w, prompts, options
        self.max_new, self.temperature, self.top_p, self.seed = max_new_tokens, temperature, top_p, seed
        self.device = w.device
        kind = "cuda" if self.device.type == "cuda" else "cpu"
        self.report = FastReport()
        self.length = max(len(p) for p in prompts) + max_new_tokens
        if w.sliding_window is not None and self.length > w.sliding_window:
            raise Unsupported(f"sliding-window attention ({w.sliding_window}) shorter than the generation ({self.length})")
        self.prefill_tokens = PREFILL_TOKENS[kind]
        budget = available_bytes(self.device, options.memory_fraction) - prefill_reserve(w, self.prefill_tokens)
        sampling = temperature > 0
        fit = max(0, budget) // slot_bytes(w, self.length, max_new_tokens, sampling)
        self.slots = int(min(len(prompts), max_rows or len(prompts), fit))
        if self.slots < 1:
            raise torch.OutOfMemoryError(f"not even one row of {self.length} positions fits in memory")
        self.decoder = Decoder(w, self.slots, self.length)
        self.state = DecodeState(self.slots, max_new_tokens, self.device, sampling)
        self.stops = torch.tensor(sorted(set(stop_token_ids)) or [-1], dtype=torch.long, device=self.device)
        attend, self.report.attention = pick_attention(options.attention, w, options.log, self.report.notes)
        self.triton = self.report.attention == "triton"
        step = make_step(self.decoder, self.state, attend, temperature, top_p, self.stops, max_new_tokens)
        self.runner = StepRunner(step, self.state, self.device, options.graphs, options.log)
        self.sizes = batch_sizes(self.slots)
        self.width_step = WIDTH_STEP[kind]
        self.sync_every = options.sync_every or SYNC_EVERY[kind]
        self.report.slots, self.report.cache_length = self.slots, self.length
        # Host mirrors: which request each slot holds, and the highest position its row can be at.
        self.request = [-1] * self.slots
        self.bound = [0] * self.slots
        self.live = 0
        self.waiting = sorted(range(len(prompts)), key=lambda i: (len(prompts[i]), i))
        self.outputs: list[list[int] | None] = [None] * len(prompts)
        self.finished = 0

    def run(self, on_progress: Callable[[int, int], None] | None) -> list[list[int]]:
        while self.live > 0 or self.waiting:
            if self.waiting and self.live < self.slots:
                started = time.perf_counter()
                self.admit()
                self.report.prefill_seconds += time.perf_counter() - started
            started = time.perf_counter()
            self.decode_some()
            if self.collect() and on_progress is not None:
                on_progress(self.finished, len(self.prompts))
            self.report.decode_seconds += time.perf_counter() - started
        self.report.graphs = self.runner.enabled
        self.report.graphs_captured = len(self.runner.graphs)
        self.report.capture_seconds = self.runner.capture_seconds
        self.report.notes += self.runner.notes
        return [o if o is not None else [] for o in self.outputs]

    def admit(self) -> None:
        """Prefill waiting prompts (shortest first) into the free slots after the live rows."""
        take = self.waiting[: self.slots - self.live]
        del self.waiting[: len(take)]
        batch: list[int] = []
        for index in take:
            width = max(len(self.prompts[i]) for i in [*batch, index])
            if batch and width * (len(batch) + 1) > self.prefill_tokens:
                self.prefill(batch)
                batch = []
            batch.append(index)
        if batch:
            self.prefill(batch)

    def prefill(self, requests: list[int]) -> None:
        lengths = [len(self.prompts[i]) for i in requests]
        width = max(lengths)
        tokens = torch.zeros(len(requests), width, dtype=torch.long)
        for row, i in enumerate(requests):
            tokens[row, : lengths[row]] = torch.tensor(self.prompts[i], dtype=torch.long)
        first_slot = self.live
        slots = torch.arange(first_slot, first_slot + len(requests), device=self.device)
        last = torch.tensor(lengths, device=self.device) - 1
        logits = self.decoder.prefill(tokens.to(self.device), last, slots)
        state = self.state
        uniforms = None
        if state.uniforms is not None:
            state.uniforms[slots] = torch.stack([request_uniforms(self.seed, i, self.max_new) for i in requests]).to(self.device)
            uniforms = state.uniforms[slots, 0]
        first = choose_tokens(logits, self.temperature, self.top_p, uniforms)
        state.output[slots, 0] = first
        state.generated[slots] = 1
        state.tokens[slots] = first
        state.positions[slots] = last + 1
        state.done[slots] = (first[:, None] == self.stops[None, :]).any(dim=-1) | (self.max_new <= 1)
        for row, i in enumerate(requests):
            self.request[first_slot + row] = i
            self.bound[first_slot + row] = lengths[row]
        self.live += len(requests)

    def decode_some(self) -> None:
        """`sync_every` decode steps on the smallest captured batch that holds the live rows."""
        if self.live == 0:
            return
        batch = next(size for size in self.sizes if size >= self.live)
        steps = self.sync_every
        highest = max(self.bound[: self.live]) + steps
        width = self.length if self.triton else min(self.length, -(-(highest + 1) // self.width_step) * self.width_step)
        for _ in range(steps):
            self.runner.run(batch, width)
        self.report.steps += steps
        for slot in range(self.live):
            limit = len(self.prompts[self.request[slot]]) + self.max_new - 1
            self.bound[slot] = min(self.bound[slot] + steps, limit)

    def collect(self) -> bool:
        """Take the tokens of finished rows; move the last live rows into their slots."""
        if self.live == 0:
            return False
        done = self.state.done[: self.live].tolist()
        finished = [slot for slot in range(self.live) if done[slot]]
        if not finished:
            return False
        index = torch.tensor(finished, device=self.device)
        counts = self.state.generated[index].tolist()
        rows = self.state.output[index].tolist()
        for slot, count, row in zip(finished, counts, rows):
            self.outputs[self.request[slot]] = row[:count]
        remaining = self.live - len(finished)
        movers = [slot for slot in range(remaining, self.live) if not done[slot]]
        holes = [slot for slot in finished if slot < remaining]
        if movers:
            width = min(self.length, max(self.bound[s] for s in movers) + 1)
            self.decoder.move_rows(movers, holes, width)
            src = torch.tensor(movers, device=self.device)
            dst = torch.tensor(holes, device=self.device)
            for tensor in self.state.tensors():
                tensor[dst] = tensor[src]
            for source, target in zip(movers, holes):
                self.request[target], self.bound[target] = self.request[source], self.bound[source]
        vacated = torch.arange(remaining, self.live, device=self.device)
        self.state.done[vacated] = True
        self.state.positions[vacated] = 0
        self.state.tokens[vacated] = 0
        for slot in range(remaining, self.live):
            self.request[slot], self.bound[slot] = -1, 0
        self.live = remaining
        self.finished += len(finished)
        return True
