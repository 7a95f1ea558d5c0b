import json
import logging
import math

import pytest
import torch

from duguang_ocr.data.lmdb import write_lmdb
from duguang_ocr.models import create_model
from duguang_ocr.recognizer import Recognizer
from duguang_ocr.training import ConfigError, Trainer, load_config, train
from duguang_ocr.training.params import freeze_body, param_groups
from tests.training.conftest import png


def records(work_dir, kind):
    lines = (work_dir / "metrics.jsonl").read_text(encoding="utf-8").splitlines()
    return [r for r in map(json.loads, lines) if r["kind"] == kind]


def config(data, *overrides):
    return load_config("tiny_test", [f"data.train=[{data['train']}]",
                                     f"data.eval=[{data['eval']}]", *overrides])


def test_train_tiny_model_end_to_end(tiny_lmdb, tmp_path):
    work = tmp_path / "run"
    result = train("convnextvit_test", tiny_lmdb["train"], tiny_lmdb["eval"], work,
                   config="tiny_test", max_steps=60)
    assert result["step"] == 60 and 0.0 <= result["best"] <= 1.0
    assert set(result["eval"]["eval.lmdb"]) == {"lines", "line_acc", "char_acc", "ned"}
    train_recs = records(work, "train")
    assert [r["step"] for r in train_recs] == list(range(5, 61, 5))
    assert train_recs[-1]["loss"] < 0.3 * train_recs[0]["loss"]  # the loss falls
    assert all(0.0 <= r["data_wait"] <= 1.0 for r in train_recs)
    evals = records(work, "eval")
    assert [r["step"] for r in evals] == [20, 40, 60]  # every 20 steps, not at epoch ends
    assert evals[-1]["eval"]["eval.lmdb"]["lines"] == 24
    errors = (work / "errors.tsv").read_text(encoding="utf-8").splitlines()
    assert errors[0].startswith("data\titem") and len(errors) <= 21
    assert load_config(work / "config.yaml").train.max_steps == 60
    for name in ("best", "last"):
        rec = Recognizer.from_pretrained(work / name, device="cpu")
        assert rec.spec.img_width == 300 and rec.vocab.symbols[0] == " "
        assert rec.spec.preprocess == "keep_ratio" and rec.mode == "default"
        assert isinstance(rec(png("hello")), str)
    spec = json.loads((work / "last" / "configuration.json").read_text())
    assert spec["model"]["duguang_ocr"]["trained_steps"] == 60
    assert sorted(p.name for p in work.iterdir()) == [
        "best", "config.yaml", "errors.tsv", "last", "metrics.jsonl", "train_state.pt"]


def test_resume_continues_exactly(tiny_lmdb, tmp_path):
    """N steps straight == N/2, stop, resume N/2: same steps, same weights. With dropout,
    augmentation, a worker process and gradient accumulation in play."""
    cfg = config(tiny_lmdb, "train.max_steps=16", "optim.accumulate=2", "data.augment=0.5",
                 "data.num_workers=1", "model.arch={drop_rate: 0.1, drop_path_rate: 0.1}",
                 "train.save_every=4", "eval.every_steps=0")
    straight = Trainer(cfg, tmp_path / "a")
    straight.fit()
    Trainer(cfg, tmp_path / "b").fit(stop_at=7)  # mid-epoch (6 steps per epoch)
    resumed = Trainer(cfg, tmp_path / "b", resume=True)
    assert (resumed.step, resumed.epoch, resumed.batch_in_epoch) == (7, 1, 2)
    out = resumed.fit()
    assert out["step"] == straight.step == 16
    a, b = straight.model.state_dict(), resumed.model.state_dict()
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=0, atol=1e-6)
    assert [r["step"] for r in records(tmp_path / "b", "train")] == [5, 10, 15, 16]
    again = Trainer(cfg, tmp_path / "b", resume=True)  # a finished run has nothing to do
    assert again.fit()["step"] == 16


