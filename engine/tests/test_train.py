"""The training loop on the real tiny model (CPU, fp32): loss normalisation, packing, DPO
references, errors as events, and outputs that transformers / peft load."""

from __future__ import annotations

import json
import math
import os
import shutil

import pytest
import torch
from safetensors.torch import load_file

from conftest import CompiledSet, base_job, read_events, synthetic_sft, write_compiled, write_job
from kielo_engine.checkpoint import read_state
from kielo_engine.data import CompiledData
from kielo_engine.forward import token_logps
from kielo_engine.modeling import load_model
from kielo_engine.train import run

LORA = {"type": "lora", "r": 4, "alpha": 8, "dropout": 0.1, "target_modules": "all-linear", "quant": None}


def events_of(job_dir, type_):
    return [e for e in read_events(job_dir) if e["type"] == type_]


# ---- packing ---------------------------------------------------------------------------------


@pytest.mark.parametrize("attn", ["sdpa", "eager"])
def test_packed_and_flat_batches_give_the_unpacked_loss(tmp_path, tiny_model_path, attn):
    docs = synthetic_sft(7, seed=3, min_len=6, max_len=50)
    unpacked = CompiledData(str(write_compiled(tmp_path / "u", docs)))
    packs = [[0, 1, 2], [3, 4], [5], [6]]
    packed = CompiledData(str(write_compiled(tmp_path / "p", CompiledSet("sft", docs.docs, packs=packs))))
    model = load_model(tiny_model_path, "fp32", attn_implementation=attn).eval()

    def loss_sum(batch):
        return -float(token_logps(model, batch.inputs, batch.targets).sum()), len(batch.targets)

    with torch.no_grad():
        u_sum, u_count = loss_sum(unpacked.model_batch(list(range(7)), flat=False))
        p_sum, p_count = loss_sum(packed.model_batch(list(range(4)), flat=False))
        f_sum, f_count = loss_sum(unpacked.model_batch(list(range(7)), flat=True))
        pf_sum, pf_count = loss_sum(packed.model_batch(list(range(4)), flat=True))
        # The same pack with continuous positions lets documents see each other: the loss must
        # then differ, which shows the comparisons below can fail.
        p = packed.collate_sft(list(range(4)))
        leaky = {"input_ids": p.input_ids, "position_ids": torch.arange(p.input_ids.size(1)).expand_as(p.input_ids)}
        leaky_sum = -float(token_logps(model, leaky, p.model_batch().targets).sum())
    # the reference: the model's own logits, log-softmax in fp64, summed over the trained tokens
    with torch.no_grad():
        u = unpacked.collate_sft(list(range(7)))
        logps = torch.log_softmax(model(**u.model_inputs()).logits.double(), dim=-1)[:, :-1]
        labels = u.labels[:, 1:]
        keep = labels != -100
        reference = -float(logps[keep].gather(-1, labels[keep][:, None]).sum())
    assert u_count == p_count == f_count == pf_count == unpacked.trained_tokens(list(range(7)))
    for value in (u_sum, p_sum, f_sum, pf_sum):
        assert value == pytest.approx(reference, rel=1e-5)
    assert abs(leaky_sum - u_sum) > 1e-2


# ---- gradient accumulation -------------------------------------------------------------------


def run_job(job_dir, job, train, schedule, eval_set=None):
    write_job(job_dir, job, train, schedule, eval_set)
    code = run(str(job_dir))
    return code, read_events(job_dir)


