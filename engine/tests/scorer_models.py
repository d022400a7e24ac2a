"""Builds a real (plumbing-only) sequence classifier from the tiny stories260K Llama.

The base weights are the pretrained model's; the 2-class head (`non-toxic`, `toxic`) is random
with a fixed seed. Its scores mean nothing: it exists to test the scoring path end to end
(tokenisation in TypeScript, batching and padding in the engine, labels from the config).

    python engine/tests/scorer_models.py OUT_DIR
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import torch
import transformers

TINY_MODEL = Path(__file__).resolve().parents[2] / "fixtures" / "models" / "stories260K" / "hf"


def make_classifier(out_dir: str | Path, seed: int = 0) -> str:
    out = Path(out_dir)
    config = transformers.AutoConfig.from_pretrained(TINY_MODEL, local_files_only=True)
    config.num_labels = 2
    config.id2label = {0: "non-toxic", 1: "toxic"}
    config.label2id = {"non-toxic": 0, "toxic": 1}
    config.pad_token_id = 0
    torch.manual_seed(seed)
    model = transformers.LlamaForSequenceClassification(config)
    base = transformers.AutoModel.from_pretrained(TINY_MODEL, local_files_only=True)
    model.model.load_state_dict(base.state_dict())
    with torch.no_grad():
        model.score.weight.normal_(0, 2.0)
    model.save_pretrained(out, safe_serialization=True)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(TINY_MODEL / name, out / name)
    return str(out)


if __name__ == "__main__":
    print(make_classifier(sys.argv[1]))
