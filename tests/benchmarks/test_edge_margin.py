"""benchmarks/edge_margin.py: margin specs, the strips it adds, and a run on a tiny set."""

import numpy as np
import pytest

from tests.helpers import blank_line_set, load_script

edge = load_script("benchmarks/edge_margin.py")


def test_margin_specs():
    assert edge.parse_margin("0") == ("", 0.0)
    assert edge.parse_margin("r0.1") == ("r", 0.1)
    assert edge.parse_margin("lr0.25") == ("lr", 0.25)
    for bad in ("x0.1", "r", "rl0.1", "0.1"):
        with pytest.raises(ValueError):
            edge.parse_margin(bad)


def test_strips_take_each_edge_colour():
    img = np.zeros((20, 10, 3), np.uint8)
    img[:, 0] = (200, 100, 50)  # left edge column
    img[:, -1] = (10, 20, 30)   # right edge column
    img[5, -1] = (255, 255, 255)  # one ink pixel on the edge does not set the colour
    out = edge.add_margin(img, "lr", 0.25)
    assert out.shape == (20, 10 + 2 * 5, 3)
    assert (out[:, :5] == (200, 100, 50)).all()
    assert (out[:, -5:] == (10, 20, 30)).all()
    assert (out[:, 5:15] == img).all()
    assert edge.add_margin(img, "", 0.0) is img
    assert edge.add_margin(img, "r", 0.01).shape[1] == 11  # at least one pixel


def test_reads_a_labelled_set_with_each_margin(tiny_model_dir, tmp_path, capsys):
    data = blank_line_set(tmp_path / "set", ["ab", "ab"])
    edge.main(["--model", str(tiny_model_dir), "--data", f"tiny={data}",
               "--margins", "0,r0.2"])
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "| set | lines | 0 | r0.2 |"
    assert out[2].startswith("| tiny | 2 | ")
    with pytest.raises(SystemExit):
        edge.main(["--data", f"tiny={data}", "--margins", "q1"])