def test_two_by_four_accumulation_equals_one_batch_of_eight(tmp_path, tiny_model_path):
    data = synthetic_sft(16, seed=5, min_len=4, max_len=60)  # very different lengths on purpose
    order = [[3, 9, 0, 14, 7, 1, 12, 5], [2, 8, 15, 4, 11, 6, 13, 10]]
    optim = {"lr": 1e-3, "weight_decay": 0.01, "betas": [0.9, 0.999], "eps": 1e-8, "max_grad_norm": 1e9, "schedule": "constant", "warmup_ratio": 0.0}
    results = {}
    for name, split in (("acc", 2), ("one", 8)):
        job_dir = tmp_path / name
        schedule = [[step[i : i + split] for i in range(0, 8, split)] for step in order]
        code, events = run_job(job_dir, base_job(tiny_model_path, job_dir, optim=optim), data, schedule)
        assert code == 0, events[-1]
        results[name] = ([e for e in events if e["type"] == "step"], load_file(str(job_dir / "model" / "model.safetensors")))
    (acc_steps, acc_weights), (one_steps, one_weights) = results["acc"], results["one"]
    for a, b in zip(acc_steps, one_steps):
        assert a["trained_tokens"] == b["trained_tokens"]
        assert a["loss"] == pytest.approx(b["loss"], rel=1e-5)
        assert a["grad_norm"] == pytest.approx(b["grad_norm"], rel=1e-4)
    # Adam divides by √v: where a gradient is ~0 its float rounding is magnified, so the weights
    # are compared to 1 % of one update (lr 1e-3) rather than to float epsilon.
    for key in one_weights:
        torch.testing.assert_close(acc_weights[key], one_weights[key], rtol=1e-5, atol=1e-5)
    # The token-weighted loss of the step is not the mean of the micro-batch means here.
    assert acc_steps[0]["loss"] > 0


def test_micro_batches_by_token_budget_give_the_same_step(tmp_path, tiny_model_path):
    # A step split into micro-batches of different sizes (as a token budget splits it), with an
    # empty one (as a step rounded up to a multiple of the GPUs has), against one micro-batch.
    data = synthetic_sft(12, seed=6, min_len=4, max_len=60)
    optim = {"lr": 1e-3, "weight_decay": 0.0, "betas": [0.9, 0.999], "eps": 1e-8, "max_grad_norm": 1e9, "schedule": "constant", "warmup_ratio": 0.0}
    schedules = {
        "budget": [[[3, 9, 0], [7], [1, 5, 11], []], [[2, 8, 10, 4], [6]]],
        "one": [[[3, 9, 0, 7, 1, 5, 11]], [[2, 8, 10, 4, 6]]],
    }
    results = {}
    for name, schedule in schedules.items():
        job_dir = tmp_path / name
        code, events = run_job(job_dir, base_job(tiny_model_path, job_dir, optim=optim), data, schedule)
        assert code == 0, events[-1]
        results[name] = ([e for e in events if e["type"] == "step"], load_file(str(job_dir / "model" / "model.safetensors")))
    for a, b in zip(results["budget"][0], results["one"][0]):
        assert a["loss"] == pytest.approx(b["loss"], rel=1e-5) and a["trained_tokens"] == b["trained_tokens"]
    for key in results["one"][1]:
        torch.testing.assert_close(results["budget"][1][key], results["one"][1][key], rtol=1e-5, atol=1e-5)


# ---- errors become events --------------------------------------------------------------------


def test_missing_model_is_an_error_event(tmp_path, tiny_model_path):
    job = base_job(str(tmp_path / "no-such-model"), tmp_path)
    code, events = run_job(tmp_path, job, synthetic_sft(4, 1), [[[0], [1]]])
    assert code == 1
    assert events[-1]["type"] == "error" and events[-1]["kind"] == "model-not-found"
    assert "no-such-model" in events[-1]["message"]


def test_diverging_loss_is_a_nan_error_event(tmp_path, tiny_model_path):
    optim = {"lr": 1e4, "weight_decay": 0.0, "betas": [0.9, 0.999], "eps": 1e-8, "max_grad_norm": None, "schedule": "constant", "warmup_ratio": 0.0}
    data = synthetic_sft(8, 2)
    schedule = [[[i % 8, (i + 1) % 8]] for i in range(12)]
    code, events = run_job(tmp_path, base_job(tiny_model_path, tmp_path, optim=optim), data, schedule)
    assert code == 1
    error = events[-1]
    assert error["type"] == "error" and error["kind"] == "nan", error
    assert "at step" in error["message"]
    assert not (tmp_path / "model").exists()


