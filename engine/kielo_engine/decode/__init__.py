"""kielo's own decoder for fast generation (Llama family); see engine.py for how it runs."""

from .engine import FastOptions, FastReport, fast_generate
from .weights import Unsupported, unsupported_reason

__all__ = ["FastOptions", "FastReport", "Unsupported", "fast_generate", "unsupported_reason"]
