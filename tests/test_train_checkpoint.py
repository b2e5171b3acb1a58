"""Checkpoints hold data only (no pickle), every file is verified on load, and a broken newest
checkpoint falls back to the previous complete one.

Regression tests for issue 11, defects 3 (a crafted ``state.pt`` ran code on ``--resume``) and 7
(a truncated ``state.pt``/RNG file gave a raw torch error without the file name and no fallback).
"""

from __future__ import annotations

import json
import os
import random
import re
import warnings

import numpy as np
import pytest
import torch

from xlir.training import checkpoint as ckpt
from xlir.training.state_codec import CodecError, decode, encode


def _real_state(step: int = 3) -> dict:
    """A state shaped like the trainer's: AdamW + LambdaLR after some steps, sampler, config."""
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 3)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0 / (1 + s))
    for _ in range(step):
        model(torch.randn(2, 4)).pow(2).sum().backward()
        opt.step()
        sched.step()
    return {"step": step, "model": {n: p.detach().clone() for n, p in model.named_parameters()},
            "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
            "sampler": {"name": "hybrid", "step": step, "pools": {"mono/de": [0, 5], "xy/de-en": [1, 2]}},
            "config": {"lr": 1e-3, "alpha": 0.5, "languages": None}, "pairs_fingerprint": "abc",
            "history": {"wall_time_s": 1.5, "resumed_from": []}}


def _write(root, step, state=None, ranks=(0,)):
    ckpt.begin(root, step)
    for r in ranks:
        ckpt.write_rng(root, step, r)
    return ckpt.commit(root, step, state or _real_state(step), keep=10)


def _same(a, b) -> bool:
    if isinstance(a, torch.Tensor):
        return (isinstance(b, torch.Tensor) and a.dtype == b.dtype and a.shape == b.shape
                and bool((a == b).all()))
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.dtype == b.dtype and np.array_equal(a, b)
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and a != a:
        return isinstance(b, float) and b != b
    return type(a) is type(b) and a == b


def test_state_and_rng_round_trip_exactly(tmp_path):
    state = _real_state()
    torch.manual_seed(1), random.seed(1), np.random.seed(1)
    path = _write(tmp_path, 3, state)  # captures the generator states here
    expect = (torch.rand(3), random.random(), np.random.rand(2))
    assert sorted(p.name for p in path.iterdir()) == [
        "checkpoint.json", "rng-rank0.json", "state.json", "tensors.safetensors"]
    loaded, rng = ckpt.load(path)
    assert _same(state, loaded)
    # the optimizer accepts what was loaded
    opt = torch.optim.AdamW(torch.nn.Linear(4, 3).parameters(), lr=1e-3)
    opt.load_state_dict(loaded["optimizer"])
    assert _same(opt.state_dict(), state["optimizer"])
    # restoring the RNG state continues every generator exactly
    ckpt.set_rng_state(rng)
    again = (torch.rand(3), random.random(), np.random.rand(2))
    assert _same(expect[0], again[0]) and expect[1] == again[1] and np.array_equal(expect[2], again[2])


def test_codec_keeps_types_and_rejects_what_it_does_not_write():
    obj = {"t": (1, 2.5, None), 3: [float("nan"), float("inf")], "__x": "y",
           "a": np.arange(3, dtype=np.uint32), "b": torch.tensor([1, 2], dtype=torch.int16),
           "s": torch.tensor(2.0)}
    tensors: dict = {}
    back = decode(json.loads(json.dumps(encode(obj, tensors), allow_nan=False)), tensors)
    assert _same(obj, back)
    inline = decode(json.loads(json.dumps(encode(obj, None), allow_nan=False)))
    assert _same(obj, inline)
    for bad in ({"__tensor__": "missing"}, {"__tuple__": 3}, {"__float__": "1e9"}, {"__items__": [[1.5, 2]]},
                {"__tensor__": {"dtype": "object", "shape": [1], "b64": ""}},
                {"__tensor__": {"dtype": "uint8", "shape": [2], "b64": "AA=="}},
                {"__ndarray__": {"dtype": "O", "shape": [1], "b64": "AA=="}}, {"__tuple__": [], "x": 1}):
        with pytest.raises(CodecError):
            decode(bad, {})
    with pytest.raises(CodecError, match="cannot store"):
        encode({"f": lambda: 0}, {})


class _Evil:
    def __reduce__(self):
        return (os.system, ("touch PWNED",))


