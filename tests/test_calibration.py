"""Calibrated confidence: the fits, ECE, storage in configuration.json, use by the
recognizer, and what `duguang-ocr eval` / `calibrate` print."""

import json
import math
import shutil

import numpy as np
import pytest

from duguang_ocr import Recognizer
from duguang_ocr.calibration import (
    Calibration,
    LineFeatures,
    accuracy_above,
    expected_calibration_error,
    fit_calibration,
    fit_isotonic,
    fit_logistic,
    read_calibration,
    reliability_bins,
    save_calibration,
)
from duguang_ocr.cli import main


def test_ece_and_accuracy_above_by_hand():
    conf = [0.05, 0.15, 0.95, 0.95, 0.95, 0.95]
    hits = [False, True, True, True, True, False]
    # bins: [0, .1): conf .05 acc 0; [.1, .2): .15 vs 1; [.9, 1]: .95 vs .75
    assert expected_calibration_error(conf, hits) == pytest.approx(
        (1 * 0.05 + 1 * 0.85 + 4 * 0.2) / 6)
    assert [b[2] for b in reliability_bins(conf, hits)] == [1, 1, 4]
    assert accuracy_above(conf, hits, 0.9) == (0.75, pytest.approx(4 / 6))
    acc, cov = accuracy_above(conf, hits, 0.99)
    assert math.isnan(acc) and cov == 0.0
    assert expected_calibration_error([1.0], [True]) == 0.0  # conf 1.0 lands in the top bin


def _features(raw):
    return [LineFeatures(math.log(max(r, 1e-12)), -0.1) for r in raw]


def test_isotonic_fit_is_monotone_and_pools_violators():
    cal = fit_isotonic(_features([0.1, 0.2, 0.3, 0.4]), [False, True, False, True])
    assert cal.values == pytest.approx((0.0, 0.5, 1.0))  # 0.2 and 0.3 pooled
    assert cal.knots == pytest.approx((0.1, 0.25, 0.4))
    assert cal(LineFeatures(math.log(0.25), 0.0)) == pytest.approx(0.5)
    assert cal(LineFeatures(math.log(0.05), 0.0)) == 0.0  # flat outside the knots


def test_logistic_fit_recovers_a_known_map_and_calibrates():
    rng = np.random.default_rng(0)
    n = 4000
    log_raw = np.log(rng.uniform(0.01, 1, n))
    log_peak = rng.uniform(-0.5, 0, n)
    p = 1 / (1 + np.exp(-(0.8 * log_raw + 6 * log_peak + 1.5)))
    y = rng.random(n) < p
    feats = [LineFeatures(a, b) for a, b in zip(log_raw, log_peak)]
    cal = fit_logistic(feats, y)
    assert cal.weights == pytest.approx((0.8, 6, 1.5), rel=0.2)
    conf = [cal(f) for f in feats]
    assert expected_calibration_error(conf, y) < 0.03
    assert expected_calibration_error([f.raw for f in feats], y) > 0.1


def test_calibration_round_trips_and_bad_maps_are_refused(tmp_path):
    for cal in (Calibration("logistic", weights=(0.5, 10.0, 1.0), lines=3),
                Calibration("isotonic", knots=(0.1, 0.5), values=(0.0, 0.7), lines=9)):
        assert Calibration.from_dict(json.loads(json.dumps(cal.to_dict()))) == cal
    for bad in ({"method": "temperature"}, {"method": "isotonic", "knots": [0.5, 0.1],
                                            "values": [0, 1]},
                {"method": "logistic", "weights": [1, 2]}):
        with pytest.raises(ValueError):
            Calibration.from_dict(bad)
    (tmp_path / "configuration.json").write_text('{"model": {"recognizer": "CRNN"}}')
    with pytest.raises(ValueError):
        save_calibration(tmp_path, {"method": "nope"})
    save_calibration(tmp_path, Calibration("logistic", weights=(1.0, 0.0, 0.0)).to_dict())
    config = json.loads((tmp_path / "configuration.json").read_text())
    assert config["model"]["recognizer"] == "CRNN"  # the rest is kept
    assert read_calibration(config).weights == (1.0, 0.0, 0.0)
    assert read_calibration({"model": {}}) is None


@pytest.fixture()
def labelled(tmp_path, line_images):
    d = tmp_path / "set"
    d.mkdir()
    rows = []
    for name in ("short", "gray", "rgba"):
        shutil.copy(line_images[name], d / f"{name}.png")
        rows.append(f"{name}.png\t{name}")
    (d / "labels.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return d


def test_fit_calibration_store_and_use(tiny_model_dir, labelled, tmp_path):
    model = tmp_path / "model"
    shutil.copytree(tiny_model_dir, model)
    rec = Recognizer.from_pretrained(model, device="cpu", num_workers=0)
    assert rec.calibration is None
    raw = rec.recognize(sorted(labelled.glob("*.png")))
    d = fit_calibration(rec, labelled)
    assert d["method"] == "logistic" and d["lines"] == 3 and rec.calibration is None
    assert {"line_acc", "ece_before", "ece_after"} <= set(d)
    # A map that halves the log score's weight: confidence = sqrt(raw).
    save_calibration(model, Calibration("logistic", weights=(0.5, 0.0, 0.0)).to_dict())
    calibrated = Recognizer.from_pretrained(model, device="cpu", num_workers=0)
    assert calibrated.calibration is not None
    for r, c in zip(raw, calibrated.recognize(sorted(labelled.glob("*.png")))):
        assert c.text == r.text
        assert c.confidence == pytest.approx(1 / (1 + 1 / math.sqrt(r.confidence)), rel=1e-4)


def test_cli_eval_prints_ece_and_threshold_accuracy(tiny_model_dir, labelled, tmp_path, capsys):
    assert main(["eval", "--model", str(tiny_model_dir), "--data", str(labelled)]) == 0
    out = capsys.readouterr().out
    assert "ECE" in out and "acc at conf >= 90%" in out and "acc at conf >= 99%" in out
    assert main(["eval", "--model", str(tiny_model_dir), "--data", str(labelled),
                 "--json"]) == 0
    row = json.loads(capsys.readouterr().out)[0]
    assert {"ece", "acc_at_0.9", "coverage_at_0.9", "acc_at_0.99"} <= set(row)
    model = tmp_path / "m"
    shutil.copytree(tiny_model_dir, model)
    assert main(["calibrate", "--model", str(model), "--data", str(labelled), "--write"]) == 0
    assert "wrote the calibration" in capsys.readouterr().err  # stdout: the JSON only
    config = json.loads((model / "configuration.json").read_text())
    assert config["model"]["duguang_ocr"]["calibration"]["method"] == "logistic"
