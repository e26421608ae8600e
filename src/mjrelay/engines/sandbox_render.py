"""Pure, deterministic image and text rendering for the sandbox engine.

The sandbox engine imitates Midjourney without an account, so every picture it hands out must be a
real, pleasant-looking PNG that a client cannot tell apart from a relay's output except by its
content.  Everything here is a pure function of its arguments: the same prompt and seed always give
byte-identical images (so retries, tests and caches behave), and no function touches the disk or
the network.  Only Pillow is used, and text is drawn with the scalable font Pillow ships
(``ImageFont.load_default(size=...)``) so the output does not depend on the host's fonts.

Rendering is CPU-cheap by construction: soft colour fields are painted at a quarter of the target
resolution, blurred there and scaled up, and only crisp shapes, grain and text are drawn at full
resolution.
"""

from __future__ import annotations

import colorsys
import hashlib
import io
import math
import random
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from functools import lru_cache
from typing import Final

from PIL import (
    Image,
    ImageChops,
    ImageDraw,
    ImageFilter,
    ImageFont,
    ImageOps,
    ImageStat,
    UnidentifiedImageError,
)

__all__ = [
    "PANEL_SIZE",
    "compose_grid",
    "describe_image",
    "encode_png",
    "load_image",
    "panel_dimensions",
    "parse_aspect",
    "render_blend",
    "render_pan",
    "render_panels",
    "render_preview",
    "render_upscale",
    "render_variation",
    "render_zoom_out",
    "shorten_prompt",
]

PANEL_SIZE = 512
"""Long side, in pixels, of one grid panel (a grid is therefore 1024 px on its long side)."""

RGB = tuple[int, int, int]
_Font = ImageFont.FreeTypeFont | ImageFont.ImageFont

_BICUBIC: Final = Image.Resampling.BICUBIC
_BILINEAR: Final = Image.Resampling.BILINEAR
_MIN_LONG_SIDE: Final = 16
_MAX_LONG_SIDE: Final = 8192
_MAX_INPUT_PIXELS: Final = 40_000_000  # well above any real upload, far below a bomb
_MAX_RATIO: Final = 4  # Midjourney itself refuses aspect ratios beyond 1:4 / 4:1 for most models.

# A parameter starts with "--" (or the em dash phones substitute for it) followed by a letter.
_PARAM_START_RE: Final = re.compile(r"(?:(?<=\s)|^)(?:--|\u2014)[A-Za-z]")
_ASPECT_RE: Final = re.compile(
    r"(?:(?<=\s)|^)(?:--|\u2014)(?:ar|aspect)\s+(\S+?)\s*:\s*(\S+)", re.IGNORECASE
)
_URL_RE: Final = re.compile(r"<?https?://\S+>?", re.IGNORECASE)
_WORD_RE: Final = re.compile(r"[^\W_]+", re.UNICODE)


# --------------------------------------------------------------------------------------------
# Prompt parsing
# --------------------------------------------------------------------------------------------


