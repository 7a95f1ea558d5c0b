#!/usr/bin/env python3
"""Build the browser-rendered Chinese check set: real Chinese text, rendered by Chromium in
fonts the synthetic training data never uses, cut into tight line crops.

It answers one question the synthetic benchmarks cannot: does the recognizer read printed
Chinese that a real text engine (Skia + HarfBuzz in Chromium, hinting and anti-aliasing
included) laid out in unseen typefaces? **Never train on it.**

* Text: Chinese Wikipedia paragraphs of the CMRC 2018 reading-comprehension data
  (``ymcui/cmrc2018`` @ ``c0eb1b6``, ``squad-style-data/cmrc2018_{dev,trial}.json``,
  CC BY-SA 4.0), read from a bare git dir. Lines are cut from the paragraphs like a
  paragraph wraps (mostly at clause starts, some mid-clause), 4-30 characters; about 15%
  contain Latin letters (mixed Chinese/English lines with real spaces).
* Fonts (Debian packages unpacked with ``dpkg -x``, **not** installed, so font discovery of
  the synthetic renderer never sees them): Noto Sans CJK SC (Light ... Black), Noto Serif
  CJK SC (Light ... Black) from ``fonts-noto-cjk`` + ``fonts-noto-cjk-extra``, and LXGW
  WenKai (Light, Regular, Bold) from ``fonts-lxgw-wenkai``. Loaded with ``@font-face`` from
  ``file://`` URLs; a sentinel row turns green only once every face on the page has loaded,
  and a page without it is an error (no silent fallback to a system font).
* Style per line: size 16-40 px, the face's weight, dark text colour on a light background,
  sometimes letter spacing. Each line is cut out of the page screenshot by its ink plus a
  2-5 px margin (what a text detector's box gives).

Output ``OUT/images/NNNN.png``, ``OUT/labels.tsv`` (``images/NNNN.png<TAB>text``) and
``OUT/meta.tsv`` (font, size, colours, source paragraph of each line). Rebuild::

    apt-get download fonts-noto-cjk fonts-noto-cjk-extra fonts-lxgw-wenkai
    for d in fonts-*.deb; do dpkg -x "$d" /work/data/browser_fonts; done
    python benchmarks/make_browser_check.py --cmrc CMRC2018.git \\
        --fonts /work/data/browser_fonts --out /work/data/zh_browser
    duguang-ocr eval --model default --data /work/data/zh_browser

Deterministic for a given seed, charset, text commit, font packages and Chromium version
(Chromium's rasteriser may move a pixel between versions; the labels do not change).
"""

from __future__ import annotations

import argparse
import html
import json
import random
import re
import shutil
import string
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

CMRC_REPO = "ymcui/cmrc2018"
CMRC_COMMIT = "c0eb1b6ba219847457e6af3180da722bbeb656af"
CMRC_FILES = ("squad-style-data/cmrc2018_dev.json", "squad-style-data/cmrc2018_trial.json")
TEMPLATE = Path(__file__).with_name("browser_check_template.html")

NOTO = "usr/share/fonts/opentype/noto"
WENKAI = "usr/share/fonts/truetype/lxgw-wenkai"


@dataclass(frozen=True)
class Face:
    family: str  # CSS family name given to the face
    file: str    # relative to --fonts
    weight: int
    share: float  # relative sampling weight


FACES = [
    *(Face("NotoSansSC", f"{NOTO}/NotoSansCJK-{n}.ttc", w, s) for n, w, s in [
        ("Light", 300, 1), ("DemiLight", 350, 1), ("Regular", 400, 3), ("Medium", 500, 2),
        ("Bold", 700, 2), ("Black", 900, 1)]),
    *(Face("NotoSerifSC", f"{NOTO}/NotoSerifCJK-{n}.ttc", w, s) for n, w, s in [
        ("Light", 300, 1), ("Regular", 400, 3), ("Medium", 500, 1), ("SemiBold", 600, 2),
        ("Bold", 700, 2), ("Black", 900, 1)]),
    *(Face("LXGWWenKai", f"{WENKAI}/LXGWWenKai-{n}.ttf", w, s) for n, w, s in [
        ("Light", 300, 1.5), ("Regular", 400, 3), ("Bold", 700, 1.5)]),
]

TEXT_COLOURS = ["#000000", "#1a1a1a", "#333333", "#4a4a4a", "#1f2d4d", "#0b3d91", "#7a1f1f",
                "#1e4d2b", "#4b2e1a", "#3b2d5c", "#5a5a5a"]
