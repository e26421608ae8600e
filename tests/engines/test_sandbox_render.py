"""Tests for the sandbox engine's pure renderer (mjrelay.engines.sandbox_render)."""

from __future__ import annotations

import io
import re
import struct
import time
import zlib
from itertools import combinations

import pytest
from PIL import Image, ImageChops, ImageStat

from mjrelay.engines import sandbox_render as sr

PROMPT = "a lighthouse on a cliff at sunset, dramatic clouds, oil painting --ar 16:9 --v 6"


def mean_abs_diff(a: Image.Image, b: Image.Image) -> float:
    """Mean absolute per-channel difference (0..255) of two equally sized images."""
    assert a.size == b.size
    return sum(ImageStat.Stat(ImageChops.difference(a.convert("RGB"), b.convert("RGB"))).mean) / 3


def png_bytes(images: list[Image.Image]) -> list[bytes]:
    return [sr.encode_png(im) for im in images]


@pytest.fixture(scope="module")
def panels() -> list[Image.Image]:
    return sr.render_panels(PROMPT, 42, aspect=sr.parse_aspect(PROMPT))


@pytest.fixture(scope="module")
def upscale() -> Image.Image:
    return sr.render_upscale(PROMPT, 42, 2, aspect=sr.parse_aspect(PROMPT))


# --- aspect ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        ("a cat --ar 16:9", (16, 9)),
        ("a cat --aspect 2:3", (2, 3)),
        ("a cat --AR 3 : 2 --v 6", (3, 2)),
        ("a cat \u2014ar 4:5", (4, 5)),  # phones turn "--" into an em dash
        ("a cat --ar 32:18", (16, 9)),  # reduced
        ("a cat --ar 100:1", (4, 1)),  # clamped to 4:1
        ("a cat --ar 1:100", (1, 4)),
        ("a cat --ar 9:16 --ar 1:2", (1, 2)),  # last one wins
        ("a cat", (1, 1)),
        ("", (1, 1)),
        ("a cat --ar junk", (1, 1)),
        ("a cat --ar 16:", (1, 1)),
        ("a cat --ar 1.5:1", (1, 1)),
        ("a cat --ar 0:5", (1, 1)),
        ("a cat --ar 200:1", (1, 1)),
        ("a cat --ar -3:2", (1, 1)),
        ("guitar--ar 16:9", (1, 1)),  # not a parameter: no whitespace before "--"
    ],
)
def test_parse_aspect(prompt: str, expected: tuple[int, int]) -> None:
    assert sr.parse_aspect(prompt) == expected


@pytest.mark.parametrize(
    ("aspect", "long_side", "expected"),
    [
        ((1, 1), 512, (512, 512)),
        ((16, 9), 512, (512, 288)),
        ((2, 3), 512, (342, 512)),
        ((4, 1), 512, (512, 128)),
        ((3, 2), 1024, (1024, 682)),
        ((0, 0), 512, (512, 512)),
    ],
)
def test_panel_dimensions(
    aspect: tuple[int, int], long_side: int, expected: tuple[int, int]
) -> None:
    w, h = sr.panel_dimensions(aspect, long_side)
    assert (w, h) == expected
    assert w % 2 == 0 and h % 2 == 0


# --- panels and grid ---------------------------------------------------------------------------


def test_panels_shape_and_mode(panels: list[Image.Image]) -> None:
    assert len(panels) == 4
    for panel in panels:
        assert panel.mode == "RGB"
        assert panel.size == (512, 288)


def test_render_is_deterministic(panels: list[Image.Image]) -> None:
    again = sr.render_panels(PROMPT, 42, aspect=(16, 9))
    assert png_bytes(again) == png_bytes(panels)


def test_different_seed_gives_different_images(panels: list[Image.Image]) -> None:
    other = sr.render_panels(PROMPT, 43, aspect=(16, 9))
    for mine, theirs in zip(png_bytes(panels), png_bytes(other), strict=True):
        assert mine != theirs


