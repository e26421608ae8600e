"""Validate client-supplied images (``base64Array``, ``base64``, ``maskBase64``).

Everything a client sends is hostile until proven otherwise, so an image is
accepted only once we know, cheaply and in this order, that it is:

1. a string of plausible size (checked on the *encoded* length, before any
   decoding, so a 2 GB string cannot make us allocate 1.5 GB of bytes);
2. strict base64 (no silently skipped junk characters);
3. an image Pillow identifies as PNG, JPEG, WEBP or GIF, whose real type
   agrees with whatever the data URL claimed;
4. within pixel limits, judged from the header alone, so a tiny file that
   claims 20000x20000 pixels (a decompression bomb) is refused before any
   pixel buffer exists;
5. structurally complete (``Image.verify`` plus a cheap trailer check),
   so a truncated upload fails here rather than deep inside an engine.

Every failure is an :class:`ImageInputError` whose message names the field
and the problem, ready to be returned to the client as-is.
"""

from __future__ import annotations

import base64
import binascii
import io
import re
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

__all__ = [
    "DecodedImage",
    "ImageInputError",
    "ImageLimits",
    "decode_image",
    "decode_images",
    "inspect_image_bytes",
]


class ImageInputError(ValueError):
    """A client image was rejected; ``str(e)`` is ``"<field>: <reason>"``.

    ``field`` and ``reason`` are kept separately so the API layer can map the
    error onto its own envelope without parsing the message.
    """

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@dataclass(frozen=True, slots=True)
class DecodedImage:
    """A validated image: raw bytes plus the type and size we verified."""

    data: bytes
    mime: str
    ext: str
    width: int
    height: int


@dataclass(frozen=True, slots=True)
class ImageLimits:
    """Bounds applied to each image; defaults suit Midjourney reference images."""

    max_bytes: int = 10 * 1024 * 1024
    max_pixels: int = 40_000_000
    max_side: int = 10_000


# Pillow format name -> (mime, extension). Only these formats are ever handed to
# Pillow's parsers: restricting ``Image.open(formats=...)`` keeps the long tail of
# rarely-exercised plugins (and their bugs) out of reach of client input.
_ALLOWED: dict[str, tuple[str, str]] = {
    "PNG": ("image/png", "png"),
    "JPEG": ("image/jpeg", "jpg"),
    "WEBP": ("image/webp", "webp"),
    "GIF": ("image/gif", "gif"),
}
_ALLOWED_NAMES = ", ".join(_ALLOWED)

# Non-canonical spellings clients actually send; compared after lower-casing.
_MIME_ALIASES = {
    "image/jpg": "image/jpeg",
    "image/pjpeg": "image/jpeg",
    "image/x-png": "image/png",
}

# Magic numbers of common image types we refuse, used only to make the error
# message useful ("unsupported image type BMP") without letting Pillow parse them.
_OTHER_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"BM", "BMP"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"\x00\x00\x01\x00", "ICO"),
    (b"%PDF", "PDF"),
    (b"8BPS", "PSD"),
    (b"\xff\x0a", "JPEG XL"),
    (b"\x00\x00\x00\x0cJXL ", "JPEG XL"),
    (b"<svg", "SVG"),
    (b"<?xml", "SVG/XML"),
)

_WHITESPACE = re.compile(rb"[ \t\r\n\f\v]+")
_BOMB_PIXELS = re.compile(r"\((\d+) pixels\)")


def _reject(field: str, reason: str) -> ImageInputError:
    return ImageInputError(field, reason)


def _brief(exc: BaseException) -> str:
    """Exception summary for client messages: type plus a bounded excerpt."""
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text[:80]}" if text else type(exc).__name__


def _split_data_url(value: str, field: str) -> tuple[str | None, str]:
    """Return ``(declared_mime, payload)``; ``declared_mime`` is None for bare base64."""
    if value[:5].lower() != "data:":
        return None, value
    header, sep, payload = value.partition(",")
    if not sep:
        raise _reject(field, "data URL has no ',' separating header and data")
    params = [p.strip().lower() for p in header[5:].split(";")]
    mime = params[0]
    if not mime.startswith("image/"):
        shown = mime or "(none)"
        raise _reject(field, f"data URL media type {shown} is not an image")
    if params[-1] != "base64":
        raise _reject(field, "data URL is not base64-encoded (missing ';base64')")
    return _MIME_ALIASES.get(mime, mime), payload


