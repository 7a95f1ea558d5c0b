import pytest
import torch

from duguang_ocr.training.distributed import DistInfo
from duguang_ocr.training.metrics import EvalTotals, edit_distance, worst_errors, write_errors

SINGLE = DistInfo(rank=0, world_size=1, local_rank=0, device=torch.device("cpu"))


@pytest.mark.parametrize("a,b,d", [("", "", 0), ("abc", "", 3), ("kitten", "sitting", 3),
                                   ("读光", "读光文字", 2), ("识别", "别识", 2)])
def test_edit_distance(a, b, d):
    assert edit_distance(a, b) == edit_distance(b, a) == d


def test_line_char_accuracy_and_ned():
    t = EvalTotals("set")
    t.add("1", "读光文字", "读光文字")
    t.add("2", "abcd", "abxd")
    t.add("3", "ab", "")
    d = t.reduce(SINGLE, num_errors=10).to_dict()
    assert d["lines"] == 3 and d["line_acc"] == pytest.approx(1 / 3)
    assert d["char_acc"] == pytest.approx(1 - 3 / 10)  # ModelScope's AR: 1 - edits / chars
    assert d["ned"] == pytest.approx((0 + 0.25 + 1.0) / 3)


def test_char_accuracy_is_clamped_at_zero():
    t = EvalTotals("set")
    t.add("1", "a", "bbbbbbbb")
    assert t.report.char_acc == 0.0 and t.report.ned == 1.0


def test_worst_errors_first_and_tsv_escaping(tmp_path):
    errors = [("1", "abcd", "abce"), ("2", "ab", "xy"), ("3", "abcdef", "a"), ("4", "a\tb", "a\nb")]
    assert [e[0] for e in worst_errors(errors, 2)] == ["2", "3"]
    t = EvalTotals("set")
    for item, label, pred in errors:
        t.add(item, label, pred)
    kept = t.reduce(SINGLE, num_errors=3)
    assert [e[0] for e in kept.report.errors] == ["2", "3", "4"]
    write_errors(tmp_path / "errors.tsv", [kept])
    rows = (tmp_path / "errors.tsv").read_text(encoding="utf-8").splitlines()
    assert rows[0] == "data\titem\tedit_distance\tlabel\tprediction"
    assert rows[1] == "set\t2\t2\tab\txy" and rows[3] == "set\t4\t1\ta\\tb\ta\\nb"