def test_different_prompt_gives_different_images(panels: list[Image.Image]) -> None:
    other = sr.render_panels("a red fox in the snow --ar 16:9", 42, aspect=(16, 9))
    assert all(mean_abs_diff(a, b) > 10 for a, b in zip(panels, other, strict=True))


def test_panels_are_pairwise_distinct(panels: list[Image.Image]) -> None:
    for a, b in combinations(panels, 2):
        assert mean_abs_diff(a, b) > 15


def test_panels_pairwise_distinct_across_prompts() -> None:
    for prompt, seed in [("", 0), ("cat", 1), ("dark night sky full of stars", 99)]:
        ps = sr.render_panels(prompt, seed)
        for a, b in combinations(ps, 2):
            assert mean_abs_diff(a, b) > 15, (prompt, seed)


def test_panels_are_not_flat(panels: list[Image.Image]) -> None:
    for panel in panels:
        stddev = ImageStat.Stat(panel.convert("L")).stddev[0]
        assert stddev > 12  # a real picture, not a flat colour


def test_grid_layout(panels: list[Image.Image]) -> None:
    grid = sr.compose_grid(panels)
    w, h = panels[0].size
    assert grid.size == (2 * w, 2 * h)
    assert grid.mode == "RGB"
    for i, panel in enumerate(panels):
        x, y = (i % 2) * w, (i // 2) * h
        assert grid.crop((x, y, x + w, y + h)).tobytes() == panel.tobytes()


def test_grid_rejects_bad_input(panels: list[Image.Image]) -> None:
    with pytest.raises(ValueError):
        sr.compose_grid(panels[:3])
    with pytest.raises(ValueError):
        sr.compose_grid([*panels[:3], Image.new("RGB", (10, 10))])


def test_long_side_is_validated() -> None:
    with pytest.raises(ValueError):
        sr.render_panels("x", 1, long_side=4)


def test_grid_render_is_fast() -> None:
    sr.compose_grid(sr.render_panels("warm-up", 1))
    best = float("inf")
    for seed in range(3):
        start = time.perf_counter()
        sr.compose_grid(sr.render_panels(f"timing run {seed}", seed))
        best = min(best, time.perf_counter() - start)
    assert best < 0.15


@pytest.mark.parametrize(
    "prompt",
    [
        "",
        "   ",
        "--ar 16:9",
        "😀🚀🐱‍👤 emoji party 👨‍👩‍👧‍👦",
        "宇宙飛行士が月面で猫と遊んでいる 中文提示词 한국어",
        "مرحبا بالعالم שלום עולם",
        "x" * 10_000,
        "word " * 2_000,
        "控制\x00字符\x1b[31m\ud800 lone surrogate\n new line\t tab",
        "https://example.com/a.png https://example.com/b.png a cat",
        "\u0301\u0301\u0301 combining only",
    ],
)
def test_prompts_with_odd_text_render(prompt: str) -> None:
    ps = sr.render_panels(prompt, 7, aspect=sr.parse_aspect(prompt))
    assert len(ps) == 4
    for panel in ps:
        assert panel.mode == "RGB"
    assert sr.render_upscale(prompt, 7, 1).size == (1024, 1024)


@pytest.mark.parametrize("aspect", [(1, 4), (4, 1), (2, 3), (21, 9)])
def test_extreme_aspects_render(aspect: tuple[int, int]) -> None:
    ps = sr.render_panels("a very long prompt " * 20, 3, aspect=aspect)
    assert all(p.size == sr.panel_dimensions(aspect) for p in ps)


# --- upscale -----------------------------------------------------------------------------------


def test_upscale_size_and_resemblance(panels: list[Image.Image], upscale: Image.Image) -> None:
    w, h = panels[1].size
    assert upscale.size == (2 * w, 2 * h)
    shrunk = upscale.resize((w, h), Image.Resampling.BOX)
    # Same composition as its grid panel, clearly different from the other panels.
    own = mean_abs_diff(shrunk, panels[1])
    assert own < 12
    assert all(mean_abs_diff(shrunk, p) > own * 2 for i, p in enumerate(panels) if i != 1)


def test_upscale_has_real_detail(upscale: Image.Image) -> None:
    # A plain 2x resize would be reproduced almost exactly by shrinking and re-enlarging.
    w, h = upscale.size
    resized = upscale.resize((w // 2, h // 2), Image.Resampling.BOX).resize(
        (w, h), Image.Resampling.NEAREST
    )
    assert mean_abs_diff(upscale, resized) > 1.5


@pytest.mark.parametrize("aspect", [(1, 1), (3, 2), (2, 3), (4, 5), (21, 9), (1, 4)])
def test_upscale_is_exactly_twice_the_panel(aspect: tuple[int, int]) -> None:
    w, h = sr.panel_dimensions(aspect)
    assert sr.render_upscale("x", 1, 4, aspect=aspect).size == (2 * w, 2 * h)


def test_upscale_is_deterministic_and_validated(upscale: Image.Image) -> None:
    again = sr.render_upscale(PROMPT, 42, 2, aspect=(16, 9))
    assert sr.encode_png(again) == sr.encode_png(upscale)
    for bad in (0, 5):
        with pytest.raises(ValueError):
            sr.render_upscale(PROMPT, 42, bad)


# --- zoom / pan / blend / variation ------------------------------------------------------------


def test_zoom_out_keeps_source_in_centre(upscale: Image.Image) -> None:
    out = sr.render_zoom_out(upscale, 2.0, PROMPT, 5)
    assert len(out) == 4
    w, h = upscale.size
    small = (64, 36)
    source_small = upscale.resize(small, Image.Resampling.BOX)
    for panel in out:
        assert panel.size == upscale.size
        centre = panel.crop((w // 4, h // 4, w // 4 + w // 2, h // 4 + h // 2))
        # Whole centre: only the thin feathered rim differs (an unrelated picture scores ~60).
        assert mean_abs_diff(centre.resize(small, Image.Resampling.BOX), source_small) < 15
        # Inside the rim the shrunk source is intact.
        inner = centre.crop((w // 20, h // 20, w // 2 - w // 20, h // 2 - h // 20))
        source_inner = upscale.crop((w // 10, h // 10, w - w // 10, h - h // 10))
        assert (
            mean_abs_diff(
                inner.resize(small, Image.Resampling.BOX),
                source_inner.resize(small, Image.Resampling.BOX),
            )
            < 3
        )
        # ...while the whole picture is no longer the source.
        assert mean_abs_diff(panel.resize(small, Image.Resampling.BOX), source_small) > 15
    for a, b in combinations(out, 2):
        assert mean_abs_diff(a, b) > 5


def test_zoom_out_factor_is_clamped(upscale: Image.Image) -> None:
    for factor in (0.2, float("nan"), float("inf"), 1.5):
        out = sr.render_zoom_out(upscale, factor, PROMPT, 5)
        assert [p.size for p in out] == [upscale.size] * 4


@pytest.mark.parametrize(
    ("direction", "grow", "src_box"),
    [
        ("left", (1.5, 1), (0.5, 0)),
        ("right", (1.5, 1), (0, 0)),
        ("up", (1, 1.5), (0, 0.5)),
        ("Down", (1, 1.5), (0, 0)),
    ],
)
def test_pan_extends_the_right_side(
    direction: str,
    grow: tuple[float, float],
    src_box: tuple[float, float],
) -> None:
    source = sr.render_panels("sunset over the sea", 11)[0]
    w, h = source.size
    out = sr.render_pan(source, direction, "sunset over the sea", 11)
    assert len(out) == 4
    for panel in out:
        assert panel.size == (int(w * grow[0]), int(h * grow[1]))
        x0, y0 = int(w * src_box[0]), int(h * src_box[1])
        kept = panel.crop((x0, y0, x0 + w, y0 + h))
        # The source is kept (only the replacement badge in its corner differs).
        assert mean_abs_diff(kept, source) < 1.5
    for a, b in combinations(out, 2):
        assert a.tobytes() != b.tobytes()


def test_pan_rejects_unknown_direction() -> None:
    with pytest.raises(ValueError):
        sr.render_pan(Image.new("RGB", (64, 64)), "sideways", "x", 1)


@pytest.mark.parametrize(
    ("dimensions", "size"),
    [("PORTRAIT", (342, 512)), ("SQUARE", (512, 512)), ("LANDSCAPE", (512, 342))],
)
def test_blend_dimensions(dimensions: str, size: tuple[int, int]) -> None:
    sources = [
        sr.render_panels("red desert dunes", 1)[0],
        sr.render_panels("blue galaxy", 2, aspect=(16, 9))[1],
        Image.new("RGBA", (300, 900), (0, 200, 0, 128)),
    ]
    out = sr.render_blend(sources, dimensions, 9)
    assert len(out) == 4
    assert all(p.size == size and p.mode == "RGB" for p in out)
    for a, b in combinations(out, 2):
        assert mean_abs_diff(a, b) > 5
    assert png_bytes(sr.render_blend(sources, dimensions, 9)) == png_bytes(out)


def test_blend_mixes_its_sources() -> None:
    red = Image.new("RGB", (400, 400), (220, 30, 30))
    blue = Image.new("RGB", (400, 400), (30, 30, 220))
    for panel in sr.render_blend([red, blue], "SQUARE", 4):
        r, _, b = ImageStat.Stat(panel).mean
        assert r > 45 and b > 45  # both sources are visible


def test_blend_validates_input() -> None:
    img = Image.new("RGB", (32, 32))
    with pytest.raises(ValueError):
        sr.render_blend([img], "SQUARE", 1)
    with pytest.raises(ValueError):
        sr.render_blend([img] * 6, "SQUARE", 1)
    with pytest.raises(ValueError):
        sr.render_blend([img, img], "WIDE", 1)


def test_variation_resembles_source(panels: list[Image.Image]) -> None:
    source = panels[0]
    subtle = sr.render_variation(source, PROMPT, 3, 0.3)
    strong = sr.render_variation(source, PROMPT, 3, 1.0)
    assert len(subtle) == len(strong) == 4
    unrelated = panels[2]
    for a, b in zip(subtle, strong, strict=True):
        assert a.size == b.size == source.size
        assert mean_abs_diff(a, source) < mean_abs_diff(unrelated, source)
        assert mean_abs_diff(a, source) > 1  # it did change
    avg_subtle = sum(mean_abs_diff(p, source) for p in subtle) / 4
    avg_strong = sum(mean_abs_diff(p, source) for p in strong) / 4
    assert avg_subtle < avg_strong
    for a, b in combinations(subtle, 2):
        assert a.tobytes() != b.tobytes()
    assert png_bytes(sr.render_variation(source, PROMPT, 3, 0.3)) == png_bytes(subtle)


# --- preview -----------------------------------------------------------------------------------


def test_preview_converges_to_final(panels: list[Image.Image]) -> None:
    grid = sr.compose_grid(panels)
    previews = {p: sr.render_preview(grid, p) for p in (0, 10, 50, 90, 100)}
    size = previews[10].size
    final = grid.resize(size, Image.Resampling.BOX)
    diffs = {p: mean_abs_diff(img, final) for p, img in previews.items()}
    assert diffs[10] > diffs[90]
    assert diffs[0] >= diffs[10] > diffs[50] > diffs[90] >= diffs[100]
    assert all(img.size == size and img.mode == "RGB" for img in previews.values())
    assert sr.render_preview(grid, -5).size == size  # clamped, no error
    assert sr.render_preview(grid, 250).size == size
    assert sr.encode_png(sr.render_preview(grid, 30)) == sr.encode_png(sr.render_preview(grid, 30))


# --- describe / shorten ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "ar"),
    [((1536, 1024), "3:2"), ((512, 512), "1:1"), ((342, 512), "2:3"), ((1024, 576), "16:9")],
)
def test_describe_image(size: tuple[int, int], ar: str) -> None:
    image = sr.render_panels("autumn forest", 5)[0].resize(size)
    prompts = sr.describe_image(image)
    assert len(prompts) == 4
    for n, prompt in enumerate(prompts, start=1):
        assert prompt.startswith(f"{n}\ufe0f\u20e3 ")
        assert prompt.endswith(f" --ar {ar}")
    assert len(set(prompts)) == 4
    assert sr.describe_image(image) == prompts


def test_describe_names_dominant_colours() -> None:
    image = Image.new("RGB", (800, 200), (200, 36, 42))
    image.paste((20, 30, 82), (0, 0, 300, 200))
    prompts = sr.describe_image(image)
    joined = " ".join(prompts)
    assert "red" in joined and "navy" in joined
    assert all(p.endswith(" --ar 4:1") for p in prompts)


def test_describe_clamps_extreme_ratio() -> None:
    assert sr.describe_image(Image.new("RGB", (1000, 10)))[0].endswith(" --ar 4:1")


def test_shorten_prompt() -> None:
    prompt = (
        "A very beautiful, highly detailed portrait of an old fisherman with a weathered "
        "face, dramatic lighting, 8k, trending on artstation --ar 2:3 --v 6"
    )
    tokens, shortened = sr.shorten_prompt(prompt)
    assert len(shortened) == 5
    assert "fisherman" in tokens and "portrait" in tokens
    assert not {"very", "8k", "the", "a"} & set(tokens)
    for line in shortened:
        assert line.endswith("--ar 2:3 --v 6")
        assert len(line) <= len(prompt)
        assert "fisherman" in line
    lengths = [len(line) for line in shortened]
    assert lengths == sorted(lengths, reverse=True)
    assert lengths[-1] < lengths[0]


@pytest.mark.parametrize(
    "prompt", ["", "--ar 1:1", "cat", "a,b", "the of and", "😀 ✨ 中文", "x " * 3000]
)
def test_shorten_edge_cases(prompt: str) -> None:
    tokens, shortened = sr.shorten_prompt(prompt)
    assert isinstance(tokens, list)
    assert len(shortened) == 5
    assert all(len(line) <= len(prompt) for line in shortened)


# --- bytes -------------------------------------------------------------------------------------


def test_png_round_trip(panels: list[Image.Image]) -> None:
    data = sr.encode_png(panels[0])
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    back = sr.load_image(data)
    assert back.mode == "RGB"
    assert back.tobytes() == panels[0].tobytes()


def test_load_image_converts_to_rgb() -> None:
    buf = io.BytesIO()
    Image.new("RGBA", (8, 8), (0, 0, 0, 0)).save(buf, "PNG")
    img = sr.load_image(buf.getvalue())
    assert img.mode == "RGB"
    assert img.getpixel((0, 0)) == (255, 255, 255)  # transparency flattened onto white
    buf = io.BytesIO()
    Image.new("L", (8, 8), 77).save(buf, "JPEG")
    assert sr.load_image(buf.getvalue()).mode == "RGB"


@pytest.mark.parametrize("data", [b"junk", b"", b"\x89PNG\r\n\x1a\n" + b"\x00" * 40])
def test_load_image_rejects_garbage(data: bytes) -> None:
    with pytest.raises(ValueError):
        sr.load_image(data)


def test_load_image_rejects_truncated_png(panels: list[Image.Image]) -> None:
    data = sr.encode_png(panels[0])
    with pytest.raises(ValueError):
        sr.load_image(data[: len(data) // 2])


def test_public_api_names() -> None:
    assert sr.PANEL_SIZE == 512
    for name in sr.__all__:
        assert hasattr(sr, name)
    assert re.fullmatch(r"\d+", str(sr.PANEL_SIZE))


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    return (
        struct.pack(">I", len(payload))
        + kind
        + payload
        + struct.pack(">I", zlib.crc32(kind + payload))
    )


def test_load_image_rejects_oversized_header() -> None:
    # A tiny PNG whose header announces 9000x9000 (81 MP): rejected before any decoding.
    ihdr = struct.pack(">IIBBBBB", 9_000, 9_000, 8, 2, 0, 0, 0)
    data = b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", b"")
    with pytest.raises(ValueError, match="too large"):
        sr.load_image(data + png_chunk(b"IEND", b""))
