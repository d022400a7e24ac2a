"""Merge a LoRA/QLoRA adapter into its base: a full Hugging Face model folder, written atomically.

The base is loaded in full precision (`dtype`) and W' = W + (α/r)·B·A is computed by peft's
`merge_and_unload`. For a QLoRA adapter this merges into the ORIGINAL base weights, not into the
NF4-rounded ones it was trained against; that is what peft/bitsandbytes users get too, and the
difference is the NF4 rounding error of W (docs/engine.md, "NF4"). Tokenizer and chat-template
files are copied from the base folder, then from the adapter folder (a trained adapter's copy
wins, since that is what training used).
"""

from __future__ import annotations

import argparse
import os
import sys

import torch

from .errors import EngineError
from .generate import emit
from .lora import load_adapter
from .modeling import load_model
from .outputs import atomic_folder, copy_tokenizer_files


def merge_adapter(base_dir: str, adapter_dir: str, out_dir: str, *, dtype: str) -> None:
    out_dir = os.path.abspath(out_dir)
    if os.path.exists(out_dir) and (not os.path.isdir(out_dir) or os.listdir(out_dir)):
        raise EngineError("bad-job", f"{out_dir} already exists and is not an empty folder", "choose a new --out folder")
    model = load_model(base_dir, dtype)
    model = load_adapter(model, adapter_dir, trainable=False)
    merged = model.merge_and_unload()
    with atomic_folder(out_dir) as tmp, torch.no_grad():
        merged.save_pretrained(tmp, safe_serialization=True)
        copy_tokenizer_files(base_dir, tmp)
        copy_tokenizer_files(adapter_dir, tmp)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m kielo_engine merge", description="Merge a LoRA/QLoRA adapter into full model weights."
    )
    parser.add_argument("--base", required=True, help="the base model folder the adapter was trained on")
    parser.add_argument("--adapter", required=True, help="the adapter folder (adapter_config.json + weights)")
    parser.add_argument("--out", required=True, help="the new model folder (must not exist or be empty)")
    parser.add_argument("--dtype", default="fp32", choices=["bf16", "fp16", "fp32"], help="dtype of the merged weights")
    args = parser.parse_args(argv)
    try:
        merge_adapter(args.base, args.adapter, args.out, dtype=args.dtype)
    except EngineError as err:
        emit({"type": "error", "kind": err.kind, "message": err.message, "hint": err.hint})
        sys.stderr.write(f"error: {err.message}\n")
        return 1
    emit({"type": "done", "output": os.path.abspath(args.out)})
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