BACKGROUNDS = ["#ffffff", "#fafafa", "#f4f4f4", "#eeeeee", "#fdf6e3", "#fff8dc", "#f0f5ff",
               "#eef7ee", "#fcf0f0", "#f5f0e6", "#e8eef4", "#ffffee"]
CLAUSE_END = "，。；：！？、"
NO_LINE_START = "，。、；：！？）》」』】〕”’…—·%,.;:!?)]}"
WIDTH = 1440          # px; 30 characters at 40 px with letter spacing fit
SENTINEL_H = 8        # px; green once every font on the page has loaded
PER_PAGE = 40


def load_paragraphs(gitdir: str) -> list[str]:
    paras: list[str] = []
    for path in CMRC_FILES:
        raw = subprocess.run(["git", "-C", gitdir, "show", f"{CMRC_COMMIT}:{path}"],
                             check=True, capture_output=True).stdout
        for art in json.loads(raw)["data"]:
            for p in art["paragraphs"]:
                paras.append(p["context"])
    seen, out = set(), []
    for p in paras:
        p = _clean(p)
        if p and p not in seen:
            seen.add(p)
            out.append(p)
    return out


def _clean(p: str) -> str:
    """Undo the traces of the foreign words the data set stripped out of Wikipedia: labels
    left empty in brackets (``（学名：）``, ``（英语：，）``), stray commas and colons at a
    bracket's edge (``（Shane Filan，）``, ``（，缩写：HD）``), empty brackets. Whitespace runs
    become one space, as on screen."""
    p = re.sub(r"\s+", " ", p)
    for _ in range(3):
        p = re.sub(r"[^（）()，,：:；;。 ]{1,10}[：:] ?(?=[，,；;、）)]|$)", "", p)  # 学名：）
        p = re.sub(r"([（(])[\s，,、；;：:]+", r"\1", p)
        p = re.sub(r"[\s，,、；;：:]+([）)])", r"\1", p)
        p = re.sub(r"[（(]\s*[）)]", "", p)
    return p.strip()


def load_charset(path: str | None) -> set[str]:
    if path is None:
        from duguang_ocr.synth.charset import CHARSET_FILE
        path = str(CHARSET_FILE)
    lines = Path(path).read_text(encoding="utf-8").split("\n")
    return {c for c in lines if c}


def _ok_line(s: str) -> bool:
    if len(s) < 4 or len(s) > 30 or s[0] in NO_LINE_START:
        return False
    if not re.search(r"[\u4e00-\u9fff]", s):  # a Chinese check: every line has hanzi
        return False
    if "-{" in s or "}-" in s:  # MediaWiki language-conversion markup left in the text
        return False
    return all(c.isprintable() for c in s)


def sample_lines(paras: list[str], n: int, mixed_share: float, charset: set[str],
                 outside_keep: float, rng: random.Random) -> list[tuple[str, int]]:
    """``n`` distinct lines ``(text, paragraph index)``; ``mixed_share`` of them hold Latin."""
    latin = re.compile(r"[A-Za-z]")
    want_mixed = round(n * mixed_share)
    mixed_paras = [i for i, p in enumerate(paras) if latin.search(p)]
    lines: list[tuple[str, int]] = []
    seen: set[str] = set()
    n_mixed = 0
    tries = 0
    while len(lines) < n:
        tries += 1
        if tries > 200 * n:
            raise RuntimeError("could not sample enough lines")
        mixed = n_mixed < want_mixed and rng.random() < 0.5
        pi = rng.choice(mixed_paras) if mixed else rng.randrange(len(paras))
        p = paras[pi]
        if mixed:  # start a little before a Latin run
            runs = [m.start() for m in latin.finditer(p)]
            start = max(0, rng.choice(runs) - rng.randint(0, 12))
        elif rng.random() < 0.75:  # at a clause start, like most wrapped lines
            starts = [0] + [i + 1 for i, c in enumerate(p) if c in CLAUSE_END and i + 1 < len(p)]
            start = rng.choice(starts)
        else:
            start = rng.randrange(len(p))
        length = rng.randint(4, 30)
        s = p[start:start + length].strip()
        if not _ok_line(s) or s in seen:
            continue
        has_latin = bool(latin.search(s))
        if has_latin and n_mixed >= want_mixed:
            continue
        if not has_latin and len(lines) - n_mixed >= n - want_mixed:
            continue
        if any(c not in charset for c in s) and rng.random() > outside_keep:
            continue
        seen.add(s)
        lines.append((s, pi))
        n_mixed += has_latin
    rng.shuffle(lines)
    return lines


