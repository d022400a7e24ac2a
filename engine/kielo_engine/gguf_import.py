"""Import a GGUF model file (llama.cpp's format) as a Hugging Face model folder.

`python -m kielo_engine import-gguf --gguf FILE --out DIR [--dtype bf16|fp32] [--force]`

The weights are dequantised by transformers' own GGUF loader (`from_pretrained(..., gguf_file=…)`,
which needs the PyPI package `gguf`; only this command needs it) into an ordinary dense model,
then written as transformers writes any model: config.json (without a quantization config),
model.safetensors, generation_config.json, tokenizer.json, tokenizer_config.json and
chat_template.jinja, plus `kielo-import.json` (where the folder came from: the file's sha256, its
architecture, the special tokens). The folder is written under a temporary name next to DIR and
renamed when complete.

Special tokens come from the GGUF metadata (`tokenizer.ggml.{bos,eos,unknown,padding}_token_id`,
and `eot`/`eom` as extra stop tokens), read with the `gguf` package's reader, NOT from
transformers' tokenizer conversion: in transformers 5.17 `GGUFLlamaConverter` takes the EOS token
from the BOS id (`eos_token = proto.tokens[proto.bos_token_id]`), so SmolLM2-Instruct's EOS would
become `<|im_start|>` and generation would never stop at its end of turn `<|im_end|>` (id 2).
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import os
import sys
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

from .errors import EngineError
from .events import EventLog
from .outputs import atomic_folder, atomic_write_json

# GGUF metadata key → the transformers name of the special token.
SPECIAL_TOKEN_KEYS = {
    "bos_token": "tokenizer.ggml.bos_token_id",
    "eos_token": "tokenizer.ggml.eos_token_id",
    "unk_token": "tokenizer.ggml.unknown_token_id",
    "pad_token": "tokenizer.ggml.padding_token_id",
}
# End-of-turn / end-of-message tokens: a chat model stops at these too (generation_config).
EXTRA_STOP_KEYS = ("tokenizer.ggml.eot_token_id", "tokenizer.ggml.eom_token_id")
PROVENANCE_FILE = "kielo-import.json"
GGUF_HINT = "install it with `pip install gguf==0.19.0` (kielo needs it only to import GGUF files)"


@dataclass
class GgufFacts:
    """What the importer needs from the GGUF header."""

    path: str
    architecture: str
    name: str | None
    special_ids: dict[str, int] = field(default_factory=dict)
    extra_stop_ids: list[int] = field(default_factory=list)
    add_bos_token: bool | None = None
    has_chat_template: bool = False


def _field_value(reader: Any, key: str) -> Any:
    entry = reader.fields.get(key)
    if entry is None:
        return None
    return entry.contents()


def read_gguf_facts(path: str) -> GgufFacts:
    """Read the header with the `gguf` package's reader (memory-mapped: the tensors are not read)."""
    if not os.path.isfile(path):
        raise EngineError("model-not-found", f"{path} does not exist", "give the path of a .gguf file")
    try:
        from gguf import GGUFReader
    except ImportError:
        raise EngineError("model-not-found", "the Python package `gguf` is not installed", GGUF_HINT) from None
    try:
        reader = GGUFReader(path)
    except (ValueError, OSError, IndexError) as err:
        raise EngineError(
            "model-not-found", f"{path} is not a readable GGUF file ({err})", "check the file (its sha256, its size)"
        ) from err
    architecture = _field_value(reader, "general.architecture")
    if not isinstance(architecture, str):
        raise EngineError("model-not-found", f"{path}: the GGUF header has no general.architecture", None)
    facts = GgufFacts(path=path, architecture=architecture, name=_field_value(reader, "general.name"))
    for name, key in SPECIAL_TOKEN_KEYS.items():
        value = _field_value(reader, key)
        if isinstance(value, int):
            facts.special_ids[name] = value
    for key in EXTRA_STOP_KEYS:
        value = _field_value(reader, key)
        if isinstance(value, int):
            facts.extra_stop_ids.append(value)
    add_bos = _field_value(reader, "tokenizer.ggml.add_bos_token")
    facts.add_bos_token = bool(add_bos) if add_bos is not None else None
    facts.has_chat_template = isinstance(_field_value(reader, "tokenizer.chat_template"), str)
    return facts


