"""Compiled data and schedule (docs/formats.md §2–§3): memory-mapped reading and batch collation.

The engine never tokenises and never samples. It memory-maps the arrays that `kielo data compile`
wrote, checks the invariants the compiler promises, reads `schedule.bin` (the micro-batches of
every optimizer step, decided by TypeScript) and turns a list of sequence indices into tensors:

- SFT, unpacked: one right-padded row per document, a 2D attention mask, labels = token where
  trained else −100 (pads are −100).
- SFT, packed: one row per pack. Position ids restart at 0 at every document and the model gets
  *no* 2D attention mask: transformers (≥ 5) then derives the documents from the position ids and
  builds a block-diagonal causal mask for sdpa/eager (`masking_utils.find_packed_sequence_indices`)
  or runs varlen kernels for flash attention, so documents never attend to each other. Labels are
  −100 wherever position_ids == 0. Padding after the last document is given positions 0, 1, … so
  it forms a segment of its own that no real token can see.
- Preference: chosen rows first, then rejected rows (TRL's order), right-padded, with the
  completion mask = trained flags.
- Flat (`collate_flat`, the GPU fast path): every document of the micro-batch one after another
  in ONE row, no padding at all, positions restarting at 0 per document, and the document
  boundaries as cumulative lengths (`cu_seqlens`) for varlen attention. Packing then only decides
  which documents share a micro-batch, and nothing is computed for padding.

Every layout also gives its `Targets`: for each trained token, the (row, column) whose output
predicts it, its id, and which sequence of the batch it belongs to — the loss is computed on
those positions only (forward.py), never on full-vocabulary logits of every position.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from .errors import EngineError

IGNORE_INDEX = -100


def _bad(message: str, hint: str | None = None) -> EngineError:
    return EngineError("bad-job", message, hint or "re-compile the data with `kielo data compile` (or `kielo train --prepare-only`)")


def _map(path: str, dtype: np.dtype, expected_len: int | None = None) -> np.ndarray:
    """Memory-maps a raw little-endian array; an empty file gives an empty array (np.memmap refuses)."""
    if not os.path.isfile(path):
        raise _bad(f"{path}: missing")
    size = os.path.getsize(path)
    itemsize = np.dtype(dtype).itemsize
    if size % itemsize != 0:
        raise _bad(f"{path}: {size} bytes is not a whole number of {np.dtype(dtype).name} values")
    n = size // itemsize
    if expected_len is not None and n != expected_len:
        raise _bad(f"{path}: holds {n} values, expected {expected_len}")
    if n == 0:
        return np.zeros(0, dtype=dtype)
    return np.memmap(path, dtype=np.dtype(dtype).newbyteorder("<"), mode="r", shape=(n,))


@dataclass
class Targets:
    """The trained tokens of a batch: output position (rows[i], cols[i]) predicts token ids[i],
    which belongs to sequence seq[i] of the batch (preference batches: row order, chosen first)."""

    rows: torch.Tensor  # [n] long
    cols: torch.Tensor  # [n] long
    ids: torch.Tensor  # [n] long
    seq: torch.Tensor  # [n] long

    def __len__(self) -> int:
        return int(self.ids.numel())

    def to(self, device: torch.device) -> Targets:
        return Targets(*(t.to(device, non_blocking=True) for t in (self.rows, self.cols, self.ids, self.seq)))

    @staticmethod
    def from_mask(input_ids: torch.Tensor, trained: torch.Tensor) -> Targets:
        """From a [B, L] mask of trained tokens aligned with the input (not shifted)."""
        rows, cols = torch.nonzero(trained[:, 1:] != 0, as_tuple=True)
        return Targets(rows, cols, input_ids[rows, cols + 1], rows)


@dataclass
class ModelBatch:
    """What the forward pass takes, whatever the layout: the model's inputs, the trained tokens,
    how many sequences (SFT: documents/packs; preference: 2 × pairs, chosen first) and real tokens."""

    inputs: dict[str, Any]
    targets: Targets
    sequences: int
    tokens: int
    pair_indices: list[int]

    @property
    def pairs(self) -> int:
        return len(self.pair_indices)

    def to(self, device: torch.device) -> ModelBatch:
        inputs = {k: v.to(device, non_blocking=True) if torch.is_tensor(v) else v for k, v in self.inputs.items()}
        return ModelBatch(inputs, self.targets.to(device), self.sequences, self.tokens, self.pair_indices)


@dataclass
class SftBatch:
    input_ids: torch.Tensor  # [B, L] long
    labels: torch.Tensor  # [B, L] long, −100 = not a target
    attention_mask: torch.Tensor | None  # [B, L] long (unpacked) or None (packed: from position_ids)
    position_ids: torch.Tensor | None  # [B, L] long (packed) or None
    tokens: int  # real, non-padding tokens
    trained: int  # targets (labels ≠ −100 after the shift)

    def to(self, device: torch.device) -> SftBatch:
        def move(t: torch.Tensor | None) -> torch.Tensor | None:
            return None if t is None else t.to(device, non_blocking=True)

        return SftBatch(
            self.input_ids.to(device, non_blocking=True),
            self.labels.to(device, non_blocking=True),
            move(self.attention_mask),
            move(self.position_ids),
            self.tokens,
            self.trained,
        )

    def model_inputs(self) -> dict[str, Any]:
        inputs: dict[str, Any] = {"input_ids": self.input_ids}
        if self.attention_mask is not None:
            inputs["attention_mask"] = self.attention_mask
        if self.position_ids is not None:
            inputs["position_ids"] = self.position_ids
        return inputs

    def model_batch(self) -> ModelBatch:
        targets = Targets.from_mask(self.input_ids, self.labels != IGNORE_INDEX)
        return ModelBatch(self.model_inputs(), targets, self.input_ids.shape[0], self.tokens, [])


@dataclass
class PreferenceBatch:
    input_ids: torch.Tensor  # [2B, L]: rows 0..B−1 chosen, B..2B−1 rejected
    attention_mask: torch.Tensor  # [2B, L]
    completion_mask: torch.Tensor  # [2B, L], 1 on reply tokens
    pair_indices: list[int]  # which pairs, in row order (for precomputed reference log-probs)
    tokens: int

    @property
    def pairs(self) -> int:
        return len(self.pair_indices)

    def to(self, device: torch.device) -> PreferenceBatch:
        return PreferenceBatch(
            self.input_ids.to(device, non_blocking=True),
            self.attention_mask.to(device, non_blocking=True),
            self.completion_mask.to(device, non_blocking=True),
            self.pair_indices,
            self.tokens,
        )

    def model_inputs(self) -> dict[str, Any]:
        return {"input_ids": self.input_ids, "attention_mask": self.attention_mask}

    def model_batch(self) -> ModelBatch:
        targets = Targets.from_mask(self.input_ids, self.completion_mask)
        return ModelBatch(self.model_inputs(), targets, self.input_ids.shape[0], self.tokens, self.pair_indices)


@dataclass
class FlatBatch:
    """A micro-batch as one row of concatenated documents for varlen attention (no padding).
    For preference data the documents are the chosen replies of `pair_indices`, then the
    rejected ones, so sequence i < pairs is a chosen and pairs + i the matching rejected."""

    input_ids: torch.Tensor  # [1, T] long
    position_ids: torch.Tensor  # [1, T] long, restarting at 0 per document
    cu_seqlens: torch.Tensor  # [D + 1] int32, document boundaries in the row
    max_length: int  # longest document
    targets: Targets
    sequences: int  # SFT: sequences (documents or packs) of the micro-batch; preference: 2 × pairs
    pair_indices: list[int]
    tokens: int

    @property
    def pairs(self) -> int:
        return len(self.pair_indices)

    def to(self, device: torch.device) -> FlatBatch:
        return FlatBatch(
            self.input_ids.to(device, non_blocking=True),
            self.position_ids.to(device, non_blocking=True),
            self.cu_seqlens.to(device, non_blocking=True),
            self.max_length,
            self.targets.to(device),
            self.sequences,
            self.pair_indices,
            self.tokens,
        )

    def model_batch(self) -> ModelBatch:
        return ModelBatch(self.model_inputs(), self.targets, self.sequences, self.tokens, self.pair_indices)

    def model_inputs(self) -> dict[str, Any]:
        # The names transformers' attention functions take for varlen (FlashAttentionKwargs).
        return {
            "input_ids": self.input_ids,
            "position_ids": self.position_ids,
            "cu_seq_lens_q": self.cu_seqlens,
            "cu_seq_lens_k": self.cu_seqlens,
            "max_length_q": self.max_length,
            "max_length_k": self.max_length,
        }


class CompiledData:
    """One compiled folder, memory-mapped. Sequences are documents, packs or pairs (§2)."""

    def __init__(self, path: str, pad_token_id: int | None = None):
        self.path = path
        manifest_path = os.path.join(path, "manifest.json")
        if not os.path.isfile(manifest_path):
            raise _bad(f"{manifest_path}: missing (is {path} a compiled data folder?)")
        try:
            with open(manifest_path, encoding="utf-8") as f:
                self.manifest: dict[str, Any] = json.load(f)
        except json.JSONDecodeError as e:
            raise _bad(f"{manifest_path}: line {e.lineno}: not valid JSON ({e.msg})") from None
        if self.manifest.get("format") != "kielo-compiled" or self.manifest.get("version") != 1:
            raise _bad(f"{manifest_path}: field `format`/`version` must be \"kielo-compiled\"/1, got {self.manifest.get('format')!r}/{self.manifest.get('version')!r}")
        self.kind = self.manifest.get("kind")
        if self.kind not in ("sft", "preference"):
            raise _bad(f"{manifest_path}: field `kind` must be \"sft\" or \"preference\", got {self.kind!r}")
        self.tokens = _map(os.path.join(path, "tokens.bin"), np.uint32)
        self.trained = _map(os.path.join(path, "trained.bin"), np.uint8, len(self.tokens))
        self.docs = _map(os.path.join(path, "docs.bin"), np.int64)
        packs_path = os.path.join(path, "packs.bin")
        self.packs = _map(packs_path, np.int64) if os.path.exists(packs_path) else None
        self.packed = self.packs is not None
        if self.packed != bool(self.manifest.get("packing")):
            raise _bad(f"{path}: manifest `packing` is {self.manifest.get('packing')!r} but packs.bin is {'present' if self.packed else 'absent'}")
        if self.packed and self.kind == "preference":
            raise _bad(f"{path}: preference data is never packed, but packs.bin is present")
        tokenizer = self.manifest.get("tokenizer") or {}
        pad = pad_token_id if pad_token_id is not None else tokenizer.get("pad_token_id")
        if pad is None:
            pad = tokenizer.get("eos_token_id")
        # Pads are never attended to nor trained; any valid id does.
        self.pad_token_id = int(pad) if isinstance(pad, int) else 0
        self._check()
        self._doc_trained: np.ndarray | None = None

    # ---- invariants -------------------------------------------------------------------------

    def _check(self) -> None:
        docs, T = self.docs, len(self.tokens)
        if len(docs) < 2:
            raise _bad(f"{self.path}/docs.bin: needs at least 2 offsets (one document), holds {len(docs)}")
        if docs[0] != 0 or docs[-1] != T:
            raise _bad(f"{self.path}/docs.bin: must start at 0 and end at {T} (the length of tokens.bin), got {int(docs[0])} … {int(docs[-1])}")
        lengths = np.diff(docs)
        if (lengths <= 0).any():
            d = int(np.argmax(lengths <= 0))
            raise _bad(f"{self.path}/docs.bin: document {d} is empty or offsets go backwards ({int(docs[d])} → {int(docs[d + 1])})")
        first_trained = np.asarray(self.trained[docs[:-1]]) != 0
        if first_trained.any():
            d = int(np.argmax(first_trained))
            raise _bad(f"{self.path}/trained.bin: the first token of document {d} (offset {int(docs[d])}) is trained; the first token of every document must not be")
        if self.trained.size and int(np.asarray(self.trained).max()) > 1:
            raise _bad(f"{self.path}/trained.bin: values must be 0 or 1")
        if self.kind == "preference" and self.documents % 2 != 0:
            raise _bad(f"{self.path}: preference data holds documents in twos (chosen, rejected), but there are {self.documents}")
        if self.packs is not None:
            p = self.packs
            if len(p) < 2 or p[0] != 0 or p[-1] != self.documents or (np.diff(p) <= 0).any():
                raise _bad(f"{self.path}/packs.bin: must rise strictly from 0 to {self.documents} (the number of documents)")

    def check_vocab(self, vocab_size: int) -> None:
        if self.tokens.size == 0:
            return
        top = int(np.asarray(self.tokens).max())
        if top >= vocab_size:
            raise _bad(
                f"{self.path}/tokens.bin: token id {top} is outside the model's vocabulary ({vocab_size} ids)",
                "the data was compiled with another tokenizer than the model's; compile it with the model's tokenizer",
            )

    # ---- sizes ------------------------------------------------------------------------------

    @property
    def documents(self) -> int:
        return len(self.docs) - 1

    @property
    def sequences(self) -> int:
        if self.kind == "preference":
            return self.documents // 2
        if self.packs is not None:
            return len(self.packs) - 1
        return self.documents

    def doc_range(self, d: int) -> tuple[int, int]:
        return int(self.docs[d]), int(self.docs[d + 1])

    def sequence_docs(self, s: int) -> range:
        if self.kind == "preference":
            return range(2 * s, 2 * s + 2)
        if self.packs is not None:
            return range(int(self.packs[s]), int(self.packs[s + 1]))
        return range(s, s + 1)

    def doc_trained_counts(self) -> np.ndarray:
        """Trained tokens per document (int64), computed once with one pass over trained.bin."""
        if self._doc_trained is None:
            self._doc_trained = np.add.reduceat(np.asarray(self.trained), self.docs[:-1], dtype=np.int64)
        return self._doc_trained

    def trained_tokens(self, seqs: list[int]) -> int:
        """Loss targets in these sequences: with the first token of each document untrained (§2),
        the shifted targets of a document are exactly its trained flags."""
        counts = self.doc_trained_counts()
        return int(sum(int(counts[d]) for s in seqs for d in self.sequence_docs(s)))

    # ---- collation --------------------------------------------------------------------------

    def _doc(self, d: int) -> tuple[np.ndarray, np.ndarray]:
        a, b = self.doc_range(d)
        return np.asarray(self.tokens[a:b], dtype=np.int64), np.asarray(self.trained[a:b], dtype=np.bool_)

    def collate_sft(self, seqs: list[int]) -> SftBatch:
        if self.kind != "sft":
            raise _bad(f"{self.path}: SFT needs data of kind \"sft\", this is {self.kind!r}")
        rows_ids: list[np.ndarray] = []
        rows_labels: list[np.ndarray] = []
        rows_pos: list[np.ndarray] = []
        for s in seqs:
            ids_parts, label_parts, pos_parts = [], [], []
            for d in self.sequence_docs(s):
                ids, trained = self._doc(d)
                labels = np.where(trained, ids, IGNORE_INDEX)
                labels[0] = IGNORE_INDEX  # position 0 is never a target (already untrained by §2)
                ids_parts.append(ids)
                label_parts.append(labels)
                pos_parts.append(np.arange(len(ids), dtype=np.int64))
            rows_ids.append(np.concatenate(ids_parts))
            rows_labels.append(np.concatenate(label_parts))
            rows_pos.append(np.concatenate(pos_parts))
        width = max(len(r) for r in rows_ids)
        B = len(seqs)
        input_ids = torch.full((B, width), self.pad_token_id, dtype=torch.long)
        labels = torch.full((B, width), IGNORE_INDEX, dtype=torch.long)
        attention = torch.zeros((B, width), dtype=torch.long)
        positions = torch.zeros((B, width), dtype=torch.long)
        for i, (ids, lab, pos) in enumerate(zip(rows_ids, rows_labels, rows_pos, strict=True)):
            n = len(ids)
            input_ids[i, :n] = torch.from_numpy(ids)
            labels[i, :n] = torch.from_numpy(lab)
            attention[i, :n] = 1
            positions[i, :n] = torch.from_numpy(pos)
            positions[i, n:] = torch.arange(width - n)  # padding: a segment of its own
        tokens = int(attention.sum())
        trained = int((labels[:, 1:] != IGNORE_INDEX).sum())
        if self.packed:
            return SftBatch(input_ids, labels, None, positions, tokens, trained)
        return SftBatch(input_ids, labels, attention, None, tokens, trained)

    def collate_preference(self, pairs: list[int]) -> PreferenceBatch:
        if self.kind != "preference":
            raise _bad(f"{self.path}: DPO needs data of kind \"preference\", this is {self.kind!r}")
        rows: list[tuple[np.ndarray, np.ndarray]] = []
        for half in (0, 1):  # chosen rows first, then rejected rows
            for k in pairs:
                rows.append(self._doc(2 * k + half))
        width = max(len(ids) for ids, _ in rows)
        n = len(rows)
        input_ids = torch.full((n, width), self.pad_token_id, dtype=torch.long)
        attention = torch.zeros((n, width), dtype=torch.long)
        completion = torch.zeros((n, width), dtype=torch.long)
        for i, (ids, trained) in enumerate(rows):
            input_ids[i, : len(ids)] = torch.from_numpy(ids)
            attention[i, : len(ids)] = 1
            completion[i, : len(ids)] = torch.from_numpy(trained.astype(np.int64))
        return PreferenceBatch(input_ids, attention, completion, list(pairs), int(attention.sum()))


    def sequence_tokens(self, s: int) -> int:
        """Tokens of a sequence (a pair: chosen + rejected); its documents are stored contiguously."""
        docs = self.sequence_docs(s)
        return int(self.docs[docs.stop] - self.docs[docs.start])

    def batch_positions(self, seqs: list[int], *, flat: bool) -> int:
        """Token positions the model computes for this batch: every token (flat), or rows ×
        the longest row (padded rows; preference: chosen and rejected rows)."""
        if flat:
            return sum(self.sequence_tokens(s) for s in seqs)
        if self.kind == "preference":
            longest = max(int(self.docs[d + 1] - self.docs[d]) for s in seqs for d in self.sequence_docs(s))
            return 2 * len(seqs) * longest
        return len(seqs) * max(self.sequence_tokens(s) for s in seqs)

    def model_batch(self, seqs: list[int], *, flat: bool) -> ModelBatch:
        """The batch of these sequences in the flat layout (varlen) or as padded/packed rows."""
        if flat:
            return self.collate_flat(seqs).model_batch()
        if self.kind == "preference":
            return self.collate_preference(seqs).model_batch()
        return self.collate_sft(seqs).model_batch()

    def collate_flat(self, seqs: list[int]) -> FlatBatch:
        """The sequences' documents in one row (preference: chosen documents, then rejected)."""
        if self.kind == "preference":
            doc_ids = [2 * k for k in seqs] + [2 * k + 1 for k in seqs]
            doc_seq = list(range(len(doc_ids)))
            pair_indices = list(seqs)
        else:
            doc_ids, doc_seq = [], []
            for i, s in enumerate(seqs):
                for d in self.sequence_docs(s):
                    doc_ids.append(d)
                    doc_seq.append(i)
            pair_indices = []
        starts = np.asarray([self.docs[d] for d in doc_ids], dtype=np.int64)
        lengths = np.asarray([self.docs[d + 1] for d in doc_ids], dtype=np.int64) - starts
        ids = np.concatenate([np.asarray(self.tokens[a : a + n], dtype=np.int64) for a, n in zip(starts, lengths)])
        trained = np.concatenate([np.asarray(self.trained[a : a + n], dtype=np.bool_) for a, n in zip(starts, lengths)])
        offsets = np.concatenate([[0], np.cumsum(lengths)])
        positions = np.arange(len(ids), dtype=np.int64) - np.repeat(offsets[:-1], lengths)
        # A document's first token is never trained (§2), so a target's predicting position
        # (p − 1) is always inside the same document.
        target_pos = np.flatnonzero(trained)
        seq_of_token = np.repeat(np.asarray(doc_seq, dtype=np.int64), lengths)
        targets = Targets(
            rows=torch.zeros(len(target_pos), dtype=torch.long),
            cols=torch.from_numpy(target_pos - 1),
            ids=torch.from_numpy(ids[target_pos]),
            seq=torch.from_numpy(seq_of_token[target_pos]),
        )
        return FlatBatch(
            input_ids=torch.from_numpy(ids).unsqueeze(0),
            position_ids=torch.from_numpy(positions).unsqueeze(0),
            cu_seqlens=torch.from_numpy(offsets.astype(np.int32)),
            max_length=int(lengths.max()),
            targets=targets,
            sequences=len(seqs) if self.kind == "sft" else 2 * len(seqs),
            pair_indices=pair_indices,
            tokens=len(ids),
        )


