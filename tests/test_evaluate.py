import json

import pytest

from duguang_ocr.cli import main
from duguang_ocr.data.lmdb import write_lmdb
from duguang_ocr.evaluate import PROTOCOLS, EvalReport, edit_distance, evaluate, iter_labelled


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


def test_eval_cli_json_and_errors_file(tiny_model_dir, line_images, tmp_path, capsys):
    folder = tmp_path / "set"
    folder.mkdir()
    p = line_images["short"]
    (folder / p.name).write_bytes(p.read_bytes())
    (folder / "labels.tsv").write_text(f"{p.name}\tHi 42\n", encoding="utf-8")
    errs = tmp_path / "errors.tsv"
    assert main(["eval", "--model", str(tiny_model_dir), "--device", "cpu", "--data",
                 str(folder), "--json", "--errors-file", str(errs)]) == 0
    (report,) = json.loads(capsys.readouterr().out)
    assert report["lines"] == 1 and report["protocol"] == "exact"
    assert errs.read_text(encoding="utf-8").startswith("data\titem\tlabel\tprediction")
    assert main(["eval", "--model", str(tiny_model_dir)]) == 2
