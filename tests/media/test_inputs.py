"""Tests for client image validation (mjrelay.media.inputs)."""

from __future__ import annotations

import base64
import io
import struct
import zlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageFile

from mjrelay.media.inputs import (
    DecodedImage,
    ImageInputError,
    ImageLimits,
    decode_image,
    decode_images,
    inspect_image_bytes,
)

FORMATS = {
    "PNG": ("image/png", "png"),
    "JPEG": ("image/jpeg", "jpg"),
    "WEBP": ("image/webp", "webp"),
    "GIF": ("image/gif", "gif"),
}


def encode(fmt: str, size: tuple[int, int] = (64, 48), mode: str = "RGB") -> bytes:
    img = Image.new(mode, size, (200, 30, 30) if mode == "RGB" else 0)
    buf = io.BytesIO()
    img.save(buf, fmt)
    return buf.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def data_url(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{b64(data)}"


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def bomb_png(width: int, height: int) -> bytes:
    """A genuine, valid 1-bit PNG of ``width``x``height`` zero pixels.

    Streamed row by row through zlib so building it never holds the pixels in
    memory: the file is tens of KB while a full decode would need hundreds of MB.
    """
    row = b"\x00" * (1 + (width + 7) // 8)  # filter byte + packed bits
    comp = zlib.compressobj(9)
    idat = b"".join(comp.compress(row) for _ in range(height)) + comp.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", idat)
        + png_chunk(b"IEND", b"")
    )


def reason(value: object, limits: ImageLimits | None = None, field: str = "base64") -> str:
    with pytest.raises(ImageInputError) as info:
        if limits is None:
            decode_image(value, field=field)
        else:
            decode_image(value, field=field, limits=limits)
    err = info.value
    assert err.field == field
    assert str(err) == f"{field}: {err.reason}"
    return err.reason


# --- accepted input ---------------------------------------------------------


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_data_url_of_each_supported_format_decodes(fmt: str) -> None:
    raw = encode(fmt)
    mime, ext = FORMATS[fmt]
    img = decode_image(data_url(raw, mime), field="base64")
    assert img == DecodedImage(data=raw, mime=mime, ext=ext, width=64, height=48)


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_bare_base64_decodes_with_detected_type(fmt: str) -> None:
    raw = encode(fmt)
    img = decode_image(b64(raw), field="base64")
    assert (img.mime, img.ext, img.width, img.height, img.data) == (*FORMATS[fmt], 64, 48, raw)


def test_whitespace_line_wrapping_and_missing_padding_are_tolerated() -> None:
    raw = encode("PNG")
    text = b64(raw).rstrip("=")
    wrapped = "\n".join(text[i : i + 76] for i in range(0, len(text), 76))
    assert len(b64(raw)) != len(text), "fixture should actually need padding"
    assert decode_image(f"data:image/png;base64,\r\n{wrapped}\n", field="f").data == raw


def test_jpg_alias_and_case_insensitive_header() -> None:
    raw = encode("JPEG")
    assert decode_image(data_url(raw, "image/jpg"), field="f").mime == "image/jpeg"
    assert decode_image(f"DATA:IMAGE/JPEG;BASE64,{b64(raw)}", field="f").mime == "image/jpeg"


# --- rejected input ---------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "expected a base64 string, got NoneType"),
        (123, "expected a base64 string, got int"),
        (b"aGVsbG8=", "expected a base64 string, got bytes"),
        ("", "empty image data"),
        ("   \n", "empty image data"),
        ("data:image/png;base64,", "empty image data"),
    ],
)
def test_non_string_and_empty_are_rejected(value: object, expected: str) -> None:
    assert reason(value) == expected


def test_non_image_mime_is_rejected() -> None:
    value = data_url(encode("PNG"), "text/html")
    assert reason(value) == "data URL media type text/html is not an image"
    assert reason("data:;base64,AAAA") == "data URL media type (none) is not an image"


def test_data_url_without_base64_marker_is_rejected() -> None:
    assert reason("data:image/png,%89PNG") == "data URL is not base64-encoded (missing ';base64')"
    assert reason("data:image/png;base64") == "data URL has no ',' separating header and data"


