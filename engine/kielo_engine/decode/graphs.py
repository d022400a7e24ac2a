"""Decode steps replayed as CUDA graphs: one graph per (batch size, attention width), captured on first use.

A decode step launches a few hundred small kernels; replaying them as one graph removes the CPU
launch cost that otherwise bounds small models. Everything a step reads and writes lives in
buffers allocated before capture (the cache, `DecodeState`), so a graph can be replayed after the
scheduler has changed their contents. All graphs share one memory pool: they never run at the
same time and keep nothing of their own between replays.

Capturing needs a warm-up run, which executes the step. It runs with every row marked done: the
step then changes no state except writing each row's key and value at its current position —
the very values the next real step writes there.

Any failure while capturing turns graphs off for the rest of the run (the steps then run
eagerly) and is reported in `notes`, never raised.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import torch

from .layers import DecodeState

Step = Callable[[int, int], None]


class StepRunner:
    def __init__(self, step: Step, state: DecodeState, device: torch.device, enabled: bool,
                 log: Callable[[str], None]):
        self.step = step
        self.state = state
        self.device = device
        self.enabled = enabled and device.type == "cuda"
        self.log = log
        self.graphs: dict[tuple[int, int], torch.cuda.CUDAGraph] = {}
        self.pool = torch.cuda.graph_pool_handle() if self.enabled else None
        self.capture_seconds = 0.0
        self.notes: list[str] = []

    def run(self, batch: int, width: int) -> None:
        if not self.enabled:
            self.step(batch, width)
            return
        graph = self.graphs.get((batch, width))
        if graph is None:
            graph = self._capture(batch, width)
            if graph is None:
                self.step(batch, width)
                return
        graph.replay()

    def _capture(self, batch: int, width: int) -> torch.cuda.CUDAGraph | None:
        started = time.perf_counter()
        done = self.state.done[:batch].clone()
        self.state.done[:batch] = True
        graph: torch.cuda.CUDAGraph | None = None
        try:
            side = torch.cuda.Stream(self.device)
            side.wait_stream(torch.cuda.current_stream(self.device))
            with torch.cuda.stream(side):
                # The first capture also initialises cuBLAS and compiles Triton kernels: two runs then.
                for _ in range(1 if self.graphs else 2):
                    self.step(batch, width)
            torch.cuda.current_stream(self.device).wait_stream(side)
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph, pool=self.pool):
                self.step(batch, width)
            self.graphs[(batch, width)] = graph
        except Exception as err:  # noqa: BLE001 — any capture failure: decode eagerly instead
            graph = None
            self.enabled = False
            note = f"CUDA graph capture failed at batch {batch}, width {width} ({type(err).__name__}: {err}); decoding without graphs"
            self.notes.append(note)
            self.log(note)
            torch.cuda.synchronize(self.device)
        finally:
            self.state.done[:batch] = done
        self.capture_seconds += time.perf_counter() - started
        return graph
