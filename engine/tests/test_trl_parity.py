"""Peer parity with TRL (a test-only peer, never imported by kielo_engine).

TRL builds the batch (its own tokenisation and collator on real rows) and computes its loss with
its trainer's `compute_loss`; kielo computes the loss of the same batch with its own functions on
an identical copy of the model. Losses agree to 1e-5 in fp32 and so do the gradients.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import datasets  # installed with TRL in the test environment (requirements-test.txt)
import pytest
import torch
import trl
from transformers import AutoTokenizer

from kielo_engine.losses import dpo_loss, sequence_logps, sft_loss_sum
from kielo_engine.modeling import load_model

FIXTURES = Path(__file__).parent / "fixtures" / "numerics"


def read_jsonl(name: str) -> list[dict]:
    return [json.loads(line) for line in (FIXTURES / name).read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="module")
def tokenizer(tiny_model_path):
    tok = AutoTokenizer.from_pretrained(tiny_model_path)
    tok.pad_token = tok.unk_token  # the tiny model has no pad token; <unk> never occurs in the data
    return tok


def perturbed_model(path: str, seed: int):
    """The tiny model moved a little off its pretrained weights, so policy ≠ reference."""
    model = load_model(path, "fp32")
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(torch.randn(parameter.shape, generator=generator) * 0.003)
    return model


def assert_same_gradients(trl_model, kielo_model):
    theirs = dict(trl_model.named_parameters())
    compared = 0
    for name, parameter in kielo_model.named_parameters():
        assert parameter.grad is not None, name
        torch.testing.assert_close(parameter.grad, theirs[name].grad, rtol=1e-4, atol=1e-5, msg=name)
        compared += 1
    assert compared == len(theirs)


def test_sft_loss_and_gradients_equal_trl(tiny_model_path, tokenizer, tmp_path):
    rows = read_jsonl("dolly-fi-prompt-completion.jsonl")
    trl_model = load_model(tiny_model_path, "fp32")
    kielo_model = copy.deepcopy(trl_model)
    args = trl.SFTConfig(
        output_dir=str(tmp_path), report_to="none", use_cpu=True, max_length=96, per_device_train_batch_size=4
    )
    dataset = datasets.Dataset.from_list([{"prompt": r["prompt"], "completion": r["completion"]} for r in rows])
    trainer = trl.SFTTrainer(model=trl_model, args=args, train_dataset=dataset, processing_class=tokenizer)
    examples = [trainer.train_dataset[i] for i in range(4)]
    batch = trainer.data_collator(examples)

    # The batch's labels are prompt-masked as kielo's compiler masks them: the prompt's tokens are
    # not targets, the completion's (and the EOS TRL appends) are.
    for row, example in zip(batch["labels"], rows[:4], strict=True):
        prompt_length = len(tokenizer(example["prompt"]).input_ids)
        targets = (row != -100).nonzero().flatten()
        assert targets.min().item() == prompt_length

    # Loss normalised by the trained tokens of the whole step: pass TRL the same count.
    trained = int((batch["labels"][:, 1:] != -100).sum())
    trl_model.train()
    kielo_model.train()
    trl_loss = trainer.compute_loss(trl_model, dict(batch), num_items_in_batch=trained)
    logits = kielo_model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    loss_sum, counted = sft_loss_sum(logits, batch["labels"])
    kielo_loss = loss_sum / counted
    assert counted == trained
    assert kielo_loss.item() == pytest.approx(trl_loss.item(), abs=1e-5)
    trl_loss.backward()
    kielo_loss.backward()
    assert_same_gradients(trl_model, kielo_model)


def test_dpo_sigmoid_loss_rewards_and_gradients_equal_trl(tiny_model_path, tokenizer, tmp_path):
    rows = read_jsonl("ultrafeedback-pairs.jsonl")
    trl_policy = perturbed_model(tiny_model_path, seed=11)
    kielo_policy = copy.deepcopy(trl_policy)
    reference = load_model(tiny_model_path, "fp32")
    beta = 0.1
    args = trl.DPOConfig(
        output_dir=str(tmp_path),
        report_to="none",
        use_cpu=True,
        max_length=256,
        per_device_train_batch_size=4,
        beta=beta,
        loss_type=["sigmoid"],
    )
    dataset = datasets.Dataset.from_list([{k: r[k] for k in ("prompt", "chosen", "rejected")} for r in rows])
    trainer = trl.DPOTrainer(
        model=trl_policy, ref_model=reference, args=args, train_dataset=dataset, processing_class=tokenizer
    )
    assert len(trainer.train_dataset) == 4
    batch = trainer.data_collator([trainer.train_dataset[i] for i in range(4)])
    trl_policy.train()
    kielo_policy.train()
    trl_loss = trainer.compute_loss(trl_policy, dict(batch))

    ids, attention, completion = batch["input_ids"], batch["attention_mask"], batch["completion_mask"]
    policy_logps = sequence_logps(kielo_policy(input_ids=ids, attention_mask=attention).logits, ids, completion)
    with torch.no_grad():
        reference_logps = sequence_logps(reference(input_ids=ids, attention_mask=attention).logits, ids, completion)
    policy_chosen, policy_rejected = policy_logps.chunk(2)
    ref_chosen, ref_rejected = reference_logps.chunk(2)
    losses, chosen_rewards, rejected_rewards = dpo_loss(
        policy_chosen, policy_rejected, ref_chosen, ref_rejected, beta=beta, loss_type="sigmoid"
    )
    kielo_loss = losses.mean()
    assert kielo_loss.item() == pytest.approx(trl_loss.item(), abs=1e-5)

    metrics = trainer._metrics["train"]
    assert chosen_rewards.mean().item() == pytest.approx(metrics["rewards/chosen"][-1], abs=1e-5)
    assert rejected_rewards.mean().item() == pytest.approx(metrics["rewards/rejected"][-1], abs=1e-5)
    accuracy = (chosen_rewards > rejected_rewards).float().mean().item()
    assert accuracy == pytest.approx(metrics["rewards/accuracies"][-1])
    assert policy_chosen.mean().item() == pytest.approx(metrics["logps/chosen"][-1], rel=1e-6)

    trl_loss.backward()
    kielo_loss.backward()
    assert_same_gradients(trl_policy, kielo_policy)