def test_bad_samples_and_unknown_symbols_are_dropped_and_counted(tmp_path):
    items = [(png("hello"), "hello"), (b"not an image", "red"), (png("ｈｅｌｌｏ"), "ｈｅｌｌｏ"),
             (png("red"), "red"), (png("zz"), "zz")]
    write_lmdb(items * 4, tmp_path / "t.lmdb")
    (tmp_path / "vocab.txt").write_text("h\ne\nl\no\nr\nd\n", encoding="utf-8")
    cfg = load_config("tiny_test", [f"data.train=[{tmp_path / 't.lmdb'}]",
                                    f"model.vocab={tmp_path / 'vocab.txt'}",
                                    "train.max_steps=3", "train.log_every=1"])
    assert Trainer(cfg, tmp_path / "w").fit() == {"step": 3, "best": None, "eval": {}}
    dropped = records(tmp_path / "w", "train")[-1]["dropped"]
    # 20 samples read once each (3 batches of 8 cover the epoch's 20).
    assert dropped == {"bad": 4, "unknown_skipped": 4, "unknown_chars_dropped": 0,
                       "too_long": 0}
    # data.echo=2 steps twice on each batch: the same 3 batches, counted once.
    echoed = Trainer(load_config("tiny_test", [f"data.train=[{tmp_path / 't.lmdb'}]",
                                               f"model.vocab={tmp_path / 'vocab.txt'}",
                                               "train.max_steps=6", "train.log_every=1",
                                               "data.echo=2"]), tmp_path / "e")
    assert echoed.fit()["step"] == 6
    assert records(tmp_path / "e", "train")[-1]["dropped"] == dropped


def test_fine_tune_a_trained_run_with_a_bigger_vocab(tiny_lmdb, tmp_path):
    train("convnextvit_test", tiny_lmdb["train"], tiny_lmdb["eval"], tmp_path / "base",
          config="tiny_test", max_steps=6)
    vocab = Recognizer.from_pretrained(tmp_path / "base" / "best", device="cpu").vocab
    (tmp_path / "v.txt").write_text("\n".join(vocab.symbols + ["新"]) + "\n", encoding="utf-8")
    out = train(tmp_path / "base" / "best", tiny_lmdb["train"], tiny_lmdb["eval"],
                tmp_path / "ft", config="tiny_test", vocab=str(tmp_path / "v.txt"), max_steps=4)
    assert out["step"] == 4
    rec = Recognizer.from_pretrained(tmp_path / "ft" / "best", device="cpu")
    assert rec.vocab.symbols == vocab.symbols + ["新"]


def test_run_level_errors(tiny_lmdb, tmp_path):
    with pytest.raises(ConfigError, match="data.train is empty"):
        Trainer(load_config("tiny_test"), tmp_path)
    with pytest.raises(ConfigError, match="fp16 needs CUDA"):
        Trainer(config(tiny_lmdb, "train.precision=fp16"), tmp_path)
    with pytest.raises(ConfigError, match="ambiguous"):
        train("convnextvit_test", tiny_lmdb["train"], work_dir=tmp_path, batch_size=4)


def test_bf16_autocast_on_cpu(tiny_lmdb, tmp_path):
    out = Trainer(config(tiny_lmdb, "train.precision=bf16", "train.max_steps=2"),
                  tmp_path).fit()
    assert out["step"] == 2 and records(tmp_path, "eval")