def test_out_of_memory_is_an_oom_error_event_with_a_hint(tmp_path, tiny_model_path, monkeypatch, capsys):
    # The CPU cannot run out of GPU memory: the forward pass raises the error CUDA's allocator
    # raises (torch.OutOfMemoryError, with its usual message), and the run must turn it into one
    # `oom` event with advice, exit 1, and print no traceback.
    import kielo_engine.train as train_module

    def out_of_memory(self, model, batch):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB (GPU 0; 79.10 GiB total capacity)")

    monkeypatch.setattr(train_module.Trainer, "token_logps", out_of_memory)
    code, events = run_job(tmp_path, base_job(tiny_model_path, tmp_path), synthetic_sft(4, 1), [[[0], [1]]])
    assert code == 1
    error = events[-1]
    assert error["type"] == "error" and error["kind"] == "oom", error
    assert error["message"].startswith("out of GPU memory: CUDA out of memory. Tried to allocate 20.00 GiB")
    assert "micro-batch" in error["hint"]
    assert "Traceback" not in capsys.readouterr().err
    assert not (tmp_path / "model").exists()


def test_data_of_the_wrong_kind_is_a_bad_job(tmp_path, tiny_model_path):
    job = base_job(tiny_model_path, tmp_path, method="dpo", dpo={"beta": 0.1, "loss": "sigmoid", "label_smoothing": 0.0, "reference": "frozen-copy"})
    code, events = run_job(tmp_path, job, synthetic_sft(4, 1), [[[0], [1]]])
    assert code == 1 and events[-1]["kind"] == "bad-job"
    assert 'needs data of kind "preference"' in events[-1]["message"]


# ---- outputs ---------------------------------------------------------------------------------


def test_full_fine_tune_writes_a_model_transformers_loads(tmp_path, tiny_model_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    job = base_job(tiny_model_path, tmp_path, save_every_steps=2, gradient_checkpointing=True, neftune_alpha=5.0)
    code, events = run_job(tmp_path, job, synthetic_sft(12, 4), [[[0, 1], [2, 3]], [[4, 5], [6, 7]]], eval_set=synthetic_sft(4, 9))
    assert code == 0, events[-1]
    done = events[-1]
    assert done["type"] == "done" and done["tokens_per_s"] > 0 and done["peak_memory_bytes"] > 0
    assert done["peak_memory_kind"] == "cpu-max-rss"
    assert [e["step"] for e in events if e["type"] == "step"] == [1, 2]
    start = events[0]
    assert start["type"] == "start" and start["params"] == start["trainable_params"] == 260032
    model = AutoModelForCausalLM.from_pretrained(str(tmp_path / "model"))
    AutoTokenizer.from_pretrained(str(tmp_path / "model"))
    trained = read_state(str(tmp_path / "checkpoints" / "step-000002"))["model"]
    for name, tensor in model.state_dict().items():
        torch.testing.assert_close(tensor, trained[name], rtol=0, atol=0)
    original = load_file(os.path.join(tiny_model_path, "model.safetensors"))
    assert not torch.equal(original["model.layers.0.mlp.up_proj.weight"], trained["model.layers.0.mlp.up_proj.weight"])


@pytest.fixture(scope="module")
def sft_adapter(tmp_path_factory, tiny_model_path):
    """A LoRA SFT run whose adapter later DPO tests continue from."""
    job_dir = tmp_path_factory.mktemp("sft-lora")
    torch.set_num_threads(1)
    # No dropout: a DPO run continuing from this adapter then has policy == reference at step 1.
    job = base_job(tiny_model_path, job_dir, adapter=dict(LORA, dropout=0.0), output={"dir": str(job_dir / "model"), "save": "adapter"}, save_every_steps=3)
    optim = dict(job["optim"], lr=2e-2)
    job["optim"] = optim
    data = synthetic_sft(12, 6)
    code, events = run_job(job_dir, job, data, [[[0, 1], [2, 3]], [[4, 5], [6, 7]], [[8, 9], [10, 11]]])
    assert code == 0, events[-1]
    return job_dir


def test_lora_output_is_a_peft_adapter_equal_to_the_trained_weights(sft_adapter, tiny_model_path):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    out = sft_adapter / "model"
    assert (out / "adapter_config.json").is_file() and (out / "tokenizer.json").is_file()
    saved = load_file(str(out / "adapter_model.safetensors"))
    trained = read_state(str(sft_adapter / "checkpoints" / "step-000003"))["model"]
    assert len(saved) == len(trained) == 70  # 5 layers × 7 linear layers × (A, B)
    for name, tensor in trained.items():
        torch.testing.assert_close(saved[name.replace(".default", "")], tensor, rtol=0, atol=0)
    model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(tiny_model_path), str(out))
    assert any("lora_B" in n and p.abs().sum() > 0 for n, p in model.named_parameters())


