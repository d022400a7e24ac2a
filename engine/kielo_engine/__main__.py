"""`python -m kielo_engine run JOB_DIR | generate … | merge … | score … | heldout … | import-gguf … | check | --version`.

`run` trains a job folder (docs/formats.md §3), `generate`, `merge`, `score`, `heldout` and `import-gguf`
belong to generate.py, merge.py, score.py, heldout.py and gguf_import.py (each parses its own arguments),
`check` prints what `kielo doctor` needs to know about this Python as one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from importlib import metadata
from typing import Any

from . import __version__
from .parent_watch import watch_parent

USAGE = """usage: python -m kielo_engine COMMAND [ARGS]

commands:
  run JOB_DIR      train the job in JOB_DIR (kielo train … --prepare-only --out JOB_DIR);
                   re-running a job resumes from its last complete checkpoint
  generate …       continue token sequences (see `generate --help`)
  merge …          merge a LoRA adapter into full weights (see `merge --help`)
  score …          classify or embed token sequences (see `score --help`)
  heldout …        held-out loss of a model (and adapter) on compiled SFT data (see `heldout --help`)
  import-gguf …    import a GGUF model file as a Hugging Face folder (see `import-gguf --help`;
                   needs the `gguf` package)
  check            print torch / CUDA / GPU facts as JSON (used by `kielo doctor`)
  --version        print the engine version
"""


def check() -> dict[str, Any]:
    facts: dict[str, Any] = {
        "engine_version": __version__,
        "python": platform.python_version(),
        "executable": sys.executable,
    }
    # Installed versions from package metadata: importing transformers/peft only to read a
    # version would take seconds.
    for name in ("torch", "transformers", "peft", "safetensors", "numpy", "triton", "bitsandbytes", "gguf"):
        try:
            facts[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            facts[name] = None
    try:
        import torch

        cuda = torch.cuda.is_available()
        facts["cuda_available"] = cuda
        facts["cuda_version"] = torch.version.cuda
        facts["gpus"] = [
            {
                "index": i,
                "name": torch.cuda.get_device_name(i),
                "memory_bytes": torch.cuda.get_device_properties(i).total_memory,
                "capability": ".".join(map(str, torch.cuda.get_device_capability(i))),
                "bf16": torch.cuda.is_bf16_supported() if i == torch.cuda.current_device() else None,
            }
            for i in range(torch.cuda.device_count() if cuda else 0)
        ]
        facts["distributed"] = torch.distributed.is_available()
        facts["nccl"] = cuda and torch.distributed.is_nccl_available()
    except ImportError:
        facts["cuda_available"] = False
        facts["gpus"] = []
    return facts


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help", "help"):
        print(USAGE, end="")
        return 0 if args else 2
    command, rest = args[0], args[1:]
    watch_parent()
    if command == "--version":
        print(__version__)
        return 0
    if command == "run":
        parser = argparse.ArgumentParser(prog="python -m kielo_engine run", description="Train the job in JOB_DIR; resume if it has checkpoints.")
        parser.add_argument("job_dir", help="a job folder written by `kielo train … --prepare-only --out DIR`")
        opts = parser.parse_args(rest)
        # Before torch initialises CUDA: a training step allocates and frees tensors of many sizes
        # (activations, dequantised NF4 weights, logits chunks); expandable segments keep the
        # allocator from fragmenting, so a memory_limit_gib holds. Not for generation, whose CUDA
        # graphs keep their own memory pool. A user's own setting wins.
        os.environ.setdefault("PYTORCH_CUDA_ALLOC_CONF", "expandable_segments:True")
        from .train import run

        return run(opts.job_dir)
    if command == "generate":
        from .generate import main as generate_main

        return int(generate_main(rest) or 0)
    if command == "merge":
        from .merge import main as merge_main

        return int(merge_main(rest) or 0)
    if command == "score":
        from .score import main as score_main

        return int(score_main(rest) or 0)
    if command == "heldout":
        from .heldout import main as heldout_main

        return int(heldout_main(rest) or 0)
    if command == "import-gguf":
        from .gguf_import import main as import_main

        return int(import_main(rest) or 0)
    if command == "check":
        print(json.dumps(check()))
        return 0
    print(f"python -m kielo_engine: unknown command {command!r}\n\n{USAGE}", file=sys.stderr, end="")
    return 2


if __name__ == "__main__":
    sys.exit(main())