def test_channels_last_trains_the_same_model_and_saves_plain_weights(tiny_lmdb, tmp_path):
    cfg = ["train.max_steps=6", "eval.every_steps=0", "train.save_every=3"]
    plain = Trainer(config(tiny_lmdb, *cfg), tmp_path / "a")
    plain.fit()
    nhwc = Trainer(config(tiny_lmdb, *cfg, "train.channels_last=true"), tmp_path / "b")
    convs = [m.weight for m in nhwc.model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert convs and all(w.is_contiguous(memory_format=torch.channels_last) for w in convs)
    nhwc.fit()
    # Same arithmetic in another memory order: the losses agree to rounding (Adam's steps
    # amplify rounding in the weights, so those are compared through what they read).
    loss = lambda work: [r["loss"] for r in records(work, "train")]  # noqa: E731
    assert loss(tmp_path / "a") and loss(tmp_path / "a") == pytest.approx(loss(tmp_path / "b"),
                                                                         rel=1e-3)
    rec = Recognizer.from_pretrained(tmp_path / "b" / "last", device="cpu")
    assert rec(png("hello")) == Recognizer.from_pretrained(tmp_path / "a" / "last",
                                                           device="cpu")(png("hello"))
    resumed = Trainer(config(tiny_lmdb, "train.max_steps=8", "eval.every_steps=0",
                             "train.channels_last=true"), tmp_path / "b", resume=True)
    assert resumed.fit()["step"] == 8


def test_row_padding_trains_the_same_model(tiny_lmdb, tmp_path):
    """train.row_multiple (GPU runs: few cuDNN plans) pads each step's chunks with blank rows
    and drops their outputs: the same losses as without; refused for a batch-norm model,
    whose batch statistics would count the blank rows."""
    cfg = ["train.max_steps=6", "eval.every_steps=0"]
    Trainer(config(tiny_lmdb, *cfg), tmp_path / "a").fit()
    padded = Trainer(config(tiny_lmdb, *cfg, "train.row_multiple=16"), tmp_path / "b")
    rows = []
    padded.model.register_forward_pre_hook(  # training steps, not the final evaluation
        lambda m, args: rows.append(len(args[0])) if m.training else None)
    padded.fit()
    assert rows and all(n % 16 == 0 for n in rows)
    loss = lambda work: [r["loss"] for r in records(work, "train")]  # noqa: E731
    assert loss(tmp_path / "a") and loss(tmp_path / "a") == pytest.approx(loss(tmp_path / "b"),
                                                                         rel=1e-4)
    with pytest.raises(ConfigError, match="batch norm"):
        Trainer(config(tiny_lmdb, *cfg, "model.init=crnn_lite", "train.row_multiple=16"),
                tmp_path / "c")


def wide_lines_lmdb(path, n, seed):
    """Lines of 3-6 words: most are wider than one 300-px chunk."""
    import random

    from tests.training.conftest import WORDS

    rng = random.Random(seed)
    texts = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 6))) for _ in range(n)]
    write_lmdb(((png(t), t) for t in texts), path)
    return path


def test_logged_eval_equals_duguang_ocr_eval_on_wide_lines(tmp_path, capsys):
    """The regression of issue 10: a run's logged accuracy is what `duguang-ocr eval` prints
    for WORK/best (torch and ONNX), also for lines wider than one chunk, because both run the
    recognizer's own code path."""
    from duguang_ocr.cli import main
    from duguang_ocr.evaluate import evaluate

    data = {"train": wide_lines_lmdb(tmp_path / "train.lmdb", 64, 0),
            "eval": wide_lines_lmdb(tmp_path / "eval.lmdb", 16, 1)}
    cfg = config(data, "train.max_steps=40", "eval.every_steps=20")
    work = tmp_path / "run"
    Trainer(cfg, work).fit()
    best_rec = max(records(work, "eval"), key=lambda r: r["score"])
    best = best_rec["eval"]["eval.lmdb"]
    assert main(["eval", "--model", str(work / "best"), "--data", str(data["eval"]),
                 "--json", "--errors-file", str(tmp_path / "cli_errors.tsv")]) == 0
    printed = json.loads(capsys.readouterr().out)[0]
    assert [printed[k] for k in ("line_acc", "char_acc", "ned")] == [
        round(best[k], 4) for k in ("line_acc", "char_acc", "ned")]
    # Line by line: the last eval's worst predictions (the best model's when it was the last
    # eval) are the CLI's predictions for the same items.
    if best_rec["step"] == records(work, "eval")[-1]["step"]:
        def preds(path, item_col, pred_col):
            rows = [r.split("\t") for r in path.read_text(encoding="utf-8").splitlines()[1:]]
            return {r[item_col]: r[pred_col] for r in rows}

        logged = preds(work / "errors.tsv", 1, 4)
        cli = preds(tmp_path / "cli_errors.tsv", 1, 3)
        assert logged and all(cli[item] == pred for item, pred in logged.items())
    onnx = Recognizer.from_pretrained(work / "best", device="cpu", backend="onnxruntime")
    report = evaluate(onnx, data["eval"])
    assert (report.line_acc, report.char_acc, report.ned) == pytest.approx(
        (best["line_acc"], best["char_acc"], best["ned"]), abs=1e-9)


