"""CPU training runs transformers' eager attention (xlir.models.attention): the same function as
sdpa, recorded in the training record, and the saved model goes back to the kernel it came with."""

from __future__ import annotations

import json

import numpy as np

TEXTS = ["Wo steht der Eiffelturm?", "The Eiffel Tower is in Paris, on the Champ de Mars.",
         "埃菲尔铁塔在哪里？"]


def test_eager_and_sdpa_attention_compute_the_same_vectors(tiny_model_path):
    from xlir.models import load_model
    from xlir.models.attention import attention_implementations, restore_attention, set_attention

    model = load_model(str(tiny_model_path))
    assert attention_implementations(model) == ["sdpa"]
    sdpa = model.encode(TEXTS, convert_to_numpy=True)
    before = set_attention(model, "eager")
    assert before == ["sdpa"] and attention_implementations(model) == ["eager"]
    eager = model.encode(TEXTS, convert_to_numpy=True)
    np.testing.assert_allclose(eager, sdpa, atol=1e-5)
    restore_attention(model, before)
    assert attention_implementations(model) == ["sdpa"]


def test_cpu_training_runs_eager_attention_and_saves_the_loaded_kernel(tiny_model_path, tmp_path,
                                                                       monkeypatch):
    from transformers.models.bert import modeling_bert  # the tiny model's architecture

    from xlir.models import load_model
    from xlir.models.attention import attention_implementations
    from xlir.training import TrainConfig, train
    from xlir.training.record import TrainingRecord

    calls = []
    eager = modeling_bert.eager_attention_forward

    def counting(*args, **kwargs):
        calls.append(1)
        return eager(*args, **kwargs)

    monkeypatch.setattr(modeling_bert, "eager_attention_forward", counting)
    out = train(TrainConfig(model=str(tiny_model_path), sources=["mlqa"], steps=2, batch_size=4,
                            max_length=16, max_groups=20, progress=False, output=tmp_path / "m")).model_dir
    assert calls, "training did not run eager attention"
    assert TrainingRecord.read(out).attention == ["eager"]
    config = json.loads((out / "config.json").read_text())
    assert {config.get("_attn_implementation"), config.get("attn_implementation")} <= {None, "sdpa"}
    assert attention_implementations(load_model(str(out))) == ["sdpa"]
