"""Draw the application icon (resources/icons/gencurve.png, .ico): a generation curve over a saliency blob."""

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

SIZE = 512
OUT = Path(__file__).resolve().parents[1] / "resources" / "icons"


def main() -> None:
    # 1. a rounded dark tile
    tile = Image.new("RGBA", (SIZE, SIZE), (0, 0, 0, 0))
    ImageDraw.Draw(tile).rounded_rectangle((16, 16, SIZE - 16, SIZE - 16), radius=96, fill=(28, 32, 44, 255))
    # 2. a warm saliency blob
    yy, xx = np.mgrid[0:SIZE, 0:SIZE]
    blob = np.exp(-(((xx - 330) ** 2) / (2 * 90**2) + ((yy - 200) ** 2) / (2 * 80**2)))
    heat = np.zeros((SIZE, SIZE, 4), np.uint8)
    heat[..., 0], heat[..., 1], heat[..., 2] = 255, (140 + 80 * blob).astype(np.uint8), 40
    heat[..., 3] = (200 * blob).astype(np.uint8)
    mask = tile.split()[3]
    heat_img = Image.fromarray(heat, "RGBA")
    heat_img.putalpha(Image.fromarray(np.minimum(heat[..., 3], np.asarray(mask)).astype(np.uint8)))
    tile = Image.alpha_composite(tile, heat_img)
    # 3. the generation curve: rises, peaks, settles
    t = np.linspace(0, 1, 200)
    rate = 0.25 + 0.55 * np.exp(-((t - 0.35) ** 2) / 0.02) + 0.1 * t
    points = [(70 + x * (SIZE - 140), SIZE - 90 - y * (SIZE - 200)) for x, y in zip(t, rate)]
    glow = Image.new("RGBA", (SIZE, SIZE), (0, 0, 0, 0))
    ImageDraw.Draw(glow).line(points, fill=(90, 200, 255, 255), width=34, joint="curve")
    tile = Image.alpha_composite(tile, glow.filter(ImageFilter.GaussianBlur(10)))
    ImageDraw.Draw(tile).line(points, fill=(235, 248, 255, 255), width=18, joint="curve")
    OUT.mkdir(parents=True, exist_ok=True)
    tile.resize((256, 256), Image.LANCZOS).save(OUT / "gencurve.png")
    tile.save(OUT / "gencurve.ico", sizes=[(16, 16), (32, 32), (48, 48), (64, 64), (128, 128), (256, 256)])


if __name__ == "__main__":
    main()
