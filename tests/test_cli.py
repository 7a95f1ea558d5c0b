import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest

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


# ------------------------------------------------------------- conventions (issue 11)
def _cli(*args: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "duguang_ocr.cli", *args],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kwargs)


def test_one_input_and_many_print_the_same_format(tiny_model_dir, line_images, tmp_path,
                                                  capsys):
    """``path<TAB>text`` whatever the number of inputs (a glob matching one file must not
    change the format); --text-only drops the path; a bad input writes no stdout line."""
    short, long_ = str(line_images["short"]), str(line_images["long"])
    base = ["recognize", "--model", str(tiny_model_dir), "--device", "cpu"]
    assert main([*base, short]) == 0
    one = capsys.readouterr().out.splitlines()
    assert main([*base, short, long_]) == 0
    two = capsys.readouterr().out.splitlines()
    assert one == two[:1] and one[0].startswith(f"{short}\t")
    assert main([*base, "--text-only", short, long_]) == 0
    assert capsys.readouterr().out.splitlines() == [t.split("\t", 1)[1] for t in two]

    bad = tmp_path / "bad.png"
    bad.write_bytes(b"junk")
    assert main([*base, str(bad)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""  # errors only on stderr
    assert captured.err.count("\n") == 1 and "bad.png" in captured.err
    assert main([*base, "--text-only", short, str(bad), long_]) == 1
    assert capsys.readouterr().out.splitlines() == [two[0].split("\t", 1)[1],
                                                    two[1].split("\t", 1)[1]]


def test_closed_pipe_ends_quietly(tiny_model_dir, line_images):
    """``duguang-ocr recognize - | head -1``: the reader leaves while results are still
    coming. Paths arrive on stdin in windows of 8 (batch size 1), so the process is still
    waiting for the third window when the reader closes the pipe; its later writes fail."""
    paths = [str(p) for p in line_images.values()]
    proc = _cli("recognize", "--model", str(tiny_model_dir), "--device", "cpu",
                "--batch-size", "1", "--num-workers", "0", "-")
    proc.stdin.write("".join(f"{paths[i % len(paths)]}\n" for i in range(16)))
    proc.stdin.flush()
    assert proc.stdout.readline().startswith(paths[0])
    proc.stdout.close()
    proc.stdin.write("".join(f"{p}\n" for p in paths * 2))
    proc.stdin.close()
    assert proc.wait(timeout=120) == 141  # 128 + SIGPIPE, like a tool killed by it
    err = proc.stderr.read()
    assert "Traceback" not in err and "BrokenPipe" not in err, err


def test_example_script_ends_quietly_on_a_closed_pipe():
    """``python examples/recognize.py | head``: no 'Exception ignored ... BrokenPipeError'."""
    root = Path(__file__).resolve().parents[1]
    proc = subprocess.Popen([sys.executable, str(root / "examples" / "recognize.py")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    proc.stdout.close()  # the reader is gone before the first write
    err = proc.stderr.read()
    proc.wait(timeout=120)
    assert "Error" not in err and "Traceback" not in err, err


def test_unavailable_device_is_one_line(tiny_model_dir, line_images, capsys, monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.version, "cuda", None)
    code = main(["recognize", "--model", str(tiny_model_dir), "--device", "cuda",
                 str(line_images["short"])])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert "built without CUDA" in err and "available here: cpu" in err


def test_progress_convention_is_shared(tiny_model_dir, line_images, tmp_path, capsys):
    """No bar when stderr is not a terminal (here: captured), a bar with --progress, for
    every long command alike; make-lmdb used to draw one even when redirected."""
    (tmp_path / "a.png").write_bytes(line_images["short"].read_bytes())
    (tmp_path / "labels.tsv").write_text("a.png\tHi 42\n", encoding="utf-8")
    model = ["--model", str(tiny_model_dir), "--device", "cpu"]
    commands = {
        "recognize": ["recognize", *model, str(tmp_path / "a.png")],
        "eval": ["eval", *model, "--data", str(tmp_path)],
        "make-lmdb": ["make-lmdb", "--from-folder", str(tmp_path), str(tmp_path / "o.lmdb"),
                      "--overwrite"],
    }
    for name, argv in commands.items():
        assert main(argv) == 0, name
        assert capsys.readouterr().err == "", name
        assert main([*argv, "--progress"]) == 0, name
        assert "1/1" in capsys.readouterr().err, name
        assert main([*argv, "--no-progress"]) == 0, name
        assert capsys.readouterr().err == "", name


def _model_options(command: str) -> dict[str, tuple]:
    from duguang_ocr.cli import build_parser

    sub = next(a for a in build_parser()._actions if a.dest == "command")
    group = next(g for g in sub.choices[command]._action_groups
                 if g.title == "model and speed")
    return {a.dest: (tuple(a.option_strings), a.default, a.choices)
            for a in group._group_actions}


def test_recognize_and_eval_share_one_option_set():
    options = _model_options("recognize")
    assert options == _model_options("eval")
    for dest in ("model", "device", "backend", "dtype", "mode", "quantize", "batch_size",
                 "beam_width", "num_workers"):
        assert dest in options
    assert options["beam_width"][0] == ("--beam-width", "--beam")  # the API's name first


def test_every_option_has_help():
    from duguang_ocr.cli import build_parser

    def parsers(p):
        yield p
        for action in p._actions:
            if isinstance(action, argparse._SubParsersAction):
                for child in action.choices.values():
                    yield from parsers(child)

    missing = [f"{p.prog} {a.option_strings or a.dest}" for p in parsers(build_parser())
               for a in p._actions if not a.help]
    assert missing == []


def test_protocol_choices_are_the_evaluators_protocols():
    """eval and calibrate offer exactly the protocols evaluate knows: one added there is
    usable from the CLI without a second list to edit."""
    from duguang_ocr import evaluate
    from duguang_ocr.cli import build_parser

    sub = next(a for a in build_parser()._actions if a.dest == "command")
    for command in ("eval", "calibrate"):
        action = next(a for a in sub.choices[command]._actions if a.dest == "protocol")
        assert tuple(action.choices) == tuple(evaluate.PROTOCOLS), command


def test_version(capsys):
    from duguang_ocr import __version__

    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.startswith(f"duguang-ocr {__version__} (python ")


def test_exported_onnx_dir_needs_no_backend_flag(tiny_model_dir, line_images, tmp_path,
                                                 capsys):
    pytest.importorskip("onnxruntime")
    from duguang_ocr.export import export_model_dir

    exported = export_model_dir(tiny_model_dir, tmp_path / "exported")
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "a.png").write_bytes(line_images["short"].read_bytes())
    (tmp_path / "d" / "labels.tsv").write_text("a.png\tHi 42\n", encoding="utf-8")
    for model in (tiny_model_dir, exported):
        assert main(["recognize", "--model", str(model), "--device", "cpu",
                     str(line_images["short"])]) == 0
        assert main(["eval", "--model", str(model), "--device", "cpu", "--json",
                     "--data", str(tmp_path / "d")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == out[2] and out[1] == out[3]  # the ONNX graph reads what torch reads
    assert main(["recognize", "--model", str(exported), "--backend", "torch",
                 str(line_images["short"])]) == 2
    err = capsys.readouterr().err
    assert "model.onnx" in err and "no torch weights" in err and "onnxruntime" in err


def test_overwrite_and_dtype_errors_use_flag_names(tiny_model_dir, line_images, tmp_path,
                                                   capsys):
    code = main(["recognize", "--model", str(tiny_model_dir), "--device", "cpu",
                 "--dtype", "fp16", str(line_images["short"])])
    err = capsys.readouterr().err
    assert code == 2 and "dtype=None" not in err and "bf16" in err


def test_a_file_name_with_a_tab_or_newline_stays_one_escaped_tsv_row(tiny_model_dir,
                                                                    line_images, tmp_path,
                                                                    capsys):
    """Names are escaped (``\\t``, ``\\n``, ``\\\\``) so each input is exactly one row of two
    fields; an unescaped tab or newline used to shift or split the row."""
    odd = tmp_path / "a\tb\nc.png"
    odd.write_bytes(line_images["short"].read_bytes())
    assert main(["recognize", "--model", str(tiny_model_dir), "--device", "cpu",
                 str(odd), str(line_images["short"])]) == 0
    rows = capsys.readouterr().out.splitlines()
    assert len(rows) == 2 and all(r.count("\t") == 1 for r in rows)
    name, text = rows[0].split("\t")
    assert name == str(odd).replace("\t", "\\t").replace("\n", "\\n")
    assert text == rows[1].split("\t")[1]  # same pixels, same reading