def pairs_set(n_pairs: int, seed: int) -> CompiledSet:
    docs = synthetic_sft(2 * n_pairs, seed, min_len=8, max_len=30).docs
    for k in range(n_pairs):  # the two replies of a pair share their prompt
        chosen, rejected = docs[2 * k], docs[2 * k + 1]
        prompt = chosen.trained.index(1)
        rejected.tokens[:prompt] = chosen.tokens[:prompt]
        rejected.trained[:prompt] = [0] * prompt
        rejected.trained[prompt:] = [1] * (len(rejected.trained) - prompt)
    return CompiledSet("preference", docs)


def dpo_job(tiny_model_path, job_dir, reference, adapter=LORA, **extra):
    job = base_job(
        tiny_model_path,
        job_dir,
        method="dpo",
        adapter=adapter,
        dpo={"beta": 0.1, "loss": "sigmoid", "label_smoothing": 0.0, "reference": reference},
        output={"dir": str(job_dir / "model"), "save": "adapter" if adapter else "full"},
        **extra,
    )
    job["optim"] = dict(job["optim"], lr=1e-2, warmup_ratio=0.0, schedule="constant")
    return job


DPO_SCHEDULE = [[[0, 1], [2]], [[3, 4], [5]]]


@pytest.mark.parametrize(("reference", "adapter"), [("adapter-disabled", LORA), ("frozen-copy", None), ("precomputed", LORA)])
def test_dpo_starts_at_ln2_with_every_reference(tmp_path, tiny_model_path, reference, adapter):
    job = dpo_job(tiny_model_path, tmp_path, reference, adapter, eval={"every_steps": 1})
    code, events = run_job(tmp_path, job, pairs_set(6, 7), DPO_SCHEDULE, eval_set=pairs_set(3, 8))
    assert code == 0, events[-1]
    steps = [e for e in events if e["type"] == "step"]
    # Step 1: the policy is its reference, so every pair's loss is softplus(0) = ln 2, rewards 0.
    assert steps[0]["loss"] == pytest.approx(math.log(2), abs=1e-6)
    assert steps[0]["rewards_chosen"] == pytest.approx(0, abs=1e-6) and steps[0]["pairs"] == 3
    assert steps[1]["loss"] != pytest.approx(math.log(2), abs=1e-6)  # it moved
    evals = [e for e in events if e["type"] == "eval"]
    assert [e["step"] for e in evals] == [1, 2] and evals[0]["pairs"] == 3
    for key in ("rewards_chosen", "rewards_rejected", "margins", "accuracy"):
        assert key in steps[1] and key in evals[-1]
    if reference == "precomputed":
        stored = (tmp_path / "ref_logps.bin").read_bytes()
        assert len(stored) == 6 * 2 * 8 and (tmp_path / "ref_logps.eval.bin").stat().st_size == 3 * 2 * 8