def test_crafted_pickle_state_pt_is_refused_without_running_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "checkpoints" / ckpt.checkpoint_name(4)
    folder.mkdir(parents=True)
    torch.save({"step": 4, "x": _Evil()}, folder / "state.pt")  # what an attacker would drop into a run
    with pytest.raises(ckpt.CheckpointError, match=r"state\.pt.*pickle checkpoint of an older xlir"):
        ckpt.load_latest(tmp_path / "checkpoints")
    assert not (tmp_path / "PWNED").exists()
    # a current checkpoint whose state.json smuggles a pickle-shaped value is rejected by the codec
    path = _write(tmp_path / "c2", 2)
    tree = json.loads((path / "state.json").read_text())
    tree["history"] = {"__reduce__": ["os.system", "touch PWNED"]}
    _rewrite_with_manifest(path, "state.json", json.dumps(tree).encode())
    state, _ = ckpt.load(path)  # "__reduce__" is not a marker: plain data, nothing is called
    assert state["history"] == {"__reduce__": ["os.system", "touch PWNED"]}
    assert not (tmp_path / "PWNED").exists()


def _rewrite_with_manifest(path, name, data):
    """Replace one file and update the manifest, as a careful attacker would."""
    import hashlib

    (path / name).write_bytes(data)
    man = json.loads((path / "checkpoint.json").read_text())
    man["files"][name] = {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    (path / "checkpoint.json").write_text(json.dumps(man))


@pytest.mark.parametrize("name", ["tensors.safetensors", "state.json", "rng-rank0.json", "rng-rank1.json",
                                  "checkpoint.json"])
def test_truncating_any_file_names_it_and_falls_back_to_the_previous_checkpoint(tmp_path, name):
    root = tmp_path / "checkpoints"
    _write(root, 3, ranks=(0, 1))
    newest = _write(root, 6, ranks=(0, 1))
    rng = random.Random(name)
    size = (newest / name).stat().st_size
    for cut in sorted({0, 1, size - 1, *rng.sample(range(size), 5)}):
        data = (newest / name).read_bytes()
        (newest / name).write_bytes(data[:cut])
        with pytest.raises(ckpt.CheckpointError) as err:
            ckpt.load(newest, rank=0)
        assert (name if name != "checkpoint.json" else "checkpoint.json") in str(err.value)
        with pytest.warns(UserWarning, match=rf"step-00000006.*{name.replace('.', r'.')}.*previous complete "
                                             r"one.*step-00000003"):
            path, state, _ = ckpt.load_latest(root)  # every rank decides alike: all files are checked
        assert path.name == "step-00000003" and state["step"] == 3
        (newest / name).write_bytes(data)
    assert ckpt.load_latest(root)[0] == newest
    # rank 0 sets the broken one aside, so a later prune cannot keep it over a good one
    (newest / "tensors.safetensors").write_bytes(b"")
    with pytest.warns(UserWarning):
        ckpt.load_latest(root, set_aside=True)
    assert [p.name for _, p in ckpt.list_checkpoints(root)] == ["step-00000003"]
    assert (root / ".broken-step-00000006").is_dir()


def test_a_single_broken_checkpoint_stops_with_the_file_named(tmp_path):
    root = tmp_path / "checkpoints"
    path = _write(root, 3)
    (path / "rng-rank0.json").write_bytes((path / "rng-rank0.json").read_bytes()[:100])
    with pytest.raises(ckpt.CheckpointError, match=r"rng-rank0\.json: truncated or altered: 100 bytes.*no "
                                                   r"earlier complete checkpoint"):
        ckpt.load_latest(root)
    assert ckpt.load_latest(tmp_path / "none") is None
    # altered content of the same length is caught by the hash, garbage JSON by the parser
    (path / "rng-rank0.json").unlink()
    path = _write(tmp_path / "b", 3)
    data = bytearray((path / "state.json").read_bytes())
    data[10] ^= 1
    (path / "state.json").write_bytes(bytes(data))
    with pytest.raises(ckpt.CheckpointError, match=r"state\.json: altered"):
        ckpt.load(path)
    _rewrite_with_manifest(path, "state.json", b"{not json")
    with pytest.raises(ckpt.CheckpointError, match=r"state\.json: not valid JSON"):
        ckpt.load(path)
    _rewrite_with_manifest(path, "tensors.safetensors", b"\x08\x00\x00\x00\x00\x00\x00\x00{garbage")
    with pytest.raises(ckpt.CheckpointError, match=r"tensors\.safetensors: not a readable safetensors"):
        ckpt.load(path)


def test_commit_replaces_a_checkpoint_of_the_same_step(tmp_path):
    root = tmp_path / "checkpoints"
    first = _write(root, 3)
    (first / "state.json").write_bytes(b"")  # broken
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        second = _write(root, 3)
        assert ckpt.load(second)[0]["step"] == 3


def test_resume_after_truncated_newest_checkpoint_falls_back_and_matches_bit_for_bit(
        tmp_path, tiny_model_path, data_dir):
    """Fault test on a real run: cut the newest checkpoint's weights file, resume, get the same model."""
    from safetensors.torch import load_file

    from xlir.data.pairs import load_pairs, write_pairs
    from xlir.training import TrainConfig, train

    pairs = write_pairs(load_pairs(["mlqa"], data_dir=data_dir, max_groups=60), tmp_path / "p.jsonl")
    cfg = TrainConfig(model=str(tiny_model_path), sources=[str(pairs)], steps=5, batch_size=8, lr=2e-3,
                      checkpoint_every=2, max_length=32, num_threads=1, progress=False,
                      output=tmp_path / "run", precision="fp32")
    first = train(cfg)  # keep_checkpoints defaults to 2: a fallback exists without asking for it
    expect = load_file(str(tmp_path / "run" / "model.safetensors"))
    root = tmp_path / "run.checkpoints"
    assert [p.name for _, p in ckpt.list_checkpoints(root)] == ["step-00000004", "step-00000005"]
    newest = root / "step-00000005" / "tensors.safetensors"
    newest.write_bytes(newest.read_bytes()[: newest.stat().st_size // 3])
    (tmp_path / "run" / "model.safetensors").unlink()
    log = tmp_path / "run" / "training_log.jsonl"  # cut too: the losses must come back whole
    log.write_bytes(log.read_bytes()[: log.stat().st_size // 3])
    with pytest.warns(UserWarning) as caught:
        again = train(cfg.model_copy(update={"resume": True}))
    said = " | ".join(str(w.message) for w in caught)
    assert re.search(r"step-00000005.*tensors\.safetensors: truncated.*step-00000004", said), said
    assert re.search(r"training_log\.jsonl did not match checkpoint step 4", said), said
    assert again.record.resumed_from == [4] and again.losses == first.losses
    assert again.record.final_loss == first.record.final_loss
    assert again.record.loss_curve == first.record.loss_curve
    got = load_file(str(tmp_path / "run" / "model.safetensors"))
    assert all(bool((expect[k] == got[k]).all()) for k in expect)
    # the re-made step 5 replaced the broken one
    assert ckpt.load(root / "step-00000005")[0]["step"] == 5
    # a state that passes its checksums but does not fit the run (hand-edited optimizer) is named
    tree = json.loads((root / "step-00000005" / "state.json").read_text())
    tree["optimizer"]["param_groups"] = []
    _rewrite_with_manifest(root / "step-00000005", "state.json", json.dumps(tree).encode())
    with pytest.raises(ckpt.CheckpointError, match=r"step-00000005: does not fit this run \(ValueError"):
        train(cfg.model_copy(update={"resume": True}))


@pytest.mark.parametrize(("field", "value"), [("step", "3"), ("step", -1), ("config", None), ("model", []),
                                              ("sampler", 5), ("pairs_fingerprint", 7), ("history", "x")])
def test_state_with_a_field_of_the_wrong_type_is_named(tmp_path, field, value):
    """A state.json whose checksums were updated by hand still has to look like the trainer's."""
    path = _write(tmp_path, 3)
    tree = json.loads((path / "state.json").read_text())
    tree[field] = value
    _rewrite_with_manifest(path, "state.json", json.dumps(tree).encode())
    with pytest.raises(ckpt.CheckpointError, match=rf"state\.json: (field '{field}'|bad step)"):
        ckpt.load(path)


def test_resume_refuses_other_settings_but_accepts_the_same_precision_spelled_otherwise(
        tmp_path, tiny_model_path, data_dir, monkeypatch):
    """A checkpoint made with precision fp32 (the default before 2026-11-28) resumes under the new
    default ``auto`` only where auto means fp32; where it means bf16 the error says how to resume."""
    from xlir.data.pairs import load_pairs, write_pairs
    from xlir.errors import ConfigError
    from xlir.models import precision
    from xlir.training import TrainConfig, train

    pairs = write_pairs(load_pairs(["mlqa"], data_dir=data_dir, max_groups=30), tmp_path / "p.jsonl")
    cfg = TrainConfig(model=str(tiny_model_path), sources=[str(pairs)], steps=2, batch_size=8, lr=2e-3,
                      checkpoint_every=1, max_length=32, num_threads=1, progress=False,
                      output=tmp_path / "run", precision="fp32")
    train(cfg)
    more = {"resume": True}  # of the finished run: only the settings are checked, no step is left
    with pytest.raises(ConfigError, match=r"other settings \(lr: 0\.002 -> 0\.001\)"):
        train(cfg.model_copy(update={**more, "lr": 1e-3}))
    monkeypatch.setattr(precision, "cpu_bf16_flags", lambda: ("avx512_bf16",))  # auto = bf16 here
    with pytest.raises(ConfigError, match=r"precision: 'fp32' -> 'auto'\) \(the default precision is auto "
                                          r"since 2026-11-28.*--precision fp32"):
        train(cfg.model_copy(update={**more, "precision": "auto"}))
    monkeypatch.setattr(precision, "cpu_bf16_flags", lambda: ())  # auto = fp32 here: the same run
    resumed = train(cfg.model_copy(update={**more, "precision": "auto"}))
    assert resumed.record.resumed_from == [2] and len(resumed.losses) == 2