def parse_aspect(prompt: str) -> tuple[int, int]:
    """Return the ``--ar``/``--aspect`` ratio of ``prompt`` as ``(width, height)``.

    The last occurrence wins, as with Midjourney where later parameters override earlier ones.
    Both terms must be integers in 1..100, otherwise the parameter is ignored and ``(1, 1)`` is
    returned: the function never raises because it runs on untrusted user input before any
    validation.  The ratio is reduced (``32:18`` -> ``16:9``) and clamped to between 1:4 and 4:1.
    """
    try:
        matches = _ASPECT_RE.findall(prompt)
    except TypeError:
        return (1, 1)
    for raw_w, raw_h in reversed(matches):
        try:
            w, h = int(raw_w), int(raw_h)
        except ValueError:
            continue
        if not (1 <= w <= 100 and 1 <= h <= 100):
            continue
        if w > _MAX_RATIO * h:
            return (_MAX_RATIO, 1)
        if h > _MAX_RATIO * w:
            return (1, _MAX_RATIO)
        g = math.gcd(w, h)
        return (w // g, h // g)
    return (1, 1)


def panel_dimensions(aspect: tuple[int, int], long_side: int = PANEL_SIZE) -> tuple[int, int]:
    """Return ``(width, height)`` of a panel with ``aspect`` whose long side is ``long_side``.

    Both dimensions are even (video codecs and 2x2 grids like even sizes) and at least 2.  An
    invalid aspect falls back to square rather than raising, mirroring :func:`parse_aspect`.
    """
    w, h = aspect
    if w <= 0 or h <= 0:
        w, h = 1, 1
    ratio = min(max(w / h, 1 / _MAX_RATIO), _MAX_RATIO)
    long_even = max(2, int(long_side) // 2 * 2)
    short = max(2, round(long_even * min(ratio, 1 / ratio) / 2) * 2)
    return (long_even, short) if ratio >= 1 else (short, long_even)


def _split_params(prompt: str) -> tuple[str, str]:
    """Split a prompt into its descriptive text and its trailing ``--parameters``."""
    match = _PARAM_START_RE.search(prompt)
    if match is None:
        return prompt.strip(), ""
    return prompt[: match.start()].strip(), " ".join(prompt[match.start() :].split())


def _display_text(prompt: str, limit: int) -> str:
    """Prompt text as drawn on a panel: no parameters, no image URLs, no control characters.

    URLs are image references rather than description and would fill the whole caption band.
    Surrogates and control characters are replaced because the text layout engine may reject
    them; anything else the font lacks simply renders as a box.
    """
    text, _ = _split_params(prompt[: limit * 4 + 64])
    text = _URL_RE.sub(" ", text)
    text = "".join(
        " " if unicodedata.category(ch) in {"Cc", "Cs", "Zl", "Zp"} else ch for ch in text[:limit]
    )
    return " ".join(text.split())


# --------------------------------------------------------------------------------------------
# Determinism helpers and palettes
# --------------------------------------------------------------------------------------------


def _digest(*parts: object) -> int:
    """Stable 128-bit hash of ``parts`` (Python's ``hash`` is salted per process)."""
    raw = "\x1f".join(str(p) for p in parts).encode("utf-8", "surrogatepass")
    return int.from_bytes(hashlib.blake2b(raw, digest_size=16).digest(), "big")


def _rng(*parts: object) -> random.Random:
    return random.Random(_digest(*parts))


def _clamp(value: float, low: float, high: float) -> float:
    return low if value < low else high if value > high else value


def _hls(hue: float, lightness: float, saturation: float) -> RGB:
    r, g, b = colorsys.hls_to_rgb(hue % 1.0, lightness, saturation)
    return (round(r * 255), round(g * 255), round(b * 255))


def _mix(a: RGB, b: RGB, t: float) -> RGB:
    return (
        round(a[0] + (b[0] - a[0]) * t),
        round(a[1] + (b[1] - a[1]) * t),
        round(a[2] + (b[2] - a[2]) * t),
    )


@dataclass(frozen=True)
class _Palette:
    """A hue scheme plus global saturation/lightness biases; colours are derived on demand."""

    hue: float
    offsets: tuple[float, ...]
    saturation: float
    lightness: float

    def color(self, k: int, lightness: float, saturation: float = 0.7) -> RGB:
        hue = self.hue + self.offsets[k % len(self.offsets)]
        light = _clamp(lightness + self.lightness, 0.03, 0.97)
        return _hls(hue, light, _clamp(saturation * self.saturation, 0.0, 1.0))

    def shifted(self, dh: float) -> _Palette:
        return replace(self, hue=(self.hue + dh) % 1.0)


def _words(text: str) -> frozenset[str]:
    """Word set from a whitespace-separated literal (compact to read and to edit)."""
    return frozenset(text.split())


_HUE_WORDS: Final[dict[str, float]] = {
    "red": 0.99,
    "crimson": 0.97,
    "scarlet": 0.99,
    "blood": 0.98,
    "orange": 0.07,
    "amber": 0.09,
    "sunset": 0.05,
    "sunrise": 0.08,
    "autumn": 0.07,
    "fire": 0.04,
    "lava": 0.03,
    "gold": 0.12,
    "golden": 0.12,
    "yellow": 0.15,
    "desert": 0.1,
    "sand": 0.11,
    "lime": 0.25,
    "green": 0.33,
    "forest": 0.3,
    "jungle": 0.32,
    "emerald": 0.4,
    "mint": 0.42,
    "teal": 0.48,
    "cyan": 0.5,
    "turquoise": 0.47,
    "ocean": 0.55,
    "sea": 0.55,
    "underwater": 0.53,
    "sky": 0.57,
    "ice": 0.54,
    "winter": 0.58,
    "snow": 0.58,
    "blue": 0.6,
    "night": 0.64,
    "navy": 0.63,
    "indigo": 0.68,
    "space": 0.7,
    "galaxy": 0.74,
    "nebula": 0.8,
    "purple": 0.78,
    "violet": 0.76,
    "lavender": 0.75,
    "magenta": 0.85,
    "neon": 0.86,
    "pink": 0.92,
    "rose": 0.95,
    "cherry": 0.95,
    "sakura": 0.94,
}
_DARK_WORDS: Final = frozenset(
    {"dark", "night", "noir", "gothic", "moody", "horror", "shadow", "midnight", "space"}
)
_PASTEL_WORDS: Final = frozenset({"pastel", "soft", "dreamy", "gentle", "light", "airy", "pale"})
_VIVID_WORDS: Final = frozenset({"neon", "vivid", "cyberpunk", "psychedelic", "vibrant", "bold"})
_MONO_WORDS: Final = frozenset({"monochrome", "grayscale", "greyscale", "noir", "bw"})
_SCHEMES: Final[tuple[tuple[float, ...], ...]] = (
    (0.0, 0.07, -0.07, 0.14),  # analogous
    (0.0, 0.5, 0.05, 0.55),  # complementary
    (0.0, 0.33, 0.67, 0.08),  # triadic
    (0.0, 0.42, 0.58, -0.05),  # split complementary
    (0.0, 0.12, 0.5, -0.1),  # accent
)

_STYLE_WORDS: Final[dict[str, frozenset[str]]] = {
    "landscape": _words(
        "mountain mountains landscape valley hills hill sunset sunrise horizon countryside "
        "field fields lake meadow castle village scenery travel"
    ),
    "waves": _words(
        "ocean sea wave waves desert dune dunes river beach sand surf coast shore water"
    ),
    "cosmos": _words(
        "space galaxy star stars planet planets cosmic nebula universe astronaut moon "
        "orbit sci-fi scifi"
    ),
    "geometric": _words(
        "geometric bauhaus poster minimal minimalist architecture city building cubism "
        "logo icon pattern modern"
    ),
    "fluid": _words(
        "abstract fluid dream dreamy portrait flower flowers paint painting ink swirl liquid smoke"
    ),
}
_STYLE_NAMES: Final[tuple[str, ...]] = ("landscape", "fluid", "waves", "cosmos", "geometric")


def _prompt_words(prompt: str) -> list[str]:
    text, _ = _split_params(prompt[:4000])
    return [w.lower() for w in _WORD_RE.findall(_URL_RE.sub(" ", text))]


def _make_palette(words: Sequence[str], seed: int) -> _Palette:
    """Palette seeded by the prompt words, nudged by colour/mood words and slightly by the seed.

    Colour words pick the base hue so "a red fox" actually comes out reddish, which is what makes
    the sandbox output feel like it "listened" to the prompt.
    """
    key = _digest("palette", " ".join(words))
    hue = (key % 3600) / 3600
    hinted = [_HUE_WORDS[w] for w in words if w in _HUE_WORDS]
    if hinted:
        hue = hinted[0] + ((key >> 12) % 100 - 50) / 2500
    hue += (_digest("seed-hue", seed) % 1000 - 500) / 20000  # +-0.025
    scheme = _SCHEMES[(key >> 24) % len(_SCHEMES)]
    sat, light = 0.85, 0.0
    wordset = set(words)
    if wordset & _DARK_WORDS:
        light -= 0.14
    if wordset & _PASTEL_WORDS:
        sat, light = 0.5, light + 0.1
    if wordset & _VIVID_WORDS:
        sat = 1.0
    if wordset & _MONO_WORDS:
        sat = 0.08
    return _Palette(hue=hue % 1.0, offsets=scheme, saturation=sat, lightness=light)


def _panel_styles(words: Sequence[str], seed: int) -> list[str]:
    """Four different scene styles: the prompt's best match first, the rest shuffled by seed."""
    scores = {name: sum(w in vocab for w in words) for name, vocab in _STYLE_WORDS.items()}
    best = max(scores.values())
    if best > 0:
        primary = next(name for name in _STYLE_NAMES if scores[name] == best)
    else:
        primary = _STYLE_NAMES[_digest("style", " ".join(words)) % len(_STYLE_NAMES)]
    others = [s for s in _STYLE_NAMES if s != primary]
    _rng("styles", " ".join(words), seed).shuffle(others)
    return [primary, *others[:3]]


# --------------------------------------------------------------------------------------------
# Scene painting
# --------------------------------------------------------------------------------------------


def _vertical_gradient(size: tuple[int, int], stops: Sequence[RGB]) -> Image.Image:
    """Smooth top-to-bottom gradient through ``stops`` (evenly spaced)."""
    w, h = size
    strip = Image.new("RGB", (1, 256))
    px = strip.load()
    assert px is not None
    segments = len(stops) - 1
    for y in range(256):
        t = y / 255 * segments
        i = min(int(t), segments - 1)
        px[0, y] = _mix(stops[i], stops[i + 1], t - i)
    return strip.resize((w, h), _BILINEAR)


def _soft_base(size: tuple[int, int], stops: Sequence[RGB]) -> tuple[Image.Image, float]:
    """Quarter-resolution canvas for the blurred layers and its scale relative to ``size``."""
    w, h = size
    sw, sh = max(8, w // 4), max(8, h // 4)
    return _vertical_gradient((sw, sh), stops), sw / w


def _finish_soft(soft: Image.Image, size: tuple[int, int], blur: float) -> Image.Image:
    radius = max(1.0, blur * max(soft.size))
    return soft.filter(ImageFilter.GaussianBlur(radius)).resize(size, _BICUBIC)


def _blobs(
    draw: ImageDraw.ImageDraw,
    size: tuple[int, int],
    rng: random.Random,
    colors: Sequence[RGB],
    count: int,
    radius: tuple[float, float],
    alpha: tuple[int, int],
    stretch: float = 1.0,
) -> None:
    w, h = size
    for _ in range(count):
        cx, cy = rng.uniform(-0.1, 1.1) * w, rng.uniform(-0.1, 1.1) * h
        r = rng.uniform(*radius) * max(w, h)
        rx, ry = r * rng.uniform(0.7, 1.3) * stretch, r * rng.uniform(0.6, 1.2)
        c = rng.choice(colors)
        draw.ellipse((cx - rx, cy - ry, cx + rx, cy + ry), fill=(*c, rng.randint(*alpha)))


@lru_cache(maxsize=1)
def _haze_mask() -> Image.Image:
    """Vertical soft bump (0 -> peak -> 0) so haze bands never show a hard edge."""
    mask = Image.new("L", (1, 64))
    mask.putdata([round(60 * math.sin(math.pi * i / 63) ** 2) for i in range(64)])
    return mask


def _scene_landscape(
    size: tuple[int, int], pal: _Palette, rng: random.Random, detail: random.Random
) -> Image.Image:
    w, h = size
    sky_top, sky_mid = pal.color(0, 0.3, 0.75), pal.color(1, 0.58, 0.75)
    horizon = pal.color(3, 0.76, 0.9)
    soft, _ = _soft_base(size, [sky_top, sky_mid, horizon, horizon])
    sw, sh = soft.size
    draw = ImageDraw.Draw(soft, "RGBA")
    sun_x, sun_y = rng.uniform(0.2, 0.8), rng.uniform(0.22, 0.5)
    glow = pal.color(3, 0.85, 0.9)
    for k, (radius, alpha) in enumerate(((0.45, 60), (0.3, 90), (0.18, 140))):
        r = radius * max(sw, sh)
        c = _mix(glow, (255, 255, 255), k * 0.2)
        draw.ellipse(
            (sun_x * sw - r, sun_y * sh - r, sun_x * sw + r, sun_y * sh + r), fill=(*c, alpha)
        )
    _blobs(
        draw,
        (sw, round(sh * 0.55)),
        rng,
        [pal.color(1, 0.8, 0.3), pal.color(2, 0.7, 0.4)],
        6,
        (0.05, 0.12),
        (40, 90),
        stretch=2.6,
    )
    img = _finish_soft(soft, size, 0.03)
    crisp = ImageDraw.Draw(img, "RGBA")
    sun_r = rng.uniform(0.04, 0.07) * max(w, h)
    crisp.ellipse(
        (sun_x * w - sun_r, sun_y * h - sun_r, sun_x * w + sun_r, sun_y * h + sun_r),
        fill=(*_mix(glow, (255, 255, 255), 0.6), 235),
    )
    layers = rng.randint(4, 5)
    far, near = _mix(pal.color(1, 0.6, 0.35), horizon, 0.35), pal.color(2, 0.1, 0.5)
    points = 48
    for k in range(layers):
        t = k / (layers - 1)
        base = 0.5 + 0.1 * rng.random() + t * 0.32
        amp = (0.05 + 0.11 * (1 - t)) * rng.uniform(0.7, 1.2)
        waves = [
            (rng.uniform(0.6, 3.5), rng.uniform(0, math.tau), rng.uniform(0.3, 1.0))
            for _ in range(3)
        ]
        walk, ys = 0.0, []
        for i in range(points + 1):
            x = i / points
            walk = walk * 0.8 + rng.uniform(-1, 1) * 0.25
            y = base - amp * (sum(a * math.sin(math.tau * f * x + p) for f, p, a in waves) / 1.6)
            ys.append(y + walk * amp * 0.35)
        poly = [(i / points * w, y * h + detail.uniform(-0.6, 0.6)) for i, y in enumerate(ys)]
        poly += [(w + 2, h + 2), (-2, h + 2)]
        crisp.polygon(poly, fill=(*_mix(far, near, t), 255))
        if k < layers - 1:  # haze hanging over each ridge gives atmospheric depth
            top = min(ys) * h
            band_h = max(4, int(0.16 * h))
            y0 = max(0, int(top + 0.02 * h))
            y1 = min(h, y0 + band_h)
            if y1 - y0 >= 2:
                mask = _haze_mask().resize((w, y1 - y0), _BILINEAR)
                img.paste(Image.new("RGB", (w, y1 - y0), horizon), (0, y0), mask)
    return img


def _scene_fluid(
    size: tuple[int, int], pal: _Palette, rng: random.Random, detail: random.Random
) -> Image.Image:
    w, h = size
    soft, _ = _soft_base(
        size, [pal.color(0, 0.35, 0.7), pal.color(1, 0.55, 0.7), pal.color(2, 0.4, 0.7)]
    )
    sw, sh = soft.size
    draw = ImageDraw.Draw(soft, "RGBA")
    colors = [pal.color(k, rng.uniform(0.3, 0.75), rng.uniform(0.6, 1.0)) for k in range(4)]
    _blobs(draw, (sw, sh), rng, colors, 9, (0.12, 0.3), (110, 210))
    _blobs(draw, (sw, sh), rng, [pal.color(3, 0.9, 0.8)], 2, (0.05, 0.1), (90, 150))
    img = _finish_soft(soft, size, 0.06)
    crisp = ImageDraw.Draw(img, "RGBA")
    light = pal.color(3, 0.92, 0.6)
    for _ in range(3):
        cx, cy = rng.uniform(0.15, 0.85) * w, rng.uniform(0.15, 0.75) * h
        r = rng.uniform(0.06, 0.22) * max(w, h)
        crisp.ellipse(
            (cx - r, cy - r, cx + r, cy + r),
            outline=(*light, rng.randint(70, 150)),
            width=max(1, round(max(w, h) * rng.uniform(0.002, 0.007))),
        )
    for _ in range(2):
        cx, cy = rng.uniform(0, 1) * w, rng.uniform(0, 1) * h
        r = rng.uniform(0.3, 0.6) * max(w, h)
        start = rng.uniform(0, 360)
        crisp.arc(
            (cx - r, cy - r, cx + r, cy + r),
            start,
            start + rng.uniform(40, 120),
            fill=(*light, 110),
            width=max(1, round(max(w, h) * 0.004)),
        )
    for _ in range(round(18 * w * h / PANEL_SIZE**2) + 4):
        cx, cy = detail.uniform(0, w), detail.uniform(0, h)
        r = detail.uniform(0.6, 2.2) * max(w, h) / PANEL_SIZE
        crisp.ellipse((cx - r, cy - r, cx + r, cy + r), fill=(*light, detail.randint(90, 200)))
    return img


def _scene_waves(
    size: tuple[int, int], pal: _Palette, rng: random.Random, detail: random.Random
) -> Image.Image:
    w, h = size
    soft, _ = _soft_base(
        size, [pal.color(0, 0.72, 0.4), pal.color(3, 0.82, 0.6), pal.color(1, 0.6, 0.5)]
    )
    sw, sh = soft.size
    draw = ImageDraw.Draw(soft, "RGBA")
    _blobs(draw, (sw, round(sh * 0.4)), rng, [pal.color(3, 0.9, 0.7)], 3, (0.1, 0.2), (60, 110))
    img = _finish_soft(soft, size, 0.05)
    crisp = ImageDraw.Draw(img, "RGBA")
    bands = rng.randint(6, 8)
    top_c, bottom_c = pal.color(1, 0.62, 0.6), pal.color(2, 0.14, 0.7)
    steps = 64
    tilt = rng.uniform(-0.12, 0.12)
    for k in range(bands):
        t = k / (bands - 1)
        base = 0.3 + 0.62 * t + rng.uniform(-0.03, 0.03)
        amp = rng.uniform(0.015, 0.05)
        f1, f2 = rng.uniform(0.8, 2.6), rng.uniform(3, 6)
        p1, p2 = rng.uniform(0, math.tau), rng.uniform(0, math.tau)
        curve = [
            (
                i / steps * w,
                (
                    base
                    + tilt * (i / steps - 0.5) * (1 - t)
                    + amp * math.sin(math.tau * f1 * i / steps + p1)
                    + amp * 0.3 * math.sin(math.tau * f2 * i / steps + p2)
                )
                * h,
            )
            for i in range(steps + 1)
        ]
        color = _mix(top_c, bottom_c, t)
        crisp.polygon([*curve, (w + 2, h + 2), (-2, h + 2)], fill=(*color, 255))
        crisp.line(
            curve, fill=(*_mix(color, (255, 255, 255), 0.45), 150), width=max(1, round(h * 0.004))
        )
    for _ in range(round(40 * w * h / PANEL_SIZE**2)):
        x, y = detail.uniform(0, w), detail.uniform(0.35, 1) * h
        crisp.point((x, y), fill=(255, 255, 255, detail.randint(40, 120)))
    return img


def _scene_cosmos(
    size: tuple[int, int], pal: _Palette, rng: random.Random, detail: random.Random
) -> Image.Image:
    w, h = size
    soft, _ = _soft_base(
        size, [pal.color(0, 0.06, 0.5), pal.color(1, 0.14, 0.6), pal.color(2, 0.08, 0.5)]
    )
    sw, sh = soft.size
    draw = ImageDraw.Draw(soft, "RGBA")
    nebula = [pal.color(k, rng.uniform(0.35, 0.6), 0.9) for k in range(4)]
    _blobs(draw, (sw, sh), rng, nebula, 10, (0.06, 0.22), (45, 120), stretch=1.6)
    img = _finish_soft(soft, size, 0.05)
    crisp = ImageDraw.Draw(img, "RGBA")
    scale = max(w, h) / PANEL_SIZE
    for _ in range(round(260 * w * h / PANEL_SIZE**2)):
        x, y = detail.uniform(0, w), detail.uniform(0, h)
        r = detail.choice((0.5, 0.5, 0.5, 0.9, 1.4)) * scale
        crisp.ellipse((x - r, y - r, x + r, y + r), fill=(255, 255, 255, detail.randint(60, 230)))
    px, py = rng.uniform(0.25, 0.75) * w, rng.uniform(0.25, 0.6) * h
    pr = rng.uniform(0.1, 0.2) * max(w, h)
    box = (round(px - pr), round(py - pr), round(px + pr), round(py + pr))
    disc = Image.new("L", (box[2] - box[0], box[3] - box[1]), 0)
    ImageDraw.Draw(disc).ellipse((0, 0, disc.width - 1, disc.height - 1), fill=255)
    shade = _vertical_gradient(
        disc.size, [pal.color(3, 0.8, 0.7), pal.color(1, 0.45, 0.7), pal.color(0, 0.12, 0.6)]
    )
    shade = shade.rotate(
        rng.uniform(-60, 60), resample=_BILINEAR, expand=False, fillcolor=pal.color(0, 0.12, 0.6)
    )
    img.paste(shade, box[:2], disc)
    tilt = rng.uniform(0.18, 0.35)
    ring = (px - pr * 1.7, py - pr * 1.7 * tilt, px + pr * 1.7, py + pr * 1.7 * tilt)
    crisp.arc(ring, 0, 180, fill=(*pal.color(3, 0.85, 0.5), 200), width=max(2, round(pr * 0.06)))
    return img


def _scene_geometric(
    size: tuple[int, int], pal: _Palette, rng: random.Random, detail: random.Random
) -> Image.Image:
    w, h = size
    soft, _ = _soft_base(size, [pal.color(3, 0.86, 0.35), pal.color(0, 0.76, 0.4)])
    sw, sh = soft.size
    _blobs(
        ImageDraw.Draw(soft, "RGBA"),
        (sw, sh),
        rng,
        [pal.color(1, 0.7, 0.5)],
        3,
        (0.15, 0.3),
        (50, 100),
    )
    img = _finish_soft(soft, size, 0.06)
    crisp = ImageDraw.Draw(img, "RGBA")
    m = max(w, h)
    shadow = max(2, round(m * 0.012))
    for _ in range(rng.randint(6, 8)):
        kind = rng.choice(("circle", "rect", "tri", "half"))
        cx, cy = rng.uniform(0.1, 0.9) * w, rng.uniform(0.1, 0.8) * h
        r = rng.uniform(0.08, 0.24) * m
        color = (
            *pal.color(rng.randrange(4), rng.uniform(0.2, 0.65), rng.uniform(0.6, 1)),
            rng.randint(170, 235),
        )
        angle = rng.uniform(0, math.tau)
        shape: list[tuple[float, float]]
        if kind == "rect":
            shape = [
                (cx + r * math.cos(angle + a) * 1.2, cy + r * math.sin(angle + a) * 0.8)
                for a in (0.6, math.pi - 0.6, math.pi + 0.6, math.tau - 0.6)
            ]
        elif kind == "tri":
            shape = [
                (
                    cx + r * math.cos(angle + k * math.tau / 3),
                    cy + r * math.sin(angle + k * math.tau / 3),
                )
                for k in range(3)
            ]
        else:
            shape = []
        if shape:
            crisp.polygon([(x + shadow, y + shadow) for x, y in shape], fill=(0, 0, 0, 45))
            crisp.polygon(shape, fill=color)
        elif kind == "circle":
            crisp.ellipse(
                (cx - r + shadow, cy - r + shadow, cx + r + shadow, cy + r + shadow),
                fill=(0, 0, 0, 45),
            )
            crisp.ellipse((cx - r, cy - r, cx + r, cy + r), fill=color)
        else:
            start = rng.choice((0, 90, 180, 270))
            crisp.pieslice((cx - r, cy - r, cx + r, cy + r), start, start + 180, fill=color)
    line = (*pal.color(0, 0.15, 0.5), 200)
    for _ in range(2):
        y = rng.uniform(0.15, 0.85) * h
        crisp.line(
            (0, y, w, y + rng.uniform(-0.2, 0.2) * h), fill=line, width=max(1, round(m * 0.005))
        )
    for _ in range(round(12 * w * h / PANEL_SIZE**2) + 3):
        x, y = detail.uniform(0, w), detail.uniform(0, h)
        r = detail.uniform(1.0, 3.0) * m / PANEL_SIZE
        crisp.ellipse((x - r, y - r, x + r, y + r), fill=(*line[:3], detail.randint(60, 160)))
    return img


_SceneFn = Callable[[tuple[int, int], _Palette, random.Random, random.Random], Image.Image]
_SCENES: Final[dict[str, _SceneFn]] = {
    "landscape": _scene_landscape,
    "fluid": _scene_fluid,
    "waves": _scene_waves,
    "cosmos": _scene_cosmos,
    "geometric": _scene_geometric,
}


@lru_cache(maxsize=16)
def _vignette(size: tuple[int, int]) -> Image.Image:
    """Darkening mask (as RGB for ``ImageChops.multiply``); cached because sizes repeat."""
    mask = Image.radial_gradient("L").resize(size, _BILINEAR)
    lut = [round(255 - 70 * max(0.0, (v / 255 - 0.45) / 0.55) ** 1.6) for v in range(256)]
    mask = mask.point(lut)
    return Image.merge("RGB", (mask, mask, mask))


def _grain(img: Image.Image, rng: random.Random, amount: float = 0.035) -> Image.Image:
    """Monochrome film grain: hides banding and gives upscales genuine pixel-level detail."""
    w, h = img.size
    noise = Image.frombytes("L", (w, h), rng.randbytes(w * h))
    noise = noise.point([round(128 + (v - 128) * amount) for v in range(256)])
    return ImageChops.add(img, Image.merge("RGB", (noise, noise, noise)), 1.0, -128)


def _scene(size: tuple[int, int], pal: _Palette, style: str, *keys: object) -> Image.Image:
    """Paint one finished picture (no text): style layout + vignette + grain.

    Layout draws from ``rng`` a size-independent number of times, so re-rendering at another size
    (upscale) keeps the same composition; size-dependent detail uses a separate ``detail`` stream.
    """
    rng = _rng("layout", *keys)
    detail = _rng("detail", size, *keys)
    img = _SCENES[style](size, pal, rng, detail)
    img = ImageChops.multiply(img, _vignette(size))
    return _grain(img, detail)


# --------------------------------------------------------------------------------------------
# Text overlay
# --------------------------------------------------------------------------------------------


@lru_cache(maxsize=32)
def _font(size: int) -> _Font:
    return ImageFont.load_default(size=size)


def _fit_prefix(text: str, font: _Font, max_width: float) -> int:
    """Longest prefix length of ``text`` that fits ``max_width`` (binary search, >= 1)."""
    lo, hi = 1, len(text)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if font.getlength(text[:mid]) <= max_width:
            lo = mid
        else:
            hi = mid - 1
    return lo


@lru_cache(maxsize=64)
def _wrap(text: str, font_size: int, max_width: float, max_lines: int) -> tuple[str, ...]:
    """Greedy word wrap; over-long words (e.g. CJK without spaces) are split; overflow gets '…'.

    Cached because the four panels of a job (and its upscales' re-renders) wrap the same text.
    """
    font = _font(font_size)
    lines: list[str] = []
    current = ""
    words = text.split(" ")
    overflow = False
    for word in words:
        while word:
            candidate = f"{current} {word}" if current else word
            if font.getlength(candidate) <= max_width:
                current, word = candidate, ""
                continue
            if current:
                lines.append(current)
                current = ""
            else:
                cut = _fit_prefix(word, font, max_width)
                lines.append(word[:cut])
                word = word[cut:]
            if len(lines) >= max_lines:
                overflow = True
                break
        if overflow:
            break
    if not overflow and current:
        lines.append(current)
    if overflow and lines:
        last = lines[-1].rstrip()
        while last and font.getlength(last + "…") > max_width:
            last = last[:-1].rstrip()
        lines[-1] = last + "…"
    return tuple(lines)


def _draw_text(
    draw: ImageDraw.ImageDraw,
    xy: tuple[float, float],
    text: str,
    font: _Font,
    fill: tuple[int, ...],
    anchor: str | None = None,
) -> None:
    """Draw text; if the layout engine rejects exotic input, fall back to ASCII, never fail."""
    try:
        draw.text(xy, text, font=font, fill=fill, anchor=anchor)
    except (OSError, ValueError, UnicodeError):
        safe = text.encode("ascii", "replace").decode("ascii")
        draw.text(xy, safe, font=font, fill=fill, anchor=anchor)


def _caption(img: Image.Image, prompt: str) -> None:
    """Draw the prompt text on a translucent band at the bottom of ``img`` (in place)."""
    w, h = img.size
    size = max(9, round(min(max(w, h) * 0.033, w * 0.05, h * 0.06)))
    font = _font(size)
    pad = max(4, round(size * 0.7))
    max_width = w - 2 * pad
    max_lines = 3 if h >= w * 0.6 else 2
    limit = int(max_lines * max_width / (size * 0.2)) + 8
    text = _display_text(prompt, limit)
    if not text:
        return
    lines = _wrap(text, size, max_width, max_lines)
    line_h = round(size * 1.3)
    band_h = len(lines) * line_h + 2 * pad
    top = h - band_h
    fade = round(band_h * 0.5)
    region_top = max(0, top - fade)
    region = img.crop((0, region_top, w, h))
    ramp = Image.new("L", (1, 256))
    ramp.putdata(
        [round(150 * min(1.0, i / 255 * (band_h + fade) / max(1, fade))) for i in range(256)]
    )
    dark = Image.new("RGB", region.size, (8, 8, 12))
    img.paste(Image.composite(dark, region, ramp.resize(region.size, _BILINEAR)), (0, region_top))
    draw = ImageDraw.Draw(img)
    shadow = max(1, size // 14)
    for i, line in enumerate(lines):
        y = top + pad + i * line_h
        _draw_text(draw, (pad + shadow, y + shadow), line, font, (0, 0, 0))
        _draw_text(draw, (pad, y), line, font, (245, 245, 240))


def _label_geometry(size: tuple[int, int]) -> tuple[int, int, int]:
    """Font size, padding and box side of the corner badge for a picture of ``size``."""
    font_size = max(9, round(min(size) * 0.04))
    return font_size, max(3, font_size // 2), round(font_size * 1.7)


def _label(
    img: Image.Image,
    number: int,
    *,
    origin: tuple[int, int] = (0, 0),
    basis: tuple[int, int] | None = None,
    cover: bool = False,
) -> None:
    """Small corner badge "1".."4" like the numbered buttons under a Midjourney grid.

    Derived renders (pan, variation) start from a picture that already carries a badge; with
    ``cover`` the new badge is drawn slightly larger and nearly opaque at the old badge's place
    (``origin``/``basis`` give the source's position and size) so only one number is visible.
    """
    font_size, pad, box = _label_geometry(basis or img.size)
    grow = round(box * 0.2) if cover else 0
    x0, y0 = origin[0] + pad - grow, origin[1] + pad - grow
    side = box + 2 * grow
    draw = ImageDraw.Draw(img, "RGBA")
    draw.rounded_rectangle(
        (x0, y0, x0 + side, y0 + side), radius=side // 4, fill=(10, 10, 14, 235 if cover else 130)
    )
    centre = (x0 + side / 2, y0 + side / 2)
    _draw_text(draw, centre, str(number), _font(font_size), (255, 255, 255, 235), anchor="mm")


# --------------------------------------------------------------------------------------------
# Public rendering API
# --------------------------------------------------------------------------------------------


def _check_long_side(long_side: int) -> None:
    if not _MIN_LONG_SIDE <= long_side <= _MAX_LONG_SIDE:
        raise ValueError(f"long_side must be in {_MIN_LONG_SIDE}..{_MAX_LONG_SIDE}")


def _render_panel(prompt: str, seed: int, index: int, size: tuple[int, int]) -> Image.Image:
    words = _prompt_words(prompt)
    pal = _make_palette(words, seed)
    style = _panel_styles(words, seed)[index]
    shifts = [0.0, 0.045, -0.045, 0.09]
    _rng("shifts", " ".join(words), seed).shuffle(shifts)
    img = _scene(size, pal.shifted(shifts[index]), style, " ".join(words), seed, index)
    _caption(img, prompt)
    _label(img, index + 1)
    return img


def render_panels(
    prompt: str, seed: int, *, aspect: tuple[int, int] = (1, 1), long_side: int = PANEL_SIZE
) -> list[Image.Image]:
    """Four visibly distinct panels for ``prompt`` and ``seed`` — a stand-in for an imagine job.

    The palette comes from a hash of the prompt words (colour and mood words steer it), each panel
    gets a different scene style, hue shift and layout seeded by ``seed`` and its index, and the
    prompt (without parameters) is captioned on every panel with a "1".."4" badge so users can
    tell which button belongs to which picture.
    """
    _check_long_side(long_side)
    size = panel_dimensions(aspect, long_side)
    return [_render_panel(prompt, seed, i, size) for i in range(4)]


def compose_grid(panels: list[Image.Image]) -> Image.Image:
    """Paste four equally sized panels into a seamless 2x2 grid (1 2 / 3 4), like Midjourney."""
    if len(panels) != 4:
        raise ValueError("compose_grid needs exactly four panels")
    w, h = panels[0].size
    if any(p.size != (w, h) for p in panels):
        raise ValueError("all panels must have the same size")
    grid = Image.new("RGB", (2 * w, 2 * h))
    for i, panel in enumerate(panels):
        grid.paste(_rgb(panel), ((i % 2) * w, (i // 2) * h))
    return grid


def render_upscale(
    prompt: str, seed: int, index: int, *, aspect: tuple[int, int] = (1, 1)
) -> Image.Image:
    """Panel ``index`` (1-4) repainted at twice the panel size.

    The composition is identical to the grid panel (layout randomness is size-independent) but it
    is drawn at full resolution, so edges, stars and grain are genuinely sharp rather than an
    interpolated blow-up.
    """
    if not 1 <= index <= 4:
        raise ValueError("index must be 1..4")
    w, h = panel_dimensions(aspect)
    # Exactly twice the grid panel (panel_dimensions(aspect, 1024) can differ by rounding).
    return _render_panel(prompt, seed, index - 1, (2 * w, 2 * h))


def _rgb(image: Image.Image) -> Image.Image:
    """``image`` as RGB (returned as-is if already RGB, never mutated).

    Alpha is flattened onto white so transparent areas do not turn black.
    """
    if image.mode == "RGB":
        return image
    if image.mode in {"RGBA", "LA", "PA"} or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


def _ambient(source: Image.Image, size: tuple[int, int]) -> Image.Image:
    """Heavily blurred stretch of ``source``: continues its colours into generated surroundings."""
    small = source.resize(
        (max(4, size[0] // 16), max(4, size[1] // 16)), _BILINEAR, reducing_gap=2.0
    )
    return small.filter(ImageFilter.GaussianBlur(max(small.size) / 10)).resize(size, _BICUBIC)


def _image_key(image: Image.Image) -> str:
    """Short content fingerprint so derived renders change when the input picture changes."""
    return hashlib.blake2b(image.resize((16, 16), _BILINEAR).tobytes(), digest_size=8).hexdigest()


def _source_styles(prompt: str, seed: int, key: str) -> tuple[_Palette, list[str]]:
    words = _prompt_words(prompt)
    return _make_palette(words, seed), _panel_styles([*words, key], seed)


def render_zoom_out(
    source: Image.Image, factor: float, prompt: str, seed: int
) -> list[Image.Image]:
    """Four zoom-outs: ``source`` shrunk by ``1/factor`` in the centre of new surroundings.

    The output keeps the source size (as Midjourney's zoom does).  Surroundings blend a generated
    scene (different per panel) with a blurred stretch of the source so colours continue
    naturally, and the pasted source gets a thin feathered edge instead of a hard seam.
    ``factor`` is clamped to 1..4 (non-finite values mean 2, Midjourney's "Zoom Out 2x").
    """
    src = _rgb(source)
    w, h = src.size
    factor = 2.0 if not math.isfinite(factor) else _clamp(factor, 1.0, 4.0)
    sw, sh = max(1, round(w / factor)), max(1, round(h / factor))
    small = src.resize((sw, sh), Image.Resampling.LANCZOS, reducing_gap=3.0)
    feather = max(1, round(min(sw, sh) * 0.05))
    mask = Image.new("L", (sw, sh), 0)
    ImageDraw.Draw(mask).rectangle((feather, feather, sw - 1 - feather, sh - 1 - feather), fill=255)
    mask = mask.filter(ImageFilter.GaussianBlur(feather / 2))
    ambient = _ambient(src, (w, h))
    key = _image_key(src)
    pal, styles = _source_styles(prompt, seed, key)
    edge_mask = ImageOps.invert(_vignette((w, h)).getchannel(0)).point(
        lambda v: min(255, 90 + v * 4)
    )
    out = []
    for i in range(4):
        scene = _scene((w, h), pal.shifted(0.03 * i), styles[i], "zoom", key, factor, seed, i)
        canvas = Image.composite(scene, ambient, edge_mask)
        canvas.paste(small, ((w - sw) // 2, (h - sh) // 2), mask)
        _label(canvas, i + 1)
        out.append(canvas)
    return out


def render_pan(source: Image.Image, direction: str, prompt: str, seed: int) -> list[Image.Image]:
    """Four pans: the canvas grows by 50% towards ``direction`` and the new strip is generated.

    The source is kept pixel-for-pixel; the strip starts as a blurred mirror of the source edge
    (so the seam continues the picture) and fades into a generated scene that differs per variant.
    """
    direction = direction.strip().lower()
    if direction not in {"left", "right", "up", "down"}:
        raise ValueError("direction must be left, right, up or down")
    src = _rgb(source)
    w, h = src.size
    horizontal = direction in {"left", "right"}
    ext = max(1, math.ceil((w if horizontal else h) / 2))
    size = (w + ext, h) if horizontal else (w, h + ext)
    strip_size = (ext, h) if horizontal else (w, ext)
    if direction == "right":
        mirror = ImageOps.mirror(src).crop((0, 0, min(ext, w), h))
    elif direction == "left":
        mirror = ImageOps.mirror(src).crop((max(0, w - ext), 0, w, h))
    elif direction == "down":
        mirror = ImageOps.flip(src).crop((0, 0, w, min(ext, h)))
    else:
        mirror = ImageOps.flip(src).crop((0, max(0, h - ext), w, h))
    mirror = mirror.resize(strip_size, _BILINEAR)
    blur = mirror.resize((max(1, strip_size[0] // 6), max(1, strip_size[1] // 6)), _BILINEAR)
    blur = blur.filter(ImageFilter.GaussianBlur(1.5)).resize(strip_size, _BICUBIC)
    # Fade: 255 (mirror) at the seam -> 0 (generated) at the far edge.
    ramp = Image.linear_gradient("L")  # black at top, white at bottom
    if direction == "down":
        ramp = ImageOps.invert(ramp)
    elif direction == "right":
        ramp = ImageOps.invert(ramp.rotate(90))
    elif direction == "left":
        ramp = ramp.rotate(90)
    ramp = ramp.resize(strip_size, _BILINEAR).point(lambda v: round(255 * (v / 255) ** 0.7))
    sharp_ramp = ramp.point(lambda v: max(0, (v - 190) * 4))
    continuation = Image.composite(mirror, blur, sharp_ramp)
    key = _image_key(src)
    pal, styles = _source_styles(prompt, seed, key)
    src_pos = {"left": (ext, 0), "right": (0, 0), "up": (0, ext), "down": (0, 0)}[direction]
    strip_pos = {"left": (0, 0), "right": (w, 0), "up": (0, 0), "down": (0, h)}[direction]
    out = []
    for i in range(4):
        scene = _scene(size, pal.shifted(0.03 * i), styles[i], "pan", direction, key, seed, i)
        strip = scene.crop((*strip_pos, strip_pos[0] + strip_size[0], strip_pos[1] + strip_size[1]))
        scene.paste(Image.composite(continuation, strip, ramp), strip_pos)
        scene.paste(src, src_pos)
        _label(scene, i + 1, origin=src_pos, basis=src.size, cover=True)
        out.append(scene)
    return out


_BLEND_ASPECTS: Final[dict[str, tuple[int, int]]] = {
    "PORTRAIT": (2, 3),
    "SQUARE": (1, 1),
    "LANDSCAPE": (3, 2),
}


def _cover(image: Image.Image, size: tuple[int, int], rng: random.Random) -> Image.Image:
    """Scale-and-crop ``image`` to fill ``size`` with a seeded zoom and crop position."""
    w, h = size
    zoom = rng.uniform(1.0, 1.8)
    scale = max(w / image.width, h / image.height) * zoom
    cw, ch = min(image.width, w / scale), min(image.height, h / scale)
    x0 = rng.uniform(0, image.width - cw)
    y0 = rng.uniform(0, image.height - ch)
    return image.resize(size, _BICUBIC, box=(x0, y0, x0 + cw, y0 + ch), reducing_gap=2.0)


def _blob_mask(size: tuple[int, int], rng: random.Random, coverage: float) -> Image.Image:
    """Soft organic mask (blurred blobs drawn at low resolution) whose mean opacity ~ ``coverage``.

    Normalising the mean keeps every layer of a blend visible instead of letting the last source
    paint over everything.
    """
    sw, sh = max(8, size[0] // 8), max(8, size[1] // 8)
    mask = Image.new("L", (sw, sh), 0)
    draw = ImageDraw.Draw(mask)
    for _ in range(rng.randint(3, 5)):
        cx, cy = rng.uniform(0, sw), rng.uniform(0, sh)
        r = rng.uniform(0.12, 0.35) * max(sw, sh)
        draw.ellipse((cx - r, cy - r * rng.uniform(0.6, 1.2), cx + r, cy + r), fill=255)
    mask = mask.filter(ImageFilter.GaussianBlur(max(sw, sh) / 12))
    mean = max(1.0, ImageStat.Stat(mask).mean[0])
    gain = coverage * 255 / mean
    mask = mask.point([min(255, round(v * gain)) for v in range(256)])
    return mask.resize(size, _BICUBIC)


def render_blend(sources: list[Image.Image], dimensions: str, seed: int) -> list[Image.Image]:
    """Four blends of 2-5 ``sources`` at ``dimensions`` (PORTRAIT 2:3, SQUARE 1:1, LANDSCAPE 3:2).

    Each panel cover-crops every source with its own zoom/offset, stacks them in a seeded order
    through soft blob masks, and unifies the result with a light colour wash and grain.
    """
    if not 2 <= len(sources) <= 5:
        raise ValueError("blend needs 2 to 5 images")
    aspect = _BLEND_ASPECTS.get(dimensions.strip().upper())
    if aspect is None:
        raise ValueError("dimensions must be PORTRAIT, SQUARE or LANDSCAPE")
    size = panel_dimensions(aspect)
    srcs = []
    for s in sources:
        rgb = _rgb(s)
        if max(rgb.size) > 2 * PANEL_SIZE:  # pre-shrink huge uploads once, not per panel
            rgb = rgb.copy()
            rgb.thumbnail((2 * PANEL_SIZE, 2 * PANEL_SIZE), _BICUBIC, reducing_gap=2.0)
        srcs.append(rgb)
    key = "|".join(_image_key(s) for s in srcs)
    out = []
    for i in range(4):
        rng = _rng("blend", key, dimensions, seed, i)
        order = list(range(len(srcs)))
        rng.shuffle(order)
        result = _cover(srcs[order[0]], size, rng)
        for depth, idx in enumerate(order[1:], start=1):
            layer = _cover(srcs[idx], size, rng)
            mask = _blob_mask(size, rng, coverage=1 / (depth + 1))
            result = Image.composite(layer, result, mask)
        tint = _hls(rng.random(), 0.5, 0.6)
        result = Image.blend(result, Image.new("RGB", size, tint), rng.uniform(0.05, 0.18))
        result = ImageChops.multiply(result, _vignette(size))
        result = _grain(result, rng)
        _label(result, i + 1)
        out.append(result)
    return out


def _hue_shift(image: Image.Image, shift: float, saturation: float) -> Image.Image:
    """Rotate hue by ``shift`` turns and scale saturation with one 3x4 colour matrix.

    A matrix conversion is a single cheap pass, unlike a round trip through HSV.
    """
    cos_h, sin_h = math.cos(shift * math.tau), math.sin(shift * math.tau)
    # Hue rotation about the grey axis (the standard luminance-preserving formulation).
    rot = (
        0.213 + 0.787 * cos_h - 0.213 * sin_h,
        0.715 - 0.715 * cos_h - 0.715 * sin_h,
        0.072 - 0.072 * cos_h + 0.928 * sin_h,
        0.213 - 0.213 * cos_h + 0.143 * sin_h,
        0.715 + 0.285 * cos_h + 0.140 * sin_h,
        0.072 - 0.072 * cos_h - 0.283 * sin_h,
        0.213 - 0.213 * cos_h - 0.787 * sin_h,
        0.715 - 0.715 * cos_h + 0.715 * sin_h,
        0.072 + 0.928 * cos_h + 0.072 * sin_h,
    )
    lum = (0.213, 0.715, 0.072)
    matrix: list[float] = []
    for row in range(3):
        for col in range(3):
            grey = lum[col] * (1 - saturation)
            matrix.append(grey + saturation * rot[row * 3 + col])
        matrix.append(0.0)
    return image.convert("RGB", tuple(matrix))


def render_variation(
    source: Image.Image, prompt: str, seed: int, strength: float
) -> list[Image.Image]:
    """Four variations that stay recognisably ``source`` with seeded perturbations.

    ``strength`` (0.3 subtle .. 1.0 strong, clamped to 0..1) scales every perturbation: a small
    rotation and zoom (uncovered corners filled with the blurred source), a hue and saturation
    change, and a generated scene bleeding in through soft masks.
    """
    src = _rgb(source)
    w, h = src.size
    strength = 0.6 if not math.isfinite(strength) else _clamp(strength, 0.0, 1.0)
    key = _image_key(src)
    pal, styles = _source_styles(prompt, seed, key)
    ambient = _ambient(src, (w, h))
    opaque = Image.new("L", (w, h), 255)
    _, pad, box = _label_geometry((w, h))
    pivot = (pad + box / 2, pad + box / 2)
    out = []
    for i in range(4):
        rng = _rng("variation", key, prompt, seed, strength, i)
        angle = math.radians(rng.uniform(-1, 1) * (0.5 + 2.5 * strength))
        # No zoom-to-cover (it would crop the picture's edges and caption); the corners a
        # rotation uncovers are filled with the blurred source instead.
        zoom = 1 + rng.uniform(-0.03, 0.05) * strength
        cos_a, sin_a = math.cos(angle) / zoom, math.sin(angle) / zoom
        # Inverse mapping output -> input: rotation and zoom about the badge centre, so the
        # source's own "N" badge stays put and is hidden under the new one.
        cx, cy = pivot
        data = (
            cos_a,
            sin_a,
            cx - cos_a * cx - sin_a * cy,
            -sin_a,
            cos_a,
            cy + sin_a * cx - cos_a * cy,
        )
        img = src.transform((w, h), Image.Transform.AFFINE, data, resample=_BILINEAR)
        covered = opaque.transform((w, h), Image.Transform.AFFINE, data)
        img = Image.composite(img, ambient, covered)
        img = _hue_shift(
            img, rng.uniform(-1, 1) * 0.1 * strength, 1 + rng.uniform(-0.35, 0.35) * strength
        )
        scene = _scene((w, h), pal.shifted(rng.uniform(-0.1, 0.1)), styles[i], "var", key, seed, i)
        img = Image.composite(scene, img, _blob_mask((w, h), rng, 0.08 + 0.3 * strength))
        img = _grain(img, rng, 0.03)
        _label(img, i + 1, cover=True)
        out.append(img)
    return out


def render_preview(grid: Image.Image, percent: int) -> Image.Image:
    """What a client sees mid-job: a low-detail, blurred, noisy rendering of the final ``grid``.

    The result is half the grid size (progress images are smaller than results, which also keeps
    the frequent progress updates cheap).  Detail resolution grows geometrically from 1/32 at 0%
    to full at 100% while blur and noise fade out, so later previews look closer to the final.
    """
    src = _rgb(grid)
    p = _clamp(float(percent), 0.0, 100.0) / 100.0
    out_size = (max(2, src.width // 4 * 2), max(2, src.height // 4 * 2))
    base = src.resize(out_size, Image.Resampling.BOX, reducing_gap=2.0)
    scale = (1 / 32) * 32**p
    coarse = (max(1, round(out_size[0] * scale)), max(1, round(out_size[1] * scale)))
    img = base.resize(coarse, Image.Resampling.BOX).resize(out_size, _BICUBIC)
    radius = (1 - p) ** 1.5 * max(out_size) / 80
    if radius > 0.3:
        img = img.filter(ImageFilter.GaussianBlur(radius))
    amount = 0.45 * (1 - p) ** 1.3
    if amount > 0.005:
        rng = _rng("preview", percent, out_size)
        noise = Image.frombytes("RGB", out_size, rng.randbytes(out_size[0] * out_size[1] * 3))
        img = Image.blend(img, noise, amount)
    return img


# --------------------------------------------------------------------------------------------
# Text tools: describe and shorten
# --------------------------------------------------------------------------------------------

_NAMED_COLORS: Final[tuple[tuple[str, RGB], ...]] = (
    ("black", (18, 18, 20)),
    ("charcoal", (58, 60, 66)),
    ("gray", (128, 128, 130)),
    ("silver", (192, 194, 198)),
    ("white", (242, 242, 240)),
    ("red", (200, 36, 42)),
    ("crimson", (130, 20, 40)),
    ("orange", (236, 130, 40)),
    ("gold", (212, 172, 60)),
    ("yellow", (242, 222, 80)),
    ("olive", (112, 120, 44)),
    ("green", (58, 150, 66)),
    ("forest green", (30, 78, 42)),
    ("teal", (28, 128, 128)),
    ("turquoise", (70, 204, 196)),
    ("sky blue", (126, 184, 232)),
    ("blue", (42, 82, 200)),
    ("navy", (20, 30, 82)),
    ("purple", (108, 48, 150)),
    ("violet", (164, 116, 222)),
    ("magenta", (204, 52, 164)),
    ("pink", (240, 154, 192)),
    ("brown", (112, 72, 42)),
    ("beige", (222, 204, 164)),
    ("peach", (250, 190, 150)),
)

_KEYCAPS: Final = ("1\ufe0f\u20e3", "2\ufe0f\u20e3", "3\ufe0f\u20e3", "4\ufe0f\u20e3")


def _dominant_colors(image: Image.Image) -> list[str]:
    """Names of the dominant colours, most common first (each covering >= 6% of the picture)."""
    thumb = image.resize((32, 32), Image.Resampling.BOX, reducing_gap=2.0)
    counts: dict[str, int] = {}
    raw = thumb.tobytes()
    for i in range(0, len(raw), 3):
        r, g, b = raw[i], raw[i + 1], raw[i + 2]
        best, best_d = "", 1 << 30
        for name, (cr, cg, cb) in _NAMED_COLORS:
            # "Redmean" weighting approximates perceptual distance cheaply.
            rm = (r + cr) / 2
            d = (2 + rm / 256) * (r - cr) ** 2 + 4 * (g - cg) ** 2 + (3 - rm / 256) * (b - cb) ** 2
            if d < best_d:
                best, best_d = name, int(d)
        counts[best] = counts.get(best, 0) + 1
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    names = [name for name, n in ranked if n >= 0.06 * 1024][:3]
    return names or [ranked[0][0]]


def _ratio_of(width: int, height: int) -> tuple[int, int]:
    """Nearest simple ``W:H`` (denominator <= 20) within Midjourney's 1:4..4:1 range."""
    ratio = Fraction(width, height)
    ratio = min(max(ratio, Fraction(1, _MAX_RATIO)), Fraction(_MAX_RATIO))
    simple = ratio.limit_denominator(20)
    return (simple.numerator, simple.denominator)


def _pick(options: Sequence[str], key: int, salt: int) -> str:
    return options[(key >> (salt * 5)) % len(options)]


def describe_image(image: Image.Image) -> list[str]:
    """Four Midjourney-style prompts for ``image``, like ``/describe``.

    They are built from measurable facts — dominant named colours, brightness, saturation and
    orientation — with phrasing chosen by a hash of the picture, and end with the ``--ar`` of the
    image so re-imagining them reproduces its shape.
    """
    src = _rgb(image)
    if src.width < 1 or src.height < 1:
        raise ValueError("empty image")
    colors = _dominant_colors(src)
    c1 = colors[0]
    c2 = colors[1] if len(colors) > 1 else "soft white"
    c3 = colors[2] if len(colors) > 2 else "gray"
    small = src.resize((24, 24), Image.Resampling.BOX)
    brightness = ImageStat.Stat(small.convert("L")).mean[0]
    saturation = ImageStat.Stat(small.convert("HSV").getchannel(1)).mean[0]
    key = _digest("describe", small.tobytes())
    light = ("dark", "moody", "softly lit", "bright")[min(3, int(brightness // 64))]
    mood = (
        "mysterious" if brightness < 80 else "serene" if brightness < 170 else "airy and luminous"
    )
    color_adj = "muted" if saturation < 60 else "rich" if saturation < 140 else "vivid"
    aw, ah = _ratio_of(src.width, src.height)
    orientation = "wide" if aw > ah else "tall" if ah > aw else "square"
    subject = _pick(
        {
            "wide": ("landscape", "panorama", "seascape", "vista"),
            "tall": ("portrait", "poster", "tower of shapes", "waterfall of color"),
            "square": ("composition", "still life", "emblem", "dreamscape"),
        }[orientation],
        key,
        1,
    )
    medium = _pick(
        (
            "digital painting",
            "matte painting",
            "gouache illustration",
            "3d render",
            "risograph print",
            "oil on canvas",
        ),
        key,
        2,
    )
    flavor = _pick(
        (
            "soft gradients",
            "layered silhouettes",
            "grainy film texture",
            "geometric shapes",
            "flowing forms",
            "atmospheric haze",
        ),
        key,
        3,
    )
    artist = _pick(
        (
            "in the style of modern minimalism",
            "inspired by art nouveau posters",
            "in the style of synthwave",
            "inspired by japanese woodblock prints",
            "in the style of contemporary abstract art",
        ),
        key,
        4,
    )
    suffix = f" --ar {aw}:{ah}"
    prompts = [
        f"a {light} abstract {subject} in {c1} and {c2} tones, {flavor}, {medium}",
        f"{c1} {subject} with {c2} accents, {color_adj} colors, {mood} atmosphere, {artist}",
        f"minimalist {orientation} {medium}, {c1}, {c2} and {c3}, {light} lighting, {flavor}",
        f"{mood} dreamlike {subject}, {color_adj} {c1} palette, {c3} highlights, "
        f"cinematic composition, highly detailed",
    ]
    return [f"{cap} {text}{suffix}" for cap, text in zip(_KEYCAPS, prompts, strict=True)]


_STOP_WORDS: Final = _words(
    """a an the and or but of in on at to for with by from into onto over under as is are was
    were be been being it its this that these those there their his her our your my me we
    you he she they them some any each every so such than then just also which who whom
    whose what where when while about above below between through during before after up down
    out off again further once here all both few more most other same own too can will would
    should could has have had do does did not no nor only de la le el del et und der die das
    against among upon within without toward towards like"""
)
_FILLER_WORDS: Final = _words(
    """very really extremely highly super ultra hyper incredibly insanely absolutely truly
    beautiful beautifully stunning amazing awesome gorgeous epic masterpiece best quality
    high detailed detail details intricate intricately hd 4k 8k 16k uhd hdr realistic
    photorealistic hyperrealistic hyperdetailed trending artstation award winning
    award-winning professional sharp focus octane render rendered unreal engine perfect
    perfectly wonderful fantastic breathtaking elegant exquisite lovely nice pretty
    resolution definition"""
)
_ADJ_SUFFIXES: Final = ("ful", "ous", "ive", "ic", "ish", "ly", "able", "ible", "al", "ed", "ant")


def _token_score(core: str) -> int:
    """0 stop word, 1 filler/booster, 2 adjective-like, 3 content word."""
    if not core:
        return 0
    if core in _STOP_WORDS:
        return 0
    if core in _FILLER_WORDS:
        return 1
    if len(core) > 4 and core.endswith(_ADJ_SUFFIXES):
        return 2
    return 3


def shorten_prompt(prompt: str) -> tuple[list[str], list[str]]:
    """``/shorten``: the prompt's important tokens and five progressively shorter prompts.

    Levels drop, cumulatively: (1) boosters/quality fillers and repeated words, (2) stop words,
    (3) adjective-like words, (4) the weaker half, (5) all but the strongest few content words.
    Word order, comma phrasing and the ``--parameters`` (kept at the end) are preserved, and no
    result is longer than the input.
    """
    text, params = _split_params(prompt)
    phrases = [p.split() for p in re.split(r"[,;]", text)]
    tokens: list[tuple[int, int, str, str]] = []  # (phrase, position, original, core)
    for pi, words in enumerate(phrases):
        for word in words:
            core = "".join(_WORD_RE.findall(word.lower()))
            tokens.append((pi, len(tokens), word, core))
    scores = {pos: _token_score(core) for _, pos, _, core in tokens}
    if not tokens:
        blank = params if len(params) <= len(prompt) else ""
        return [], [blank] * 5
    seen: set[str] = set()
    duplicate: set[int] = set()
    for _, pos, _, core in tokens:
        if core and scores[pos] >= 2 and core in seen:
            duplicate.add(pos)
        seen.add(core)
    n = len(tokens)
    content = sorted(
        (pos for _, pos, _, core in tokens if scores[pos] >= 2 and pos not in duplicate),
        key=lambda p: (-scores[p], -len(tokens[p][3]), p),
    )
    important: list[str] = []
    for pos in content:
        word = tokens[pos][3]
        if word not in important:
            important.append(word)
    important = important[:12]

    has_content = any(score == 3 for score in scores.values())

    def keep(level: int, pos: int) -> bool:
        score = scores[pos]
        if level >= 1 and (score == 1 or pos in duplicate):
            return False
        if level >= 2 and score == 0:
            return False
        return not (level >= 3 and score == 2 and has_content)

    def build(kept: set[int]) -> str:
        groups: dict[int, list[str]] = {}
        for pi, pos, word, _ in tokens:
            if pos in kept:
                groups.setdefault(pi, []).append(word.strip(",;"))
        # A phrase reduced to stop words ("on" from "trending on artstation") is noise.
        groups = {
            pi: words
            for pi, words in groups.items()
            if any(scores[pos] > 0 for ppi, pos, _, _ in tokens if ppi == pi and pos in kept)
        }
        body = ", ".join(" ".join(g) for g in groups.values())
        result = f"{body} {params}".strip()
        while len(result) > len(prompt) and groups:  # whitespace/comma normalisation grew it
            last = max(groups)
            groups[last].pop()
            if not groups[last]:
                del groups[last]
            body = ", ".join(" ".join(g) for g in groups.values())
            result = f"{body} {params}".strip()
        return result

    versions: list[str] = []
    kept_prev: set[int] = set(range(n))
    for level in (1, 2, 3):
        kept = {pos for pos in range(n) if keep(level, pos)} or kept_prev
        versions.append(build(kept))
        kept_prev = kept
    ranked = sorted(kept_prev, key=lambda p: (-scores[p], -len(tokens[p][3]), p))
    for share in (0.6, 0.35):
        count = max(1, min(len(ranked), math.ceil(len(ranked) * share)))
        kept = set(ranked[:count])
        versions.append(build(kept))
    return important, versions


# --------------------------------------------------------------------------------------------
# Bytes in, bytes out
# --------------------------------------------------------------------------------------------


def encode_png(image: Image.Image) -> bytes:
    """Encode as PNG without metadata; deterministic for a given Pillow/zlib build.

    zlib level 1: the film grain makes higher levels ~4x slower for only ~10% smaller files.
    """
    buffer = io.BytesIO()
    _rgb(image).save(buffer, format="PNG", optimize=False, compress_level=1)
    return buffer.getvalue()


def load_image(data: bytes) -> Image.Image:
    """Decode any Pillow-readable image (first frame) into an RGB image.

    EXIF orientation is applied and transparency is flattened onto white, since blend/describe
    expect the picture as a person would see it.  Anything Pillow cannot read — including
    truncated files and oversized images — raises ``ValueError`` so callers handle one type.
    The size limit is checked from the header before decoding (not via the warnings module,
    whose global state is unsafe in the worker threads the engine renders in).
    """
    try:
        with Image.open(io.BytesIO(data)) as opened:
            if opened.width * opened.height > _MAX_INPUT_PIXELS:
                raise ValueError(f"image too large: {opened.width}x{opened.height}")
            opened.load()
            return _rgb(ImageOps.exif_transpose(opened)).copy()
    except Image.DecompressionBombError as exc:
        raise ValueError(f"image too large: {exc}") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, EOFError) as exc:
        raise ValueError(f"unreadable image: {exc}") from exc
