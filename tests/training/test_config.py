import re

import pytest

from duguang_ocr.training.config import (
    CONFIG_DIR,
    ConfigError,
    TrainConfig,
    find_config,
    flat_overrides,
    load_config,
    run_length,
    save_config,
)


def test_packaged_configs_load_and_base_lists_the_defaults():
    names = sorted(p.stem for p in CONFIG_DIR.glob("*.yaml"))
    assert names == ["base", "default_model", "finetune_convnextvit", "scratch_convnextvit_small",
                     "tiny_test"]
    for name in names:
        load_config(name)
    assert load_config("base") == TrainConfig()  # base.yaml documents every default
    tiny = load_config("tiny_test")
    assert (tiny.model.init, tiny.model.vocab, tiny.train.max_steps) == (
        "convnextvit_test", "from_data", 40)
    assert tiny.optim.betas == [0.9, 0.999]  # inherited from base.yaml
    assert load_config("scratch_convnextvit_small").model.vocab == "default"
    assert load_config("finetune_convnextvit").model.num_chunks == 3


def test_configs_are_found_by_name_and_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # as after pip install: no configs/ here
    assert find_config("tiny_test") == find_config("configs/tiny_test.yaml") == (
        CONFIG_DIR / "tiny_test.yaml")
    (tmp_path / "tiny_test.yaml").write_text("train: {seed: 7}\n")
    assert find_config("tiny_test.yaml").resolve() == tmp_path / "tiny_test.yaml"  # file wins
    with pytest.raises(FileNotFoundError, match="packaged configs: base"):
        find_config("nope")


def test_overrides_are_yaml_values():
    cfg = load_config("tiny_test", [
        "train.max_epochs=15", "optim.lr=3e-4", "data.train=[a.lmdb, b.lmdb]",
        "data.eval=c.lmdb", "model.vocab=null", "model.arch={drop_rate: 0.2}",
        "train.max_steps=null", "train.device=cuda:1"])
    assert cfg.train.max_epochs == 15 and cfg.optim.lr == pytest.approx(3e-4)
    assert cfg.data.train == ["a.lmdb", "b.lmdb"] and cfg.data.eval == ["c.lmdb"]
    assert cfg.model.vocab is None and cfg.model.arch == {"drop_rate": 0.2}
    assert cfg.train.max_steps is None and cfg.train.device == "cuda:1"
    assert load_config(None, {"optim.warmup_steps": 3}).optim.warmup_steps == 3


@pytest.mark.parametrize("override,message", [
    ("train.max_step=3", "unknown key 'train.max_step' in section 'train'; valid keys: "
                         "batch_size, max_epochs, max_steps"),
    ("trian.seed=1", "unknown key 'trian' in the top level; valid keys: model, data"),
    ("train.batch_size=big", "train.batch_size: expected int, got 'big'"),
    ("train.batch_size=true", "train.batch_size: expected int"),
    ("optim.lr=fast", "optim.lr: expected float"),
    ("data.normalize_width=1", "data.normalize_width: expected bool"),
    ("train.precision=fp8", "train.precision must be one of"),
    ("data.unknown=unk", "data.unknown must be skip or drop_chars"),
    ("data.synth.scene=1.5", "data.synth.scene must lie in [0, 1 - data.synth.plates]"),
    ("optim.body_lr_scale=-0.5", "optim.body_lr_scale must be >= 0"),
    ("train", "not of the form section.key=value"),
])
def test_bad_keys_and_values_name_the_key(override, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_config("tiny_test", [override])


def test_unknown_key_in_a_file(tmp_path):
    (tmp_path / "x.yaml").write_text("base: tiny_test.yaml\noptim:\n  learning_rate: 0.1\n")
    with pytest.raises(ConfigError, match="unknown key 'optim.learning_rate'.*valid keys: lr"):
        load_config(tmp_path / "x.yaml")


def test_base_chains_merge_sections_and_loops_are_errors(tmp_path):
    (tmp_path / "a.yaml").write_text("base: tiny_test.yaml\ntrain:\n  seed: 5\n")
    (tmp_path / "b.yaml").write_text("base: a.yaml\ntrain:\n  batch_size: 2\n")
    cfg = load_config(tmp_path / "b.yaml")
    assert (cfg.train.seed, cfg.train.batch_size, cfg.train.max_steps) == (5, 2, 40)
    assert cfg.model.init == "convnextvit_test"
    (tmp_path / "c.yaml").write_text("base: d.yaml\n")
    (tmp_path / "d.yaml").write_text("base: c.yaml\n")
    with pytest.raises(ConfigError, match="loops"):
        load_config(tmp_path / "c.yaml")


def test_keyword_overrides_map_to_sections():
    assert flat_overrides({"max_epochs": 3, "lr": 0.1, "eval__batch_size": 9}) == {
        "train.max_epochs": 3, "optim.lr": 0.1, "eval.batch_size": 9}
    with pytest.raises(ConfigError, match="ambiguous.*train__batch_size or eval__batch_size"):
        flat_overrides({"batch_size": 4})
    with pytest.raises(ConfigError, match="not a config key"):
        flat_overrides({"epochs": 4})


def test_saved_config_round_trips(tmp_path):
    cfg = load_config("tiny_test", ["data.train=[x.lmdb]", "optim.lr=0.25"])
    save_config(cfg, tmp_path / "config.yaml")
    assert load_config(tmp_path / "config.yaml") == cfg


def test_explicit_max_epochs_beats_the_files_max_steps(caplog):
    """tiny_test says max_steps: 40; README's train(..., max_epochs=15) must train 15 epochs."""
    with caplog.at_level("WARNING", logger="duguang_ocr"):
        cfg = load_config("tiny_test", ["train.max_epochs=15"])
    assert (cfg.train.max_epochs, cfg.train.max_steps) == (15, None)
    assert "train.max_epochs=15 (passed explicitly) wins over" in caplog.text
    both = load_config("tiny_test", ["train.max_epochs=15", "train.max_steps=7"])
    assert (both.train.max_epochs, both.train.max_steps) == (15, 7)
    assert load_config("tiny_test", ["train.max_steps=9"]).train.max_steps == 9


def test_run_length_says_which_limit_wins(caplog):
    t = load_config("tiny_test").train  # max_steps 40, max_epochs at its default
    with caplog.at_level("INFO", logger="duguang_ocr"):
        assert run_length(t, 8) == 40
    assert "40 steps = 5.0 epochs of 8 steps (train.max_steps=40)" in caplog.text
    assert "WARNING" not in caplog.text
    caplog.clear()
    t.max_epochs = 15
    with caplog.at_level("INFO", logger="duguang_ocr"):
        assert run_length(t, 8) == 40
    assert "both set: max_steps wins" in caplog.text
    t.max_steps = None
    assert run_length(t, 8, log=False) == 120


def test_case_insensitive_sets_must_be_training_sets():
    with pytest.raises(ConfigError, match="case_insensitive"):
        load_config("tiny_test", ["data.train=[a.lmdb]", "data.case_insensitive=[b.lmdb]"])
    cfg = load_config("tiny_test", ["data.train=[a.lmdb, x/b.lmdb, c, d/e/]",
                                    "data.case_insensitive=[x/b.lmdb, c, e]"])
    # By path or by name: a data.train that moves the sets keeps the names valid.
    assert cfg.data.case_insensitive_parts() == [1, 2, 3]