def _check_raw_length(value: str, field: str, max_bytes: int) -> None:
    """Refuse absurdly long strings before copying, stripping or decoding them.

    Base64 of ``max_bytes`` is ``4 * ceil(max_bytes / 3)`` characters; doubling
    that (plus slack for a data-URL header) leaves room for line-wrapped
    base64 while still bounding the work done on hostile input.
    """
    encoded_limit = (max_bytes + 2) // 3 * 4
    if len(value) > encoded_limit * 2 + 1024:
        raise _reject(
            field,
            f"encoded data is {len(value)} characters, too large for the {max_bytes}-byte limit",
        )


def _decode_base64(payload: str, field: str, max_bytes: int) -> bytes:
    try:
        raw = payload.encode("ascii")
    except UnicodeEncodeError:
        raise _reject(field, "not valid base64 (non-ASCII characters)") from None
    compact = _WHITESPACE.sub(b"", raw)
    if not compact:
        raise _reject(field, "empty image data")
    body = compact.rstrip(b"=")
    # The decoded size is known exactly from the encoded length, so oversize
    # input is rejected before decoding allocates anything.
    implied = len(body) * 3 // 4
    if implied > max_bytes:
        raise _reject(field, f"image is {implied} bytes, limit {max_bytes}")
    padded = compact + b"=" * (-len(compact) % 4)
    try:
        data = base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError):
        raise _reject(field, "not valid base64") from None
    if not data:
        raise _reject(field, "empty image data")
    if len(data) > max_bytes:
        raise _reject(field, f"image is {len(data)} bytes, limit {max_bytes}")
    return data


def _name_unsupported(data: bytes) -> str | None:
    head = data[:16].lstrip()
    for magic, name in _OTHER_MAGIC:
        if head.startswith(magic):
            return name
    if data[4:8] == b"ftyp":
        brand = data[8:12]
        if brand in (b"avif", b"avis"):
            return "AVIF"
        if brand.startswith(b"hei") or brand in (b"mif1", b"msf1"):
            return "HEIC"
    return None


def _looks_truncated(fmt: str, data: bytes) -> bool:
    """Cheap end-of-stream checks for what ``Image.verify`` misses.

    ``verify`` walks PNG chunks but accepts a damaged IEND, and does nothing
    for JPEG or GIF beyond the header, so a half-uploaded file would pass it.
    These checks look only at markers, never decode pixels.
    """
    if fmt == "PNG":
        iend = data.rfind(b"IEND")
        return iend < data.rfind(b"IDAT") or iend + 8 > len(data)
    if fmt == "JPEG":
        # 0xFFD9 cannot occur inside entropy-coded data (0xFF is byte-stuffed),
        # so the end-of-image marker must follow the last start-of-scan.
        return data.rfind(b"\xff\xd9") < data.rfind(b"\xff\xda")
    if fmt == "GIF":
        return not data.rstrip(b"\x00").endswith(b";")
    if fmt == "WEBP":
        return int.from_bytes(data[4:8], "little") + 8 > len(data)
    return False


