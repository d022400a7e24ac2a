"""Compiled data and schedules: memory-mapped reading, invariants and collation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from conftest import CompiledSet, Doc, write_compiled, write_schedule
from kielo_engine.data import IGNORE_INDEX, CompiledData, eval_batches, read_schedule
from kielo_engine.errors import EngineError

DOCS = [
    Doc([1, 10, 11, 12, 13], [0, 0, 1, 1, 1], "a"),
    Doc([1, 20, 21], [0, 1, 1], "b"),
    Doc([1, 30, 31, 32, 33, 34, 35], [0, 0, 0, 1, 0, 1, 1], "c"),
    Doc([1, 40, 41, 42], [0, 0, 1, 1], "d"),
]


def test_unpacked_rows_are_right_padded_with_ignored_labels(tmp_path):
    data = CompiledData(str(write_compiled(tmp_path / "d", CompiledSet("sft", DOCS))))
    assert data.sequences == 4 and not data.packed
    batch = data.collate_sft([1, 2])
    assert batch.input_ids.tolist() == [[1, 20, 21, 2, 2, 2, 2], [1, 30, 31, 32, 33, 34, 35]]  # pad = eos (manifest pad is null)
    assert batch.attention_mask.tolist() == [[1, 1, 1, 0, 0, 0, 0], [1] * 7]
    N = IGNORE_INDEX  # not a target
    assert batch.labels.tolist() == [[N, 20, 21, N, N, N, N], [N, N, N, 32, N, 34, 35]]
    assert batch.position_ids is None
    assert batch.tokens == 10 and batch.trained == 5
    assert data.trained_tokens([1, 2]) == 5


def test_packed_rows_restart_positions_and_never_train_a_document_start(tmp_path):
    folder = write_compiled(tmp_path / "p", CompiledSet("sft", DOCS, packs=[[0, 1], [2], [3]]))
    data = CompiledData(str(folder))
    assert data.packed and data.sequences == 3
    batch = data.collate_sft([0, 1])
    N = IGNORE_INDEX  # not a target
    assert batch.attention_mask is None  # the model derives the documents from position_ids
    assert batch.input_ids[0].tolist() == [1, 10, 11, 12, 13, 1, 20, 21]
    assert batch.position_ids[0].tolist() == [0, 1, 2, 3, 4, 0, 1, 2]
    assert batch.labels[0].tolist() == [N, N, 11, 12, 13, N, 20, 21]
    # the shorter pack is padded; the padding is a segment of its own (positions from 0), never a target
    assert batch.position_ids[1].tolist() == [0, 1, 2, 3, 4, 5, 6, 0]
    assert batch.labels[1, 7].item() == N
    labels_at_starts = batch.labels[batch.position_ids == 0]
    assert (labels_at_starts == N).all()
    assert batch.tokens == 15 and batch.trained == data.trained_tokens([0, 1]) == 8


def test_preference_rows_are_chosen_first_then_rejected(tmp_path):
    docs = [DOCS[0], DOCS[1], DOCS[3], DOCS[2]]  # pair 0: (a, b), pair 1: (d, c)
    data = CompiledData(str(write_compiled(tmp_path / "pref", CompiledSet("preference", docs))))
    assert data.sequences == 2
    batch = data.collate_preference([1, 0])
    assert batch.input_ids[:, :1].flatten().tolist() == [1, 1, 1, 1]
    assert batch.input_ids[0, :4].tolist() == [1, 40, 41, 42]  # chosen of pair 1
    assert batch.input_ids[1, :5].tolist() == [1, 10, 11, 12, 13]  # chosen of pair 0
    assert batch.input_ids[2].tolist() == [1, 30, 31, 32, 33, 34, 35]  # rejected of pair 1
    assert batch.input_ids[3, :3].tolist() == [1, 20, 21]  # rejected of pair 0
    assert batch.completion_mask[3].tolist() == [0, 1, 1, 0, 0, 0, 0]
    assert batch.attention_mask.sum().item() == batch.tokens == 4 + 5 + 7 + 3
    assert batch.pair_indices == [1, 0]


def test_files_are_memory_mapped(tmp_path):
    data = CompiledData(str(write_compiled(tmp_path / "d", CompiledSet("sft", DOCS))))
    assert isinstance(data.tokens, np.memmap) and data.tokens.dtype == np.dtype("<u4")
    assert isinstance(data.trained, np.memmap) and isinstance(data.docs, np.memmap)


@pytest.mark.parametrize(
    ("corrupt", "message"),
    [
        (lambda f: np.array([1, 1, 0, 0, 0], dtype=np.uint8).tofile(f / "trained.bin"), "must not be"),
        (lambda f: np.array([0, 5, 4], dtype="<i8").tofile(f / "docs.bin"), "docs.bin"),
        (lambda f: (f / "tokens.bin").write_bytes(b"\x00" * 7), "whole number"),
        (lambda f: (f / "manifest.json").write_text('{"format": "kielo-compiled", "version": 1, "kind": "rl"}'), "`kind`"),
    ],
)
def test_broken_compiled_data_is_a_bad_job(tmp_path, corrupt, message):
    folder = write_compiled(tmp_path / "d", CompiledSet("sft", [Doc([1, 5, 6, 7, 8], [0, 1, 1, 1, 1])]))
    corrupt(folder)
    with pytest.raises(EngineError) as info:
        CompiledData(str(folder))
    assert info.value.kind == "bad-job"
    assert message in info.value.message


def test_token_outside_the_vocabulary_is_named(tmp_path):
    data = CompiledData(str(write_compiled(tmp_path / "d", CompiledSet("sft", [Doc([1, 600, 7], [0, 1, 1])]))))
    with pytest.raises(EngineError) as info:
        data.check_vocab(512)
    assert "token id 600" in info.value.message


def test_schedule_round_trip_and_rank_split(tmp_path):
    steps = [[[0, 1], [2], [3, 0], [1]], [[2, 3], [0], [1], [2]]]
    schedule = read_schedule(str(write_schedule(tmp_path / "schedule.bin", steps)), sequences=4)
    assert schedule.steps == steps and schedule.micro_batches_per_step == 4
    assert schedule.for_rank(1, 0, 2) == [[0, 1], [3, 0]]
    assert schedule.for_rank(1, 1, 2) == [[2], [1]]
    assert schedule.largest_micro_batch() == 2


def test_variable_schedule_with_an_empty_micro_batch(tmp_path):
    # [n_steps, 0, then per step: m, (n, seq…)×m] — the layout of micro-batches by token budget
    values = [2, 0, 3, 2, 0, 1, 1, 2, 0, 2, 1, 3, 2, 1, 3]
    path = tmp_path / "schedule.bin"
    np.array(values, dtype="<i8").tofile(path)
    schedule = read_schedule(str(path), sequences=4)
    assert schedule.steps == [[[0, 1], [2], []], [[3], [1, 3]]] and schedule.micro_batches_per_step == 0
    assert schedule.for_rank(2, 1, 2) == [[1, 3]]


@pytest.mark.parametrize(
    ("flat", "message"),
    [
        ([1, 1, 1, 9], "sequence 9 is outside"),
        ([1, 2, 1, 0], "ends inside step 1, micro-batch 2"),
        ([1, 1, 0], "step 1 has no sequences"),
        ([1, 1, -1], "count -1 is negative"),
        ([1, 0, 0], "step 1: missing or invalid micro-batch count"),
        ([1, 1, 1, 0, 5], "1 values left"),
    ],
)
def test_broken_schedules_are_named(tmp_path, flat, message):
    path = tmp_path / "schedule.bin"
    np.array(flat, dtype="<i8").tofile(path)
    with pytest.raises(EngineError) as info:
        read_schedule(str(path), sequences=4)
    assert message in info.value.message


def test_eval_batches_cover_every_sequence_in_order(tmp_path):
    data = CompiledData(str(write_compiled(tmp_path / "d", CompiledSet("sft", DOCS))))
    assert eval_batches(data, 3) == [[0, 1, 2], [3]]


def test_collated_tensors_are_long(tmp_path):
    data = CompiledData(str(write_compiled(tmp_path / "d", CompiledSet("sft", DOCS))))
    batch = data.collate_sft([0])
    assert batch.input_ids.dtype == torch.long and batch.labels.dtype == torch.long