def test_dpo_after_lora_sft_uses_the_sft_adapter_as_reference(tmp_path, tiny_model_path, sft_adapter):
    job = dpo_job(tiny_model_path, tmp_path, "adapter-disabled", init_adapter=str(sft_adapter / "model"))
    code, events = run_job(tmp_path, job, pairs_set(6, 7), DPO_SCHEDULE)
    assert code == 0, events[-1]
    steps = [e for e in events if e["type"] == "step"]
    # With the base model as reference (adapter merely disabled) the first loss would not be ln 2.
    assert steps[0]["loss"] == pytest.approx(math.log(2), abs=1e-6)
    out = tmp_path / "model"
    assert not (out / "ref").exists()  # only the trained adapter is written
    config = json.loads((out / "adapter_config.json").read_text())
    assert config["r"] == 4


def test_lora_with_full_output_is_merged(tmp_path, tiny_model_path):
    from transformers import AutoModelForCausalLM

    job = base_job(tiny_model_path, tmp_path, adapter=dict(LORA, dropout=0.0))
    job["optim"] = dict(job["optim"], lr=5e-2)
    code, events = run_job(tmp_path, job, synthetic_sft(8, 11), [[[0, 1], [2, 3]], [[4, 5], [6, 7]]])
    assert code == 0, events[-1]
    merged = AutoModelForCausalLM.from_pretrained(str(tmp_path / "model"))
    base = AutoModelForCausalLM.from_pretrained(tiny_model_path)
    assert not torch.equal(merged.model.layers[0].self_attn.q_proj.weight, base.model.layers[0].self_attn.q_proj.weight)
    shutil.rmtree(tmp_path / "model")


def test_qlora_trains_an_adapter_on_an_nf4_base(tmp_path, tiny_model_path):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    quant = {"type": "nf4", "block_size": 64, "double_quant": True, "compute_dtype": "fp32"}
    job = base_job(tiny_model_path, tmp_path, adapter=dict(LORA, type="qlora", quant=quant), gradient_checkpointing=True,
                   output={"dir": str(tmp_path / "model"), "save": "adapter"})
    job["optim"] = dict(job["optim"], lr=2e-2, warmup_ratio=0.0)
    code, events = run_job(tmp_path, job, synthetic_sft(8, 12), [[[0, 1], [2, 3]], [[4, 5], [6, 7]]])
    assert code == 0, events[-1]
    steps = [e for e in events if e["type"] == "step"]
    assert len(steps) == 2 and all(math.isfinite(s["loss"]) and s["grad_norm"] > 0 for s in steps)
    start = events[0]
    assert start["trainable_params"] < start["params"]
    model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(tiny_model_path), str(tmp_path / "model"))
    assert any("lora_B" in n and p.abs().sum() > 0 for n, p in model.named_parameters())


def test_neftune_on_flat_batches_uses_each_documents_length(tmp_path, tiny_model_path):
    # A flat micro-batch is one row of many documents: HF's bound (the row's length) would shrink
    # the noise by √(documents); the engine uses each document's own length there.
    from kielo_engine.distributed import init_distributed
    from kielo_engine.events import EventLog
    from kielo_engine.job import load_job
    from kielo_engine.stop import StopRequest
    from kielo_engine.train import Trainer

    job = base_job(tiny_model_path, tmp_path, neftune_alpha=5.0)
    write_job(tmp_path, job, synthetic_sft(8, 4), [[[0, 1, 2], [3]]])
    trainer = Trainer(load_job(str(tmp_path)), init_distributed(), EventLog(None, enabled=False), StopRequest())
    trainer.load_data()
    trainer.load_models()
    assert trainer.flat and trainer.neftune is not None and trainer.neftune.per_document
    batch = trainer.batch(trainer.train_data, [0, 1, 2])
    seen = {}
    original = trainer.neftune.noise_bound

    def spy(output):
        seen["bound"] = original(output)
        return seen["bound"]

    trainer.neftune.noise_bound = spy
    trainer.token_logps(trainer.model, batch)
    lengths = [len(trainer.train_data.collate_flat([s]).input_ids[0]) for s in (0, 1, 2)]
    hidden = trainer.model.config.hidden_size
    expected = torch.cat([torch.full((n,), 5.0 / math.sqrt(n * hidden)) for n in lengths])
    torch.testing.assert_close(seen["bound"].flatten(), expected)