# ---- schedule ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Schedule:
    """steps[s][m] = the sequence indices of micro-batch m of optimizer step s+1. A micro-batch can
    be empty (the end of an epoch, or a step split by token budget that needs one more micro-batch
    to give every GPU the same number); `micro_batches_per_step` 0 = the count varies per step."""

    steps: list[list[list[int]]]
    micro_batches_per_step: int

    def for_rank(self, step: int, rank: int, world: int) -> list[list[int]]:
        """The micro-batches rank r runs in optimizer step `step` (1-based): r, r+W, r+2W, …"""
        return self.steps[step - 1][rank::world]

    def largest_micro_batch(self) -> int:
        return max(len(mb) for step in self.steps for mb in step)


def read_schedule(path: str, sequences: int) -> Schedule:
    flat = _map(path, np.int64)
    if len(flat) < 2:
        raise _bad(f"{path}: too short: it starts with [n_steps, micro_batches_per_step]")
    values = np.asarray(flat).tolist()
    n_steps, per_step = int(values[0]), int(values[1])
    if n_steps < 1 or per_step < 0:
        raise _bad(f"{path}: n_steps must be ≥ 1 and micro_batches_per_step ≥ 0, got {n_steps} and {per_step}")
    pos = 2
    steps: list[list[list[int]]] = []
    for s in range(n_steps):
        count = per_step
        if per_step == 0:  # each step says how many micro-batches it has
            if pos >= len(values) or values[pos] < 1:
                raise _bad(f"{path}: step {s + 1}: missing or invalid micro-batch count")
            count = values[pos]
            pos += 1
        micro: list[list[int]] = []
        for m in range(count):
            if pos >= len(values):
                raise _bad(f"{path}: ends inside step {s + 1}, micro-batch {m + 1}")
            n = values[pos]
            pos += 1
            if n < 0 or pos + n > len(values):
                raise _bad(f"{path}: step {s + 1}, micro-batch {m + 1}: count {n} is negative or runs past the end of the file")
            seqs = values[pos : pos + n]
            pos += n
            bad = [q for q in seqs if q < 0 or q >= sequences]
            if bad:
                raise _bad(f"{path}: step {s + 1}, micro-batch {m + 1}: sequence {bad[0]} is outside data/train (it has {sequences} sequences)")
            micro.append(seqs)
        if not any(micro):
            raise _bad(f"{path}: step {s + 1} has no sequences")
        steps.append(micro)
    if pos != len(values):
        raise _bad(f"{path}: {len(values) - pos} values left after the last step")
    return Schedule(steps, per_step)


def eval_batches(data: CompiledData, batch_size: int) -> list[list[int]]:
    """Held-out data has no schedule: its sequences in order, `batch_size` at a time."""
    n = data.sequences
    return [list(range(i, min(i + batch_size, n))) for i in range(0, n, batch_size)]