@pytest.mark.parametrize(
    "payload",
    ["not base64!!", "iVBORw0K*GgoAAAA", "QUJD-_", "A", "é" * 8],
)
def test_invalid_base64_is_rejected(payload: str) -> None:
    assert reason(payload, field="base64Array[1]").startswith("not valid base64")


def test_oversize_is_rejected_from_encoded_length_before_decoding(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[object] = []
    monkeypatch.setattr(base64, "b64decode", lambda *a, **k: calls.append(a))
    limits = ImageLimits(max_bytes=1000)
    assert reason("A" * 1400, limits) == "image is 1050 bytes, limit 1000"
    # Far beyond any plausible size: refused on the raw string length alone.
    assert "too large for the 1000-byte limit" in reason("A" * 10_000, limits)
    assert calls == []


def test_decoded_size_limit_is_exact() -> None:
    raw = encode("PNG")
    assert decode_image(b64(raw), field="f", limits=ImageLimits(max_bytes=len(raw))).data == raw
    limits = ImageLimits(max_bytes=len(raw) - 1)
    assert reason(b64(raw), limits) == f"image is {len(raw)} bytes, limit {len(raw) - 1}"


def test_unidentifiable_data_is_rejected() -> None:
    assert reason(b64(b"hello, this is certainly not an image")) == "not a recognisable image"


@pytest.mark.parametrize(("fmt", "name"), [("BMP", "BMP"), ("TIFF", "TIFF")])
def test_unsupported_real_type_is_rejected(fmt: str, name: str) -> None:
    got = reason(data_url(encode(fmt), "image/png"))
    assert got == f"unsupported image type {name}; allowed: PNG, JPEG, WEBP, GIF"


def test_declared_mime_must_match_real_type() -> None:
    got = reason(data_url(encode("JPEG"), "image/png"))
    assert got == "declared as image/png but the data is image/jpeg"


def test_pixel_count_limit() -> None:
    limits = ImageLimits(max_pixels=64 * 48 - 1)
    assert reason(b64(encode("PNG")), limits) == f"image is 64x48 pixels, limit {64 * 48 - 1}"


def test_side_limit() -> None:
    limits = ImageLimits(max_side=63)
    assert reason(b64(encode("GIF")), limits) == "image is 64x48 pixels, longest side limit 63"


def _forbid_pixel_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(self: object) -> None:
        raise AssertionError("pixel data must not be decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", boom)
    monkeypatch.setattr(Image.Image, "load", boom)


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_over_limit_image_rejected_from_header(monkeypatch: pytest.MonkeyPatch) -> None:
    value = b64(bomb_png(12_000, 12_000))
    _forbid_pixel_decoding(monkeypatch)
    assert reason(value) == "image is 12000x12000 pixels, limit 40000000"


def test_decompression_bomb_rejected_without_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    bomb = bomb_png(20_000, 20_000)
    assert len(bomb) < 200_000  # tiny file ...
    _forbid_pixel_decoding(monkeypatch)
    got = reason(data_url(bomb, "image/png"))  # ... claiming 400 megapixels
    assert got == "image is 400000000 pixels, limit 40000000 (possible decompression bomb)"


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_truncated_images_are_rejected(fmt: str) -> None:
    raw = encode(fmt, size=(120, 90))
    for cut in (len(raw) // 2, len(raw) - 2):
        got = reason(b64(raw[:cut]))
        assert "truncated" in got or "corrupt" in got, (cut, got)


def test_corrupted_png_crc_is_rejected() -> None:
    raw = bytearray(encode("PNG"))
    idat = raw.find(b"IDAT")
    raw[idat + 6] ^= 0xFF  # flip a byte inside the compressed data: CRC mismatch
    assert "truncated or corrupt" in reason(b64(bytes(raw)))


# --- lists --------------------------------------------------------------------


def test_decode_images_names_elements_and_counts() -> None:
    good = data_url(encode("PNG"), "image/png")
    imgs = decode_images([good, b64(encode("WEBP"))], field="base64Array", min_count=2, max_count=5)
    assert [i.mime for i in imgs] == ["image/png", "image/webp"]

    with pytest.raises(ImageInputError) as info:
        decode_images([good, "%%%"], field="base64Array", min_count=2, max_count=5)
    assert str(info.value) == "base64Array[1]: not valid base64"
    assert info.value.field == "base64Array[1]"


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["x"], "base64Array: expected 2 to 5 images, got 1"),
        (["x"] * 6, "base64Array: expected 2 to 5 images, got 6"),
        ("x", "base64Array: expected a list of images, got str"),
        (None, "base64Array: expected a list of images, got NoneType"),
    ],
)
def test_decode_images_rejects_bad_shape(values: object, expected: str) -> None:
    with pytest.raises(ImageInputError) as info:
        decode_images(values, field="base64Array", min_count=2, max_count=5)
    assert str(info.value) == expected


