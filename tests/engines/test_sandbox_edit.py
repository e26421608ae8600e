"""Editor, retexture and face swap renders, checked on their pixels."""

from __future__ import annotations

from PIL import Image, ImageChops, ImageDraw, ImageOps, ImageStat

from mjrelay.engines.sandbox_edit import (
    render_edit_grid,
    render_face_swap,
    render_retexture_grid,
)


def picture(size: tuple[int, int], flip: bool = False) -> Image.Image:
    """A picture with a clear structure: gradient background, a bright and a dark disc."""
    ramp = Image.linear_gradient("L").resize(size)
    image = Image.merge("RGB", (ramp, ramp.transpose(Image.Transpose.ROTATE_90).resize(size), ramp))
    w, h = size
    draw = ImageDraw.Draw(image)
    draw.ellipse((w * 0.1, h * 0.1, w * 0.4, h * 0.4), fill=(255, 255, 255))
    draw.ellipse((w * 0.6, h * 0.55, w * 0.9, h * 0.85), fill=(0, 0, 0))
    return ImageOps.mirror(ImageOps.flip(image)) if flip else image


def panels(grid: Image.Image) -> list[Image.Image]:
    w, h = grid.width // 2, grid.height // 2
    return [
        grid.crop(((i % 2) * w, (i // 2) * h, (i % 2 + 1) * w, (i // 2 + 1) * h)) for i in range(4)
    ]


def shape_difference(a: Image.Image, b: Image.Image) -> float:
    """Mean luminance difference (0-255) of 32x32 thumbnails: compares shapes, not colours."""

    def small(image: Image.Image) -> Image.Image:
        return ImageOps.autocontrast(
            ImageOps.grayscale(image).resize((32, 32), Image.Resampling.BOX)
        )

    return ImageStat.Stat(ImageChops.difference(small(a), small(b))).mean[0]


def colour_difference(a: Image.Image, b: Image.Image) -> float:
    diff = ImageChops.difference(
        a.convert("RGB").resize((32, 32)), b.convert("RGB").resize((32, 32))
    )
    return sum(ImageStat.Stat(diff).mean) / 3


def test_edit_grid_is_derived_from_the_image_and_prompt() -> None:
    source, other = picture((800, 600)), picture((800, 600), flip=True)
    grid = render_edit_grid(source, "a red sunset")
    assert grid.size == (1024, 768)  # 2x2 panels of 512x384: the input's 4:3 kept
    for panel in panels(grid):
        # Each panel is the input (close in shape), not some other picture.
        assert shape_difference(panel, source) * 2 < shape_difference(panel, other)
    # The four panels differ from one another (a real choice of four).
    first, *rest = panels(grid)
    assert all(colour_difference(first, p) > 3 for p in rest)
    # The prompt shows: another prompt gives other colours; the same one the same pixels.
    assert colour_difference(grid, render_edit_grid(source, "deep blue ocean")) > 8
    assert ImageChops.difference(grid, render_edit_grid(source, "a red sunset")).getbbox() is None


def test_retexture_keeps_shapes_and_takes_the_prompt_palette() -> None:
    source, other = picture((512, 512)), picture((512, 512), flip=True)
    grid = render_retexture_grid(source, "mossy stone")
    assert grid.size == (1024, 1024)
    for panel in panels(grid):
        assert shape_difference(panel, source) * 2 < shape_difference(panel, other)
        # Recoloured: the panel's colours are not the input's.
        assert colour_difference(panel, source) > 15
    assert colour_difference(grid, render_retexture_grid(source, "polished gold")) > 8


def test_face_swap_puts_the_source_face_on_the_target() -> None:
    face = Image.new("RGB", (300, 300), (230, 40, 40))
    target = Image.new("RGB", (600, 800), (30, 60, 200))
    result = render_face_swap(face, target)
    assert result.size == target.size
    # The oval's centre is the face, the corners are still the target.
    centre = result.getpixel((300, 320))
    assert isinstance(centre, tuple)
    assert abs(centre[0] - 230) < 10 and abs(centre[2] - 40) < 10
    for corner in [(5, 5), (595, 5), (5, 795), (595, 795)]:
        assert result.getpixel(corner) == (30, 60, 200)
    # Both inputs are visible: a real composite, not one of them.
    assert colour_difference(result, target) > 5 and colour_difference(result, face) > 5