def test_time_limit_ends_the_run_annealed(tiny_lmdb, tmp_path, monkeypatch):
    """train.time_limit: the cosine follows the clock and the run ends (saved, evaluated) when
    the budget is used, long before max_steps."""
    import duguang_ocr.training.trainer as trainer_mod

    clock = {"t": 0.0}
    monkeypatch.setattr(trainer_mod.time, "monotonic", lambda: clock["t"])
    cfg = config(tiny_lmdb, "train.max_steps=1000", "train.time_limit=1.0",
                 "optim.warmup_steps=2", "eval.every_steps=0")
    t = Trainer(cfg, tmp_path / "run")
    step = t._optimizer_step

    def timed_step():  # every optimizer step takes 6 "seconds": 10 steps fill the minute
        clock["t"] += 6.0
        return step()

    t._optimizer_step = timed_step
    out = t.fit()
    assert out["step"] == 10 and t.total_steps == 10
    lrs = [r["lr"] for r in records(tmp_path / "run", "train")]
    assert lrs[-1] == pytest.approx(cfg.optim.lr * cfg.optim.min_lr_ratio, rel=0.05)
    assert [r["step"] for r in records(tmp_path / "run", "eval")] == [10]
    state = torch.load(tmp_path / "run" / "train_state.pt", weights_only=True)
    assert state["step"] == 10 and state["elapsed"] == pytest.approx(60.0)


def test_data_check_at_the_start_logs_what_each_epoch_drops(tmp_path, caplog):
    items = [(png("hello"), "hello"), (b"not an image", "red"), (png("zz"), "zz")]
    write_lmdb(items * 4, tmp_path / "t.lmdb")
    (tmp_path / "vocab.txt").write_text("h\ne\nl\no\nr\nd\n", encoding="utf-8")
    sets = [f"data.train=[{tmp_path / 't.lmdb'}]", f"model.vocab={tmp_path / 'vocab.txt'}"]
    with caplog.at_level("INFO", logger="duguang_ocr"):
        Trainer(load_config("tiny_test", sets), tmp_path / "w").close()
    assert ("data check: will train on 4 of 12 lines; dropped every epoch: 8 (bad 4, "
            "unknown_skipped 4)") in caplog.text
    assert "8 of 12 training lines will be dropped every epoch" in caplog.text
    caplog.clear()
    with caplog.at_level("INFO", logger="duguang_ocr"):
        Trainer(load_config("tiny_test", [*sets, "data.check=false"]), tmp_path / "w").close()
    assert "data check" not in caplog.text
    (tmp_path / "vocab.txt").write_text("x\n", encoding="utf-8")
    with pytest.raises(ValueError, match="no training line survives the data check"):
        Trainer(load_config("tiny_test", sets), tmp_path / "w")


def test_train_max_epochs_beats_tiny_tests_max_steps(tiny_lmdb, tmp_path):
    out = train("convnextvit_test", tiny_lmdb["train"], None, tmp_path, config="tiny_test",
                max_epochs=1)
    assert out["step"] == 12  # one epoch of 96 lines in batches of 8, not tiny_test's 40


def test_train_logs_to_the_console_unless_logging_is_configured(monkeypatch, capsys):
    from duguang_ocr.training import _console_log

    monkeypatch.setattr(logging.getLogger(), "handlers", [])
    log = logging.getLogger("duguang_ocr.training.trainer")
    with _console_log(True):
        log.info("visible")
    with _console_log(False):
        log.info("hidden")
    monkeypatch.setattr(logging.getLogger(), "handlers", [logging.NullHandler()])
    with _console_log(True):
        log.info("the application's business")
    err = capsys.readouterr().err
    assert "INFO visible" in err and "hidden" not in err and "business" not in err
    assert not logging.getLogger("duguang_ocr").handlers


