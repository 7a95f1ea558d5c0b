import json
from pathlib import Path

import pytest

from duguang_ocr.cli import main
from duguang_ocr.data.lmdb import write_lmdb
from duguang_ocr.evaluate import (
    PROTOCOLS,
    EvalReport,
    edit_distance,
    evaluate,
    iter_labelled,
    labelled_sets,
)


@pytest.mark.parametrize("a,b,d", [("", "", 0), ("abc", "", 3), ("kitten", "sitting", 3),
                                   ("读光", "读光文字", 2), ("ab", "ba", 2)])
def test_edit_distance(a, b, d):
    assert edit_distance(a, b) == d == edit_distance(b, a)


def test_report_metrics_and_protocols():
    r = EvalReport("x", "exact")
    r.add("1", "abcd", "abcd")
    r.add("2", "abcd", "abxd")
    r.add("3", "ab", "")
    assert r.lines == 3 and r.correct == 1
    assert r.char_acc == pytest.approx(1 - 3 / 10)
    assert r.ned == pytest.approx((0 + 0.25 + 1.0) / 3)
    assert [e[0] for e in r.errors] == ["2", "3"]
    assert PROTOCOLS["alnum-ci"]("Hello, World-2!") == "helloworld2"
    ci = EvalReport("y", "alnum-ci")
    ci.add("1", "PRIVATE", "private.")
    assert ci.line_acc == 1.0
    worst = EvalReport("z", "exact")
    worst.add("1", "a", "bbbbbb")
    assert worst.char_acc == 0.0  # clamped, never negative


def test_evaluate_folder_and_lmdb_agree(tiny_model_dir, line_images, tmp_path):
    from duguang_ocr import Recognizer

    rec = Recognizer.from_pretrained(tiny_model_dir, device="cpu")
    folder = tmp_path / "set"
    folder.mkdir()
    lines = []
    for key, path in line_images.items():
        (folder / path.name).write_bytes(path.read_bytes())
        lines.append(f"{path.name}\t{rec(path) if key == 'short' else key}")
    (folder / "labels.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    samples = [((folder / ln.split("\t")[0]).read_bytes(), ln.split("\t")[1]) for ln in lines]
    write_lmdb(samples, tmp_path / "set.lmdb")
    a = evaluate(rec, folder)
    b = evaluate(rec, tmp_path / "set.lmdb")
    assert a.lines == b.lines == 5 and a.correct == b.correct >= 1
    assert a.char_acc == b.char_acc
    assert len(list(iter_labelled(folder / "labels.tsv"))) == 5


def one_line_set(folder, line_images):
    """A folder data set of one labelled line image."""
    folder.mkdir()
    p = line_images["short"]
    (folder / p.name).write_bytes(p.read_bytes())
    (folder / "labels.tsv").write_text(f"{p.name}\tHi 42\n", encoding="utf-8")
    return folder


def test_eval_cli_json_and_errors_file(tiny_model_dir, line_images, tmp_path, capsys):
    folder = one_line_set(tmp_path / "set", line_images)
    errs = tmp_path / "errors.tsv"
    assert main(["eval", "--model", str(tiny_model_dir), "--device", "cpu", "--data",
                 str(folder), "--json", "--errors-file", str(errs)]) == 0
    (report,) = json.loads(capsys.readouterr().out)
    assert report["lines"] == 1 and report["protocol"] == "exact"
    assert errs.read_text(encoding="utf-8").startswith("data\titem\tlabel\tprediction")
    assert main(["eval", "--model", str(tiny_model_dir)]) == 2


def test_labelled_sets_names_realtest_subsets_and_data_specs(tmp_path):
    root = tmp_path / "realtest"
    for subset in ("plate_zh", "en_scene_ic15", "not_a_subset"):
        (root / subset).mkdir(parents=True)
    odd = tmp_path / "a=b"  # a real path with '=' in it is taken whole
    odd.mkdir()
    sets = labelled_sets(root, ["zh=/x/y", str(odd), "/z/set.lmdb"], protocol="ci")
    assert [(s.name, s.protocol) for s in sets] == [
        ("en_scene_ic15", "alnum-ci"), ("plate_zh", "exact"),  # REALTEST_PROTOCOLS order
        ("zh", "ci"), ("a=b", "ci"), ("set.lmdb", "ci")]
    assert sets[0].path == root / "en_scene_ic15" and sets[2].path == Path("/x/y")
    assert sets[3].path == odd


def test_labelled_sets_errors(tmp_path):
    with pytest.raises(ValueError, match="unknown protocol"):
        labelled_sets(data=["x"], protocol="fuzzy")
    with pytest.raises(FileNotFoundError, match="not found"):
        labelled_sets(tmp_path / "missing")
    with pytest.raises(FileNotFoundError, match="no realtest subset"):
        labelled_sets(tmp_path)
    assert labelled_sets() == []


def test_eval_cli_names_a_data_set(tiny_model_dir, line_images, tmp_path, capsys):
    folder = one_line_set(tmp_path / "set", line_images)
    assert main(["eval", "--model", str(tiny_model_dir), "--device", "cpu", "--data",
                 f"mine={folder}", "--json"]) == 0
    (report,) = json.loads(capsys.readouterr().out)
    assert report["data"] == "mine"