def sha256_file(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _unsupported(facts: GgufFacts, detail: str) -> EngineError:
    import transformers

    return EngineError(
        "model-not-found",
        f"{facts.path}: transformers {transformers.__version__} cannot load GGUF architecture "
        f"{facts.architecture!r} ({detail})",
        "import a GGUF of an architecture transformers supports (llama, mistral, qwen2, qwen3, gemma2/3, "
        "phi3, …), or use the model's original Hugging Face weights",
    )


def load_from_gguf(facts: GgufFacts, dtype: str) -> tuple[Any, Any]:
    """Tokenizer and dense model through transformers' GGUF loader."""
    from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig

    from .modeling import torch_dtype

    folder, name = os.path.split(os.path.abspath(facts.path))
    try:
        tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name, local_files_only=True)
        model = AutoModelForCausalLM.from_pretrained(
            folder,
            gguf_file=name,
            dtype=torch_dtype(dtype),
            local_files_only=True,
            # Dense weights whatever path transformers takes: nothing stays in GGUF blocks.
            quantization_config=GgufConfig(dequantize=True),
        )
    except (ValueError, KeyError, NotImplementedError) as err:
        raise _unsupported(facts, str(err).splitlines()[0] if str(err) else type(err).__name__) from err
    return tokenizer, model


def dense_copy(model: Any) -> Any:
    """The same weights in a model built from the config without its GGUF quantization config.

    transformers refuses to save a model that carries a GGUF quantizer ("not serializable"), even a
    dequantised one; a model made from a clean config and given the same tensors saves normally.
    """
    import torch
    from transformers import AutoModelForCausalLM

    config = copy.deepcopy(model.config)
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    with torch.device("meta"):
        dense = AutoModelForCausalLM.from_config(config, dtype=model.dtype)
    dense.load_state_dict(model.state_dict(), strict=True, assign=True)
    dense.tie_weights()
    dense.generation_config = copy.deepcopy(model.generation_config)
    return dense


def apply_special_tokens(facts: GgufFacts, tokenizer: Any, model: Any) -> dict[str, dict[str, Any]]:
    """Set bos/eos/unk/pad from the GGUF metadata on the tokenizer, config and generation config."""
    vocab = len(tokenizer)
    chosen: dict[str, dict[str, Any]] = {}
    for name, token_id in facts.special_ids.items():
        if not 0 <= token_id < vocab:
            raise EngineError(
                "model-not-found",
                f"{facts.path}: {SPECIAL_TOKEN_KEYS[name]} = {token_id} is outside the vocabulary of {vocab} tokens",
                None,
            )
        token = tokenizer.convert_ids_to_tokens(token_id)
        setattr(tokenizer, name, token)
        chosen[name] = {"id": token_id, "token": token}
    ids = {name.removesuffix("_token") + "_token_id": entry["id"] for name, entry in chosen.items()}
    for key in ("bos_token_id", "eos_token_id", "pad_token_id"):
        if key in ids:
            setattr(model.config, key, ids[key])
            setattr(model.generation_config, key, ids[key])
    stops = [ids["eos_token_id"]] if "eos_token_id" in ids else []
    stops += [t for t in facts.extra_stop_ids if t not in stops and 0 <= t < vocab]
    if stops:
        model.generation_config.eos_token_id = stops[0] if len(stops) == 1 else stops
    return chosen


def tidy_tokenizer(tokenizer: Any, model: Any) -> None:
    """The conversion leaves no length limit and turns on the WordPiece-only clean-up of spaces
    (which transformers then ignores for BPE, with a warning on every decode): set the model's
    context length and switch the clean-up off, as the original SmolLM2/Llama-3 configs have it."""
    context = getattr(model.config, "max_position_embeddings", None)
    if isinstance(context, int):
        tokenizer.model_max_length = context
    tokenizer.clean_up_tokenization_spaces = False