def test_fine_tune_with_replay_scores_the_eval_sets_before_and_after(tiny_lmdb, tmp_path,
                                                                      caplog):
    train("convnextvit_test", tiny_lmdb["train"], None, tmp_path / "base", config="tiny_test",
          max_steps=2)
    base = Recognizer.from_pretrained(tmp_path / "base" / "last", device="cpu").vocab
    (tmp_path / "v.txt").write_text("\n".join(base.symbols + ["新"]) + "\n", encoding="utf-8")
    cfg = config(tiny_lmdb, f"model.init={tmp_path / 'base' / 'last'}",
                 f"model.vocab={tmp_path / 'v.txt'}", "data.replay=0.25", "eval.at_start=true",
                 "train.max_steps=2", "eval.every_steps=0", "eval.max_samples=4")
    trainer = Trainer(cfg, tmp_path / "ft")
    replay = trainer.train_parts[-1]
    assert len(replay) == 32 and replay.symbols == base.symbols  # 96 lines + 25 %
    with caplog.at_level("INFO", logger="duguang_ocr"):
        out = trainer.fit()
    evals = records(tmp_path / "ft", "eval")
    assert evals[0]["step"] == 0 and evals[0]["at_start"] and evals[0]["best"] is None
    assert out["eval_at_start"] == evals[0]["eval"] and out["best"] == evals[-1]["best"]
    assert "char acc" in caplog.text and "before training ->" in caplog.text
    with pytest.raises(ConfigError, match="fresh variant"):
        Trainer(config(tiny_lmdb, "data.replay=0.3"), tmp_path / "bad")


def test_body_lr_scale_puts_only_the_ctc_head_at_full_lr():
    model = create_model("convnextvit_test", num_classes=7)
    head = {id(p) for n, p in model.named_parameters() if n.startswith(model.config.head_prefix)}
    assert head  # the head prefix names real parameters
    groups = param_groups(model, 0.05, 1e-3, body_lr_scale=0.1)
    for g in groups:
        in_head = {id(p) in head for p in g["params"]}
        assert len(in_head) == 1  # no group mixes head and body
        assert g["lr"] == (1e-3 if in_head.pop() else 1e-4)
        assert g["weight_decay"] == (0.05 if g["params"][0].ndim >= 2 else 0.0)
    assert sum(len(g["params"]) for g in groups) == len(list(model.parameters()))
    assert len(param_groups(model, 0.05, 1e-3)) == 2  # unscaled: the plain two groups
    with pytest.raises(ConfigError, match="body_lr_scale"):
        Trainer(load_config("tiny_test", ["data.train=[x.lmdb]", "optim.body_lr_scale=-1"]),
                "unused")


def test_body_lr_scale_zero_trains_the_head_only(tiny_lmdb, tmp_path):
    first = tmp_path / "first"
    train("convnextvit_test", tiny_lmdb["train"], tiny_lmdb["eval"], first, config="tiny_test",
          max_steps=4)
    before = Recognizer.from_pretrained(first / "last", device="cpu").model.state_dict()
    out = tmp_path / "head"
    train(str(first / "last"), tiny_lmdb["train"], tiny_lmdb["eval"], out, config="tiny_test",
          max_steps=4, body_lr_scale=0.0)
    model = Recognizer.from_pretrained(out / "last", device="cpu").model
    head = model.config.head_prefix
    changed = {k for k, v in model.state_dict().items() if not torch.equal(v, before[k])}
    assert changed and all(k.startswith(head) for k in changed)
    assert freeze_body(model) == sum(1 for n, _ in model.named_parameters()
                                     if not n.startswith(head))