def _jitter(hex_colour: str, rng: random.Random, amount: int) -> tuple[int, int, int]:
    rgb = [int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)]
    return tuple(min(255, max(0, c + rng.randint(-amount, amount))) for c in rgb)


def choose_styles(n: int, rng: random.Random) -> list[dict]:
    styles = []
    weights = [f.share for f in FACES]
    for _ in range(n):
        face = rng.choices(FACES, weights)[0]
        size = rng.randint(16, 40)
        styles.append({
            "face": face,
            "size": size,
            "colour": _jitter(rng.choice(TEXT_COLOURS), rng, 12),
            "background": _jitter(rng.choice(BACKGROUNDS), rng, 4),
            "spacing": 0.0 if rng.random() < 0.7 else round(rng.uniform(0.02, 0.12), 3),
            "height": round(size * 1.9) + 16,
            "margins": [rng.randint(2, 5) for _ in range(4)],  # left, top, right, bottom
        })
    return styles


def _hex(c: tuple[int, int, int]) -> str:
    return "#" + "".join(f"{v:02x}" for v in c)


def _css_rgb(c: tuple[int, int, int]) -> str:
    return f"rgb({c[0]},{c[1]},{c[2]})"


def build_page(lines: list[str], styles: list[dict], fonts_root: Path) -> str:
    faces = sorted({s["face"] for s in styles}, key=lambda f: (f.family, f.weight))
    rules = []
    for f in faces:
        url = (fonts_root / f.file).resolve().as_uri()
        rules.append(f'@font-face {{ font-family: "{f.family}"; src: url("{url}"); '
                     f"font-weight: {f.weight}; font-style: normal; font-display: block; }}")
    rows = [f'<div id="sentinel" style="height:{SENTINEL_H}px;background:#ff0000"></div>']
    for text, s in zip(lines, styles):
        f = s["face"]
        rows.append(
            f'<div class="row" style="height:{s["height"]}px;line-height:{s["height"]}px;'
            f'font-family:\'{f.family}\';font-weight:{f.weight};font-size:{s["size"]}px;'
            f'letter-spacing:{s["spacing"]}em;color:{_css_rgb(s["colour"])};'
            f'background:{_css_rgb(s["background"])}">{html.escape(text)}</div>')
    rows.append("<script>Promise.all([...document.fonts].map(f => f.load()))"
                ".then(() => document.fonts.ready)"
                ".then(() => { if ([...document.fonts].every(f => f.status === 'loaded'))"
                " document.getElementById('sentinel').style.background = '#00ff00'; });"
                "</script>")
    page = string.Template(TEMPLATE.read_text(encoding="utf-8"))
    return page.substitute(FONT_FACES="\n".join(rules), ROWS="\n".join(rows), WIDTH=WIDTH)


def screenshot(chromium: str, html_path: Path, png: Path, height: int) -> np.ndarray:
    with tempfile.TemporaryDirectory() as profile:
        cmd = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
               "--no-first-run", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", f"--user-data-dir={profile}",
               "--allow-file-access-from-files", "--force-device-scale-factor=1",
               "--hide-scrollbars", "--virtual-time-budget=20000",
               f"--window-size={WIDTH},{height}", f"--screenshot={png}", html_path.as_uri()]
        subprocess.run(cmd, check=True, capture_output=True, timeout=300)
    img = np.asarray(Image.open(png).convert("RGB"))
    if img.shape[0] < height or img.shape[1] < WIDTH:
        raise RuntimeError(f"{png}: screenshot {img.shape[1]}x{img.shape[0]}, "
                           f"expected {WIDTH}x{height}")
    top = img[: SENTINEL_H].reshape(-1, 3).mean(0)
    if not (top[1] > 200 and top[0] < 60):
        raise RuntimeError(f"{png}: a web font did not load (sentinel colour {top.round()})")
    return img


