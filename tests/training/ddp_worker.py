"""Run by test_ddp.py under torchrun: train, then save this rank's weights for comparison."""

import sys

import torch

from duguang_ocr.training import Trainer, distributed, load_config

work, out, *overrides = sys.argv[1:]
trainer = Trainer(load_config("tiny_test", overrides), work)
result = trainer.fit()
torch.save({"result": result, "state": trainer.model.state_dict(),
            "world": trainer.info.world_size}, f"{out}/rank{trainer.info.rank}.pt")
distributed.teardown()