def _inspect(data: bytes, declared: str | None, field: str, limits: ImageLimits) -> DecodedImage:
    try:
        img = Image.open(io.BytesIO(data), formats=list(_ALLOWED))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        # Pillow's own global ceiling fired while reading the header: the image
        # claims far more pixels than any limit we would accept.
        found = _BOMB_PIXELS.search(str(exc))
        size = f"{found.group(1)} pixels" if found else "too many pixels"
        raise _reject(
            field,
            f"image is {size}, limit {limits.max_pixels} (possible decompression bomb)",
        ) from None
    except UnidentifiedImageError:
        other = _name_unsupported(data)
        if other is not None:
            raise _reject(
                field, f"unsupported image type {other}; allowed: {_ALLOWED_NAMES}"
            ) from None
        raise _reject(field, "not a recognisable image") from None
    except (OSError, EOFError) as exc:
        raise _reject(field, f"image data is truncated or corrupt ({_brief(exc)})") from None
    except Exception as exc:  # malformed headers raise all sorts of things
        raise _reject(field, f"not a readable image ({_brief(exc)})") from None

    with img:
        fmt = img.format or ""
        if fmt not in _ALLOWED:
            raise _reject(field, f"unsupported image type {fmt}; allowed: {_ALLOWED_NAMES}")
        mime, ext = _ALLOWED[fmt]
        if declared is not None and declared != mime:
            raise _reject(field, f"declared as {declared} but the data is {mime}")
        width, height = img.size
        # Header-only size checks: no pixel data has been decoded yet.
        if width <= 0 or height <= 0:
            raise _reject(field, f"image has invalid dimensions {width}x{height}")
        if width * height > limits.max_pixels:
            raise _reject(field, f"image is {width}x{height} pixels, limit {limits.max_pixels}")
        if max(width, height) > limits.max_side:
            raise _reject(
                field,
                f"image is {width}x{height} pixels, longest side limit {limits.max_side}",
            )
        try:
            img.verify()
        except Exception as exc:
            raise _reject(field, f"image data is truncated or corrupt ({_brief(exc)})") from None
    if _looks_truncated(fmt, data):
        raise _reject(field, "image data is truncated")
    return DecodedImage(data=data, mime=mime, ext=ext, width=width, height=height)


def decode_image(value: object, *, field: str, limits: ImageLimits = ImageLimits()) -> DecodedImage:
    """Decode and validate one image given as a data URL or bare base64.

    Raises :class:`ImageInputError` (and nothing else) for any rejected input,
    with a message naming ``field`` and the reason.
    """
    try:
        if not isinstance(value, str):
            raise _reject(field, f"expected a base64 string, got {type(value).__name__}")
        _check_raw_length(value, field, limits.max_bytes)
        if not value.strip():
            raise _reject(field, "empty image data")
        declared, payload = _split_data_url(value.strip(), field)
        data = _decode_base64(payload, field, limits.max_bytes)
        return _inspect(data, declared, field, limits)
    except ImageInputError:
        raise
    except Exception as exc:
        # Belt and braces: a Pillow or codec edge case must still surface as a
        # client error, never as a 500 with a traceback.
        raise _reject(field, f"could not be processed ({type(exc).__name__})") from None


def inspect_image_bytes(
    data: bytes, *, field: str, limits: ImageLimits = ImageLimits()
) -> DecodedImage:
    """Validate raw image bytes (e.g. fetched from a client's ``link``) like :func:`decode_image`.

    Raises :class:`ImageInputError` (and nothing else) naming ``field``.
    """
    try:
        if not data:
            raise _reject(field, "empty image data")
        if len(data) > limits.max_bytes:
            raise _reject(field, f"image is {len(data)} bytes, limit {limits.max_bytes}")
        return _inspect(data, None, field, limits)
    except ImageInputError:
        raise
    except Exception as exc:
        raise _reject(field, f"could not be processed ({type(exc).__name__})") from None


def decode_images(
    values: object,
    *,
    field: str,
    min_count: int,
    max_count: int,
    limits: ImageLimits = ImageLimits(),
) -> list[DecodedImage]:
    """Decode a list of images, naming elements ``field[i]`` in errors.

    The count is checked before any element is decoded so an oversized list
    costs nothing but its length.
    """
    if not isinstance(values, list):
        raise _reject(field, f"expected a list of images, got {type(values).__name__}")
    count = len(values)
    if not min_count <= count <= max_count:
        if min_count == max_count:
            wanted = f"exactly {min_count} image{'s' if min_count != 1 else ''}"
        else:
            wanted = f"{min_count} to {max_count} images"
        raise _reject(field, f"expected {wanted}, got {count}")
    return [
        decode_image(item, field=f"{field}[{i}]", limits=limits) for i, item in enumerate(values)
    ]
