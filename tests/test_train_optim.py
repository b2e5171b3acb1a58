"""AdamW runs torch's fused kernel (xlir.training.optim): the same update as the for-loop kernel it
replaced, over both weight-decay groups, and the training record names the kernel."""

from __future__ import annotations

import pytest
import torch


def _named(seed: int) -> list[tuple[str, torch.nn.Parameter]]:
    g = torch.Generator().manual_seed(seed)
    shapes = {"embeddings.word_embeddings.weight": (50, 8), "layer.0.dense.weight": (8, 8),
              "layer.0.dense.bias": (8,), "layer.0.LayerNorm.weight": (8,)}
    return [(n, torch.nn.Parameter(torch.randn(s, generator=g))) for n, s in shapes.items()]


def _run(optimizer_of, steps: int = 6) -> list[torch.Tensor]:
    named = _named(0)
    opt = optimizer_of(named)
    g = torch.Generator().manual_seed(1)
    for _ in range(steps):
        for _, p in named:
            p.grad = torch.randn(p.shape, generator=g)
        opt.step()
    return [p.detach().clone() for _, p in named]


def test_fused_adamw_makes_the_for_loop_update_in_both_decay_groups():
    from xlir.training.optim import build_optimizer, optimizer_implementation

    def loop(named):
        opt = build_optimizer(named, lr=1e-2, weight_decay=0.1)
        assert optimizer_implementation(opt) == "fused"
        for group in opt.param_groups:  # the kernel torch picks for CPU parameters without fused
            group["fused"], group["foreach"] = False, None
        assert optimizer_implementation(opt) == "for-loop"
        return opt

    fused = _run(lambda named: build_optimizer(named, lr=1e-2, weight_decay=0.1))
    plain = _run(loop)
    start = [p.detach() for _, p in _named(0)]
    for f, p, s in zip(fused, plain, start, strict=True):
        assert not torch.equal(f, s)  # the parameters moved
        torch.testing.assert_close(f, p, rtol=1e-6, atol=1e-7)
    # decay applies to weights only: a bias under decay would differ from the no-decay update
    no_decay = _run(lambda named: torch.optim.AdamW([p for _, p in named], lr=1e-2, weight_decay=0.0))
    assert torch.allclose(fused[2], no_decay[2], rtol=1e-6) and not torch.allclose(fused[1], no_decay[1])


@pytest.mark.parametrize("tensor, expected", [
    (torch.zeros(3), True),
    (torch.zeros(3, dtype=torch.int64), False),
    (torch.zeros(3, device="meta"), False),
])
def test_fused_only_where_torch_has_the_kernel(tensor, expected):
    from xlir.training.optim import fused_supported

    assert fused_supported([tensor]) is expected
    assert fused_supported([]) is False


def test_training_record_names_the_optimizer_kernel(tiny_model_path, tmp_path):
    from xlir.training import TrainConfig, train
    from xlir.training.record import TrainingRecord

    out = train(TrainConfig(model=str(tiny_model_path), sources=["mlqa"], steps=2, batch_size=4,
                            max_length=16, max_groups=20, progress=False, output=tmp_path / "m")).model_dir
    assert TrainingRecord.read(out).optimizer == "fused"
