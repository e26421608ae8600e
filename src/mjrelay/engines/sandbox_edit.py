"""Sandbox editor and face swap: Pillow pictures visibly made from the inputs.

Midjourney's editor returns a new 2x2 grid from an image and a prompt. Here *edit* keeps the
picture and repaints part of each panel in the prompt's colours, *retexture* keeps only its
shapes (luminance) and recolours everything with the prompt's palette, and *face swap* pastes
the centre of the source picture (where a portrait's face is) onto the target with a feathered
oval. Everything is deterministic in (image, prompt), so tests can check the pixels.
"""

from __future__ import annotations

import colorsys
import hashlib

from PIL import Image, ImageDraw, ImageFilter, ImageOps

from mjrelay.engines.sandbox_render import PANEL_SIZE, compose_grid, panel_dimensions

__all__ = [
    "edit_panels",
    "render_edit_grid",
    "render_face_swap",
    "render_retexture_grid",
    "retexture_panels",
]

_RGB = tuple[int, int, int]
# How much of an edit panel the prompt repaints: enough to see, little enough to keep the input.
_EDIT_TINT = 0.35
# The oval face is this fraction of the target's short side.
_FACE_SCALE = 0.42


def _prompt_hue(prompt: str, index: int) -> float:
    """A stable hue for (prompt, panel): each panel of a grid gets a related but distinct one."""
    digest = hashlib.blake2b(prompt.strip().lower().encode(), digest_size=8).digest()
    return (int.from_bytes(digest, "big") / 2**64 + index * 0.09) % 1.0


def _color(hue: float, lightness: float, saturation: float = 0.75) -> _RGB:
    r, g, b = colorsys.hls_to_rgb(hue, lightness, saturation)
    return (round(r * 255), round(g * 255), round(b * 255))


def _cover(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    return ImageOps.fit(image.convert("RGB"), size, Image.Resampling.LANCZOS)


def _panel_size(image: Image.Image) -> tuple[int, int]:
    """Panels keep the input's aspect ratio (512 px on the long side, like every grid)."""
    if image.width <= 0 or image.height <= 0:
        raise ValueError("the input image has no pixels")
    return panel_dimensions((image.width, image.height), PANEL_SIZE)


def _edit_panel(image: Image.Image, prompt: str, index: int) -> Image.Image:
    size = _panel_size(image)
    base = _cover(image, size)
    hue = _prompt_hue(prompt, index)
    tinted = ImageOps.colorize(
        ImageOps.grayscale(base), _color(hue, 0.15), _color(hue, 0.85), _color(hue, 0.5)
    )
    panel = Image.blend(base, tinted, _EDIT_TINT)
    # The "edited region": a soft patch in the prompt's colour, in a different place per panel.
    w, h = size
    mask = Image.new("L", size, 0)
    cx, cy = (0.3 + 0.4 * (index % 2)) * w, (0.3 + 0.4 * (index // 2)) * h
    r = 0.18 * min(w, h)
    ImageDraw.Draw(mask).ellipse((cx - r, cy - r, cx + r, cy + r), fill=200)
    mask = mask.filter(ImageFilter.GaussianBlur(r / 3))
    return Image.composite(Image.new("RGB", size, _color(hue, 0.55)), panel, mask)


def _retexture_panel(image: Image.Image, prompt: str, index: int) -> Image.Image:
    size = _panel_size(image)
    shapes = ImageOps.autocontrast(ImageOps.grayscale(_cover(image, size)))
    hue = _prompt_hue(prompt, index)
    return ImageOps.colorize(
        shapes, _color(hue, 0.08), _color((hue + 0.15) % 1.0, 0.9), _color(hue, 0.5, 0.9)
    )


def edit_panels(image: Image.Image, prompt: str) -> list[Image.Image]:
    """Four panels: the input with part of it repainted in the prompt's colours, four ways."""
    return [_edit_panel(image, prompt, i) for i in range(4)]


def retexture_panels(image: Image.Image, prompt: str) -> list[Image.Image]:
    """Four panels: the input's shapes recoloured with four palettes drawn from the prompt."""
    return [_retexture_panel(image, prompt, i) for i in range(4)]


def render_edit_grid(image: Image.Image, prompt: str) -> Image.Image:
    """The 2x2 grid of :func:`edit_panels`."""
    return compose_grid(edit_panels(image, prompt))


def render_retexture_grid(image: Image.Image, prompt: str) -> Image.Image:
    """The 2x2 grid of :func:`retexture_panels`."""
    return compose_grid(retexture_panels(image, prompt))


def render_face_swap(source: Image.Image, target: Image.Image) -> Image.Image:
    """``target`` with the centre of ``source`` (the face) blended in as a feathered oval."""
    if min(source.size) <= 0 or min(target.size) <= 0:
        raise ValueError("both images need pixels")
    result = target.convert("RGB")
    side = max(2, round(min(result.size) * _FACE_SCALE))
    face = _cover(source, (side, side))
    mask = Image.new("L", (side, side), 0)
    inset = side // 10
    ImageDraw.Draw(mask).ellipse((inset, inset, side - inset, side - inset), fill=255)
    mask = mask.filter(ImageFilter.GaussianBlur(side / 20))
    # Faces sit a little above the middle of a portrait.
    left = (result.width - side) // 2
    top = max(0, round(result.height * 0.4) - side // 2)
    result.paste(face, (left, top), mask)
    return result
