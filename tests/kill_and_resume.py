"""The child process of the kill-and-resume tests: train, and SIGKILL itself right after step N.

Shared by the fine-tuning and pre-training resume tests (tests/test_train_trainer.py,
tests/test_pretrain_objectives.py): argv[1] is the TrainConfig as JSON, argv[2] the step to die after.
"""

import textwrap

KILL_SCRIPT = textwrap.dedent("""
    import json, os, signal, sys
    from xlir.training import TrainConfig, train
    cfg = TrainConfig(**json.loads(sys.argv[1]))
    def kill(info):
        if info.step == int(sys.argv[2]):
            os.kill(os.getpid(), signal.SIGKILL)
    train(cfg, on_step=kill)
""")
