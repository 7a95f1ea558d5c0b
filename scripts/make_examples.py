"""Render the example line images in examples/ (run from the repo root).

They are drawn by the project itself (Pillow + Debian's DejaVu and WenQuanYi fonts), so
they carry no third-party image licence.
"""

from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

OUT = Path(__file__).resolve().parents[1] / "examples"
LATIN = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
CJK = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"

LINES = {
    "en_hello.png": ("Hello, world! 2026", LATIN),
    "zh_line.png": ("读光文字识别", CJK),
    "mixed_line.png": ("订单号 A1234 金额 ¥56.80", CJK),
    "long_line.png": (
        "This line is much longer than the 804 pixels ModelScope squashes every line into.",
        LATIN,
    ),
}


def render(text: str, font_path: str, height: int = 48) -> Image.Image:
    font = ImageFont.truetype(font_path, int(height * 0.62))
    width = int(font.getlength(text)) + height // 2
    img = Image.new("RGB", (width, height), (250, 250, 246))
    ImageDraw.Draw(img).text((height // 4, height // 2), text, fill=(20, 20, 30), font=font,
                             anchor="lm")
    return img


if __name__ == "__main__":
    for name, (text, font_path) in LINES.items():
        render(text, font_path).save(OUT / name)
        print(name, text)