def test_head_rows_new_keeps_every_trained_row_exactly(tiny_lmdb, tmp_path):
    """Growing the vocabulary with optim.head_rows=new: the rows of symbols the base model
    had stay bit-equal (no gradient, no weight decay); only the new rows learn."""
    first = tmp_path / "first"
    train("convnextvit_test", tiny_lmdb["train"], tiny_lmdb["eval"], first, config="tiny_test",
          max_steps=4)
    base = Recognizer.from_pretrained(first / "last", device="cpu")
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("".join(c + "\n" for c in [*base.vocab.symbols, "Q", "Z"]), encoding="utf-8")
    out = tmp_path / "grown"
    train(str(first / "last"), tiny_lmdb["train"], tiny_lmdb["eval"], out, config="tiny_test",
          max_steps=4, vocab=str(vocab), body_lr_scale=0.0, head_rows="new", replay=0.3)
    grown = Recognizer.from_pretrained(out / "last", device="cpu")
    prefix = grown.model.config.head_prefix
    old_state, new_state = base.model.state_dict(), grown.model.state_dict()
    new_rows = [grown.vocab.char_id(c) for c in "QZ"]
    old_rows = [i for i in range(grown.vocab.num_classes) if i not in new_rows]
    for key in (prefix + "weight", prefix + "bias"):
        if key in new_state:
            assert torch.equal(new_state[key][old_rows], old_state[key]), key
            assert not torch.equal(new_state[key][new_rows],
                                   new_state[key][old_rows].mean(0).expand_as(
                                       new_state[key][new_rows])), key
    with pytest.raises(ConfigError, match="head_rows=new"):
        Trainer(config(tiny_lmdb, "optim.head_rows=new"), tmp_path / "fresh")


def test_data_echo_steps_twice_per_batch_and_resumes_between_echoes(tiny_lmdb, tmp_path):
    """data.echo=2: an epoch holds twice the steps, each batch's drop counts are counted
    once, and a run stopped between a batch's two steps resumes exactly there."""
    cfg = config(tiny_lmdb, "data.echo=2", "train.max_epochs=2", "train.max_steps=null",
                 "data.augment=0.5", "model.arch={drop_rate: 0.1}", "train.save_every=3",
                 "eval.every_steps=0")
    straight = Trainer(cfg, tmp_path / "a")
    once = Trainer(config(tiny_lmdb, "train.max_epochs=2", "train.max_steps=null"),
                   tmp_path / "once")
    assert straight.total_steps == 2 * once.total_steps  # 2 epochs, each batch twice
    once.close()
    straight.fit()
    Trainer(cfg, tmp_path / "b").fit(stop_at=5)  # after the first of a batch's two steps
    resumed = Trainer(cfg, tmp_path / "b", resume=True)
    assert (resumed.step, resumed.echo_done) == (5, 1)
    resumed.fit()
    assert resumed.step == straight.step == straight.total_steps
    a, b = straight.model.state_dict(), resumed.model.state_dict()
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=0, atol=1e-6)


def test_lines_seen_counts_each_loaded_line_once_and_carries_over_runs(tiny_lmdb, tmp_path):
    """The model's own record of the lines behind it: echoed batches count once, a resumed
    run neither loses nor recounts, and a run from model.init adds to that model's count."""
    from duguang_ocr.hub.modelscope import read_spec

    cfg = config(tiny_lmdb, "data.echo=2", "train.max_epochs=2", "train.max_steps=null",
                 "train.save_every=3", "eval.every_steps=0")
    Trainer(cfg, tmp_path / "a").fit(stop_at=5)  # mid-echo, mid-epoch
    resumed = Trainer(cfg, tmp_path / "a", resume=True)
    resumed.fit()
    assert resumed.lines_seen == 2 * 96  # two epochs of the 96-line set
    assert read_spec(tmp_path / "a" / "last").lines_seen == 2 * 96
    more = Trainer(config(tiny_lmdb, f"model.init={tmp_path / 'a' / 'last'}",
                          "train.max_steps=3", "train.batch_size=8", "eval.every_steps=0"),
                   tmp_path / "b")
    more.fit()
    assert read_spec(tmp_path / "b" / "last").lines_seen == 2 * 96 + 3 * 8


def test_case_insensitive_training_sets_are_scored_with_folded_case(tiny_lmdb, tmp_path):
    import string

    vocab = tmp_path / "vocab.txt"
    vocab.write_text("".join(c + "\n" for c in " " + string.ascii_letters), encoding="utf-8")
    cfg = config(tiny_lmdb, f"data.case_insensitive=[{tiny_lmdb['train']}]", f"model.vocab={vocab}",
                 "train.max_steps=2", "eval.every_steps=0", "train.log_every=1")
    trainer = Trainer(cfg, tmp_path / "ci")
    assert trainer.train_set.fold_case == {0}
    assert trainer.case_pairs.shape == (26, 2)
    batch = trainer.collate([trainer.train_set[(i, None)] for i in range(4)])
    assert batch["fold_case"].all()
    trainer.fit()
    assert all(math.isfinite(r["loss"]) for r in records(tmp_path / "ci", "train"))


