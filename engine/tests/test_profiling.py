"""profiling.py: KIELO_PROFILE writes one step's profile; without it nothing is written."""

from __future__ import annotations

from collections import Counter

from conftest import base_job, synthetic_sft, write_job
from kielo_engine import profiling
from kielo_engine.train import run


def tiny_job(job_dir, model_path, steps=3):
    lora = {"type": "lora", "r": 4, "alpha": 8, "dropout": 0.0, "target_modules": "all-linear", "quant": None}
    job = base_job(model_path, job_dir, adapter=lora, output={"dir": str(job_dir / "model"), "save": "adapter"})
    data = synthetic_sft(8, 21, max_len=30)
    schedule = [[[(2 * s) % 8, (2 * s + 1) % 8]] for s in range(steps)]
    return write_job(job_dir, job, data, schedule)


def test_the_requested_step_is_profiled(tmp_path, tiny_model_path, monkeypatch):
    folder = tmp_path / "prof"
    monkeypatch.setenv(profiling.ENV_FOLDER, str(folder))
    monkeypatch.setenv(profiling.ENV_STEP, "3")
    job_dir = tiny_job(tmp_path / "job", tiny_model_path)
    assert run(str(job_dir)) == 0
    (written,) = folder.iterdir()
    assert written.name == "profile-job-step3.txt"
    text = written.read_text()
    assert text.startswith("profile of step 3 of job: wall ")
    # on the CPU there are no kernels, but the host operators of a LoRA step are there
    assert "aten::mm" in text and "LoraDelta" in text
    assert "synchronising operations in the step: 0" in text  # none looked for without a GPU


def test_nothing_is_written_without_the_variable(tmp_path, tiny_model_path, monkeypatch):
    monkeypatch.delenv(profiling.ENV_FOLDER, raising=False)
    assert profiling.requested_step() is None
    job_dir = tiny_job(tmp_path / "job", tiny_model_path)
    assert run(str(job_dir)) == 0
    assert not any(p.name.startswith("profile-") for p in tmp_path.rglob("*"))


def test_kernels_are_sorted_into_kinds():
    assert profiling.kind_of("sm90_xmma_gemm_bf16bf16_bf16f32_f32_tn_n_tilesize128x128x64") == "matmul"
    flash = ("void pytorch_flash::flash_bwd_dq_dk_dv_loop_seqk_parallel_kernel<Flash_bwd_kernel_traits<128, 64, 128, 8, 2, 4, 2, "
             "false, false, cutlass::bfloat16_t, Flash_kernel_traits<128, 64, 128, 8, cutlass::bfloat16_t> >")
    assert profiling.kind_of(flash) == "attention"
    assert profiling.kind_of("_rms_norm_forward_kernel") == "triton"
    assert profiling.kind_of("void at::native::vectorized_elementwise_kernel<4, at::native::CUDAFunctor_add<c10::BFloat16> >(int)") == "element-wise/reduce"
    assert profiling.kind_of("Memcpy HtoD (Pageable -> Device)") == "copy/fill"


def test_synchronisations_are_listed_by_site():
    text = profiling.describe_synchronisations(Counter({"engine/nf4.py:134": 96, "engine/train.py:400": 1}))
    assert "synchronising operations in the step: 97" in text
    assert text.index("engine/nf4.py:134") < text.index("engine/train.py:400")  # the most frequent first