def check_saved(out: str, chosen: dict[str, dict[str, Any]]) -> None:
    """Read the written folder back as transformers will: the special tokens must be the GGUF's."""
    from transformers import AutoTokenizer, GenerationConfig

    tokenizer = AutoTokenizer.from_pretrained(out, local_files_only=True)
    for name, entry in chosen.items():
        got = getattr(tokenizer, name)
        if got != entry["token"]:
            raise EngineError("internal", f"{out}: {name} reads back as {got!r}, expected {entry['token']!r}", None)
    if "eos_token" in chosen:
        eos = GenerationConfig.from_pretrained(out).eos_token_id
        eos_ids = eos if isinstance(eos, list) else [eos]
        if chosen["eos_token"]["id"] not in eos_ids:
            raise EngineError("internal", f"{out}: generation_config.json eos_token_id {eos} lacks the GGUF's EOS", None)


def import_gguf(path: str, out: str, *, dtype: str = "bf16", force: bool = False, log: EventLog | None = None) -> dict:
    """Write the Hugging Face folder; returns the provenance record (also written to kielo-import.json)."""
    emit = log.emit if log is not None else (lambda *_a, **_k: None)
    path = os.path.abspath(path)
    out = os.path.abspath(out)
    if dtype not in ("bf16", "fp32"):
        raise EngineError("bad-job", f"--dtype must be bf16 or fp32, got {dtype!r}", None)
    if os.path.exists(out) and not force and (not os.path.isdir(out) or os.listdir(out)):
        raise EngineError("bad-job", f"{out} already exists and is not an empty folder", "choose a new --out, or --force to replace it")
    emit("progress", phase="reading the GGUF header")
    facts = read_gguf_facts(path)
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # kielo prints its own phases
    emit("progress", phase=f"hashing {os.path.basename(path)}")
    digest = sha256_file(path)
    emit("progress", phase=f"dequantising {facts.architecture} weights (transformers' GGUF loader)")
    tokenizer, model = load_from_gguf(facts, dtype)
    chosen = apply_special_tokens(facts, tokenizer, model)
    tidy_tokenizer(tokenizer, model)
    dense = dense_copy(model)
    del model
    with atomic_folder(out) as tmp:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o777 & ~umask)  # mkdtemp makes it private; a model folder is an ordinary one
        emit("progress", phase="writing the Hugging Face folder")
        dense.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        check_saved(tmp, chosen)
        record = provenance(facts, path, digest, dtype, dense, chosen)
        atomic_write_json(os.path.join(tmp, PROVENANCE_FILE), record)
    return record


def provenance(facts: GgufFacts, path: str, digest: str, dtype: str, dense: Any, chosen: dict[str, dict[str, Any]]) -> dict:
    """What kielo-import.json records: where the folder came from and what the import decided."""
    import transformers

    return {
        "source": os.path.basename(path),
        "sha256": digest,
        "bytes": os.path.getsize(path),
        "architecture": facts.architecture,
        "name": facts.name,
        "dtype": dtype,
        "params": sum(p.numel() for p in dense.parameters()),
        "special_tokens": chosen,
        "stop_token_ids": dense.generation_config.eos_token_id,
        "gguf_add_bos_token": facts.add_bos_token,
        "chat_template": facts.has_chat_template,
        "transformers": transformers.__version__,
        "gguf": _package_version("gguf"),
    }


def _package_version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m kielo_engine import-gguf", description="Import a GGUF model file as a Hugging Face model folder."
    )
    parser.add_argument("--gguf", required=True, help="the .gguf file")
    parser.add_argument("--out", required=True, help="the new model folder (must not exist or be empty, unless --force)")
    parser.add_argument("--dtype", default="bf16", choices=["bf16", "fp32"], help="dtype of the written weights")
    parser.add_argument("--force", action="store_true", help="replace an existing --out folder")
    args = parser.parse_args(argv)
    # transformers' GGUF loader draws its own tqdm bar unconditionally; kielo reports phases instead.
    # tqdm reads TQDM_* defaults when it is imported, so this must come before transformers is.
    os.environ.setdefault("TQDM_DISABLE", "1")
    log = EventLog(None)
    try:
        record = import_gguf(args.gguf, args.out, dtype=args.dtype, force=args.force, log=log)
    except EngineError as err:
        log.emit("error", kind=err.kind, message=err.message, hint=err.hint)
        sys.stderr.write(f"error: {err.message}\n")
        return 1
    log.emit("done", output=os.path.abspath(args.out), **record)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