def test_decode_images_exact_count_message_and_empty_allowed() -> None:
    with pytest.raises(ImageInputError, match=r"^f: expected exactly 1 image, got 0$"):
        decode_images([], field="f", min_count=1, max_count=1)
    assert decode_images([], field="f", min_count=0, max_count=3) == []


# --- fuzzing ------------------------------------------------------------------

_PREFIXES = [
    b"\x89PNG\r\n\x1a\n",
    b"\xff\xd8\xff\xe0",
    b"GIF89a",
    b"RIFF\x10\x00\x00\x00WEBPVP8 ",
    b"BM",
    b"",
]
_image_like = st.builds(
    lambda prefix, tail: prefix + tail, st.sampled_from(_PREFIXES), st.binary(max_size=300)
)
_truncated_real = st.builds(
    lambda raw, cut: raw[:cut],
    st.sampled_from([encode(f) for f in FORMATS]),
    st.integers(min_value=0, max_value=2000),
)
_anything = st.one_of(
    st.text(max_size=300),
    st.text(max_size=200).map(lambda s: "data:" + s),
    st.text(max_size=200).map(lambda s: "data:image/png;base64," + s),
    st.binary(max_size=300).map(b64),
    _image_like.map(b64),
    _image_like.map(lambda d: data_url(d, "image/png")),
    _truncated_real.map(b64),
    st.none(),
    st.integers(),
    st.floats(),
    st.binary(max_size=50),
    st.lists(st.text(max_size=20), max_size=3),
    st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=2),
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_anything)
def test_arbitrary_input_only_ever_raises_image_input_error(value: object) -> None:
    try:
        img = decode_image(value, field="fuzz")
    except ImageInputError as err:
        assert str(err).startswith("fuzz: ")
    else:
        assert img.mime in {m for m, _ in FORMATS.values()}


@settings(max_examples=100, deadline=None)
@given(st.one_of(st.none(), st.text(max_size=10), st.lists(_anything, max_size=4)))
def test_decode_images_only_ever_raises_image_input_error(values: object) -> None:
    try:
        decode_images(values, field="arr", min_count=0, max_count=3)
    except ImageInputError as err:
        assert str(err).startswith("arr")


def test_inspect_image_bytes_validates_raw_bytes() -> None:
    """Bytes fetched from a ``link`` get the same checks as decoded base64, minus base64."""
    buffer = io.BytesIO()
    Image.new("RGB", (30, 20)).save(buffer, "PNG")
    image = inspect_image_bytes(buffer.getvalue(), field="link")
    assert (image.mime, image.width, image.height) == ("image/png", 30, 20)
    for data, reason in (
        (b"", "empty image data"),
        (b"<html>not an image</html>", "not a recognisable image"),
        (buffer.getvalue()[:-20], "truncated"),
        (b"\x89PNG" + b"\x00" * 2000, ""),
    ):
        with pytest.raises(ImageInputError) as caught:
            inspect_image_bytes(data, field="link")
        assert caught.value.field == "link"
        assert reason in caught.value.reason
    with pytest.raises(ImageInputError, match=r"limit 10$"):
        inspect_image_bytes(buffer.getvalue(), field="link", limits=ImageLimits(max_bytes=10))