def crop_rows(img: np.ndarray, styles: list[dict]) -> list[Image.Image]:
    crops, y = [], SENTINEL_H
    for s in styles:
        h = s["height"]
        row = img[y:y + h].astype(np.int16)
        ink = np.abs(row - np.array(s["background"], np.int16)).max(2) > 24
        ys, xs = np.nonzero(ink)
        if len(xs) == 0:
            raise RuntimeError(f"row at y={y}: no ink (text not drawn)")
        if xs.max() >= WIDTH - 24:
            raise RuntimeError(f"row at y={y}: text runs past the row width")
        ml, mt, mr, mb = s["margins"]
        x0, x1 = max(0, xs.min() - ml), min(WIDTH, xs.max() + 1 + mr)
        y0, y1 = max(0, ys.min() - mt), min(h, ys.max() + 1 + mb)
        crops.append(Image.fromarray(row[y0:y1, x0:x1].astype(np.uint8)))
        y += h
    return crops


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cmrc", required=True, help=f"git dir of {CMRC_REPO} (has {CMRC_COMMIT[:7]})")
    ap.add_argument("--fonts", required=True, help="folder the font .debs were dpkg -x'ed into")
    ap.add_argument("--out", required=True, help="output folder (outside the repository)")
    ap.add_argument("-n", type=int, default=300, help="number of lines")
    ap.add_argument("--seed", type=int, default=20261126)
    ap.add_argument("--mixed-share", type=float, default=0.15,
                    help="share of lines that contain Latin letters")
    ap.add_argument("--outside-keep", type=float, default=0.3,
                    help="chance to keep a sampled line with a character outside the charset")
    ap.add_argument("--charset", help="charset.txt (default: the package's synth charset)")
    ap.add_argument("--chromium", default=shutil.which("chromium") or "chromium")
    ap.add_argument("--overwrite", action="store_true")
    args = ap.parse_args(argv)

    fonts_root = Path(args.fonts)
    missing = [f.file for f in FACES if not (fonts_root / f.file).is_file()]
    if missing:
        sys.exit(f"font files missing under {fonts_root}: {missing[:3]}...; see the rebuild "
                 "steps in this script's docstring")
    out = Path(args.out)
    if out.exists():
        if not args.overwrite:
            sys.exit(f"{out} exists (pass --overwrite)")
        shutil.rmtree(out)
    (out / "images").mkdir(parents=True)

    rng = random.Random(args.seed)
    charset = load_charset(args.charset)
    paras = load_paragraphs(args.cmrc)
    lines = sample_lines(paras, args.n, args.mixed_share, charset, args.outside_keep, rng)
    styles = choose_styles(len(lines), rng)

    labels, meta = [], ["file\tfont\tweight\tsize_px\tletter_spacing_em\tcolour\tbackground\t"
                        "paragraph\ttext"]
    with tempfile.TemporaryDirectory() as tmp:
        for p0 in range(0, len(lines), PER_PAGE):
            page_lines = [t for t, _ in lines[p0:p0 + PER_PAGE]]
            page_styles = styles[p0:p0 + PER_PAGE]
            html_path = Path(tmp, f"page{p0 // PER_PAGE:03d}.html")
            html_path.write_text(build_page(page_lines, page_styles, fonts_root),
                                 encoding="utf-8")
            height = SENTINEL_H + sum(s["height"] for s in page_styles)
            img = screenshot(args.chromium, html_path, Path(tmp, "shot.png"), height)
            for k, crop in enumerate(crop_rows(img, page_styles)):
                i = p0 + k
                name = f"images/{i + 1:04d}.png"
                crop.save(out / name)
                s, (text, pi) = styles[i], lines[i]
                labels.append(f"{name}\t{text}\n")
                meta.append("\t".join([name, Path(s["face"].file).name, str(s["face"].weight),
                                       str(s["size"]), str(s["spacing"]),
                                       _hex(s["colour"]),
                                       _hex(s["background"]), str(pi), text]))
            print(f"rendered {min(p0 + PER_PAGE, len(lines))}/{len(lines)}", flush=True)
    (out / "labels.tsv").write_text("".join(labels), encoding="utf-8")
    (out / "meta.tsv").write_text("\n".join(meta) + "\n", encoding="utf-8")
    outside = [t for t, _ in lines if any(c not in charset for c in t)]
    mixed = [t for t, _ in lines if re.search(r"[A-Za-z]", t)]
    print(f"{len(lines)} lines -> {out}; with Latin letters: {len(mixed)}; "
          f"with a character outside the charset: {len(outside)}")
    for t in outside:
        print("  outside charset:", t, "|", "".join(sorted({c for c in t if c not in charset})))
    return 0


if __name__ == "__main__":
    sys.exit(main())