def test_softmax_over_class_subsets_trains_resumes_exactly_and_saves_the_whole_head(
        tiny_lmdb, tmp_path):
    cfg = config(tiny_lmdb, "train.max_steps=8", "train.softmax_top=1",
                 "train.softmax_random=3", "train.save_every=4", "eval.every_steps=0")
    straight = Trainer(cfg, tmp_path / "a")
    head = straight.subset_head
    assert head is not None and straight.model.vitstr.head is head
    full_keys = list(create_model("convnextvit_test",
                                  num_classes=straight.vocab.num_classes).state_dict())
    assert list(straight.model.state_dict()) == full_keys
    first = {k: v.clone() for k, v in straight.model.state_dict().items()}
    straight.fit()
    assert not torch.equal(first["vitstr.head.weight"], straight.model.vitstr.head.weight)
    Trainer(cfg, tmp_path / "b").fit(stop_at=3)
    resumed = Trainer(cfg, tmp_path / "b", resume=True)
    resumed.fit()
    a, b = straight.model.state_dict(), resumed.model.state_dict()
    for k in a:  # the same classes drawn after the resume as before
        torch.testing.assert_close(a[k], b[k], rtol=0, atol=1e-6)
    rec = Recognizer.from_pretrained(tmp_path / "a" / "last", device="cpu")
    logits = rec.forward_logits([png("hello")])[0]
    assert logits.shape[-1] == straight.vocab.num_classes  # inference: every class


def test_keep_every_keeps_each_nth_steps_weights_as_a_model_dir(tiny_lmdb, tmp_path):
    from duguang_ocr.hub.modelscope import read_spec

    cfg = config(tiny_lmdb, "train.max_steps=9", "train.save_every=2", "train.keep_every=4",
                 "eval.every_steps=0")
    work = tmp_path / "run"
    trainer = Trainer(cfg, work)
    trainer.fit(stop_at=5)
    stale = work / "steps" / "step_0000008.tmp-1"  # a kept step killed mid-write
    stale.mkdir()
    trainer = Trainer(cfg, work, resume=True)
    assert not stale.exists()
    trainer.fit()
    kept = sorted(p.name for p in (work / "steps").iterdir())
    assert kept == ["step_0000004", "step_0000008"]
    spec = json.loads((work / "steps" / "step_0000008" / "configuration.json").read_text())
    assert spec["model"]["duguang_ocr"]["trained_steps"] == 8
    assert read_spec(work / "steps" / "step_0000008").lines_seen == 8 * 8
    rec = Recognizer.from_pretrained(work / "steps" / "step_0000004", device="cpu")
    assert isinstance(rec(png("hello")), str)
    # Step 8's weights, not the final step 9's: the kept dir is a snapshot.
    last = Recognizer.from_pretrained(work / "last", device="cpu").model.state_dict()
    step8 = Recognizer.from_pretrained(work / "steps" / "step_0000008",
                                       device="cpu").model.state_dict()
    assert any(not torch.equal(last[k], step8[k]) for k in last)
    with pytest.raises(ConfigError, match="keep_every"):
        config(tiny_lmdb, "train.keep_every=-1")


def test_a_set_listed_twice_is_read_twice_per_epoch(tiny_lmdb, tmp_path):
    """Oversampling without a weights syntax: the default model's continuation lists the
    885 real plates three times. Each listing is its own part, with the same lines, and a
    case-insensitive entry names them all."""
    twice = Trainer(load_config("tiny_test", [
        f"data.train=[{tiny_lmdb['train']},{tiny_lmdb['train']}]", "data.eval=[]",
        "data.case_insensitive=[train]"]), tmp_path / "run")
    n = len(twice.train_parts[0])  # tiny_test renders no synthetic lines
    assert len(twice.train_parts) == 2 and len(twice.train_set) == 2 * n
    assert twice.cfg.data.case_insensitive_parts() == [0, 1]
    first, second = twice.train_set[(0, 0)], twice.train_set[(n, 0)]
    assert first[1] == second[1] and (first[0] == second[0]).all()
