"""benchmarks/compare_peers.py: our engine on a tiny labelled set, scored with its protocol."""

import json

from tests.helpers import blank_line_set, load_script

peers = load_script("benchmarks/compare_peers.py")


def test_sets_keep_name_path_and_protocol(tiny_model_dir, tmp_path, capsys):
    data = blank_line_set(tmp_path / "set", ["ab", "Ab"])
    out_json = tmp_path / "peers.json"
    assert peers.main(["--model", str(tiny_model_dir), "--engines", "duguang",
                       "--data", f"tiny={data}", "--protocol", "ci",
                       "--json", str(out_json)]) == 0
    table = capsys.readouterr().out
    assert "| tiny | ci | 2 | " in table
    [result] = json.loads(out_json.read_text())["results"]
    assert result["engine"] == "duguang"
    assert (result["data"], result["protocol"], result["lines"]) == ("tiny", "ci", 2)


def test_score_uses_the_sets_protocol(tmp_path):
    from duguang_ocr.evaluate import LabelledSet

    ds = peers.DataSet(LabelledSet("words", tmp_path, "alnum-ci"),
                       items=[("0.png", None, "Hello!"), ("1.png", None, "x")])
    assert ds.name == "words" and ds.protocol == "alnum-ci" and not ds.english
    report = peers.score(ds, ["hello", None])
    assert report.name == "words" and report.lines == 2 and report.correct == 1
    assert report.unreadable == 1
