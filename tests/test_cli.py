import json
import subprocess
import sys

from duguang_ocr.cli import main


def test_recognize_prints_one_line_per_input(tiny_model_dir, line_images, capsys):
    paths = [str(p) for p in line_images.values()]
    assert main(["recognize", "--model", str(tiny_model_dir), "--device", "cpu", *paths]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(paths)
    assert [ln.split("\t")[0] for ln in lines] == paths


def test_json_output_and_errors(tiny_model_dir, line_images, tmp_path, capsys):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"junk")
    code = main(["recognize", "--json", "--model", str(tiny_model_dir), "--device", "cpu",
                 str(line_images["short"]), str(bad)])
    out = [json.loads(ln) for ln in capsys.readouterr().out.splitlines()]
    assert code == 1
    assert out[0]["input"] == str(line_images["short"]) and "error" not in out[0]
    assert len(out[0]["char_positions"]) == len(out[0]["text"])
    assert "bad.png" in out[1]["error"]


def test_stdin_and_subprocess(tiny_model_dir, line_images):
    paths = "\n".join(str(p) for p in line_images.values()) + "\n"
    proc = subprocess.run(
        [sys.executable, "-m", "duguang_ocr.cli", "recognize", "--model", str(tiny_model_dir),
         "--device", "cpu", "-"],
        input=paths, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert len(proc.stdout.splitlines()) == len(line_images)


def test_info_and_bad_model(capsys):
    assert main(["info"]) == 0
    assert "convnextvit_tiny" in capsys.readouterr().out
    assert main(["recognize", "--model", "nope/nope", "x.png"]) == 2
    assert "neither a local model directory" in capsys.readouterr().err


def test_recognize_dtype_bf16_and_fp16_on_cpu(tiny_model_dir, line_images, capsys):
    path = str(line_images["short"])
    assert main(["recognize", "--model", str(tiny_model_dir), "--device", "cpu",
                 "--dtype", "bf16", path]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 1  # one input: just its text
    code = main(["recognize", "--model", str(tiny_model_dir), "--device", "cpu",
                 "--dtype", "fp16", path])
    assert code != 0
    assert "float16 inference is for GPUs" in capsys.readouterr().err
