"""Background images checked by their content, as the API will: format, size, dimensions.

The upload endpoint takes a PNG or JPEG of at most 625 KB (the spec's upload description); the
phones that show background images have screens of 480x128 to 800x480 pixels and scale an image
to fit (Webex's background image guide). A file whose name says ``.png`` may hold anything, so
before ``validate`` and ``plan`` accept an image its bytes are read: a PNG must be whole (every
chunk's CRC right, IHDR first, image data, IEND last), a JPEG must have its frame header before
its scan and end with EOI, the format must be the one its name says (the upload's content type
is taken from it), and each side must be from 1 to ``MAX_SIDE`` pixels. Pure functions.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

__all__ = ["MAX_BYTES", "MAX_SIDE", "ImageInfo", "image_problem", "inspect"]

MAX_BYTES = 625 * 1024  # the API's upload limit
MAX_SIDE = 4096  # pixels: five times the widest phone screen that shows background images

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_DEPTHS = {0: (1, 2, 4, 8, 16), 2: (8, 16), 3: (1, 2, 4, 8), 4: (8, 16), 6: (8, 16)}
# JPEG start-of-frame markers: SOF0-SOF15 but DHT (C4), JPG (C8) and DAC (CC)
_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_SUFFIX_FORMAT = {".png": "png", ".jpg": "jpeg", ".jpeg": "jpeg"}


@dataclass(frozen=True)
class ImageInfo:
    format: str  # "png" | "jpeg"
    width: int
    height: int

    @property
    def content_type(self) -> str:
        return f"image/{self.format}"


class _Bad(Exception):
    pass


def _png(data: bytes) -> ImageInfo:
    pos, first, seen_data, end = len(_PNG_SIGNATURE), True, False, False
    width = height = 0
    while pos < len(data):
        if end:
            raise _Bad("bytes after its IEND chunk")
        if pos + 12 > len(data):
            raise _Bad("a chunk cut short (the file is truncated)")
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        if len(body) != length or pos + 12 + length > len(data):
            raise _Bad("a chunk longer than the file (the file is truncated)")
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        if zlib.crc32(kind + body) != crc:
            raise _Bad(f"a damaged {kind.decode('latin-1')!r} chunk (its CRC does not match)")
        if first:
            if kind != b"IHDR" or length != 13:
                raise _Bad("no IHDR header chunk first")
            width, height, depth, colour, method, filtering, interlace = struct.unpack(">IIBBBBB", body)
            if depth not in _PNG_DEPTHS.get(colour, ()) or method or filtering or interlace > 1:
                raise _Bad("an IHDR header no PNG decoder takes")
            first = False
        seen_data |= kind == b"IDAT"
        end = kind == b"IEND"
        pos += 12 + length
    if first or not end:
        raise _Bad("no IEND chunk at its end (the file is truncated)")
    if not seen_data:
        raise _Bad("no image data (IDAT)")
    return ImageInfo("png", width, height)


def _jpeg(data: bytes) -> ImageInfo:
    pos, size = 2, None
    while True:
        if pos + 4 > len(data) or data[pos] != 0xFF:
            raise _Bad("a damaged segment before its image data")
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker == 0xD8 or 0xD0 <= marker <= 0xD7 or marker == 0x01:  # no length
            pos += 2
            continue
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        if length < 2 or pos + 2 + length > len(data):
            raise _Bad("a segment longer than the file (the file is truncated)")
        if marker in _SOF:
            if length < 8:
                raise _Bad("a damaged frame header")
            height, width = struct.unpack(">HH", data[pos + 5 : pos + 9])
            size = (width, height)
        if marker == 0xDA:  # start of scan: the image data follows
            break
        pos += 2 + length
    if size is None:
        raise _Bad("no frame header (SOF) before its image data")
    if not data.rstrip(b"\x00").endswith(b"\xff\xd9"):
        raise _Bad("no end-of-image marker (the file is truncated)")
    return ImageInfo("jpeg", size[0], size[1])


def inspect(data: bytes) -> ImageInfo:
    """The format and dimensions of a PNG or JPEG; ``ValueError`` saying what is wrong."""
    try:
        if data.startswith(_PNG_SIGNATURE):
            return _png(data)
        if data.startswith(b"\xff\xd8\xff"):
            return _jpeg(data)
    except _Bad as exc:
        kind = "PNG" if data.startswith(_PNG_SIGNATURE) else "JPEG"
        raise ValueError(f"is not a whole {kind} image: {exc}") from None
    raise ValueError("is neither a PNG nor a JPEG image (by its content, whatever its name)")


def image_problem(data: bytes, suffix: str) -> tuple[ImageInfo | None, str | None]:
    """(what the image is, None) when the API would take ``data`` uploaded as a file ending in
    ``suffix``; (whatever is known, why not) otherwise: "is ...", "holds ...", to follow a name."""
    if len(data) > MAX_BYTES:
        return None, f"is {len(data):,} bytes: the API takes at most 625 KB ({MAX_BYTES:,} bytes)"
    try:
        info = inspect(data)
    except ValueError as exc:
        return None, str(exc)
    named = _SUFFIX_FORMAT.get(suffix.lower())
    if named != info.format:
        return info, f"holds a {info.format.upper()} image but is named {suffix!r}: name it after its format"
    if not (1 <= info.width <= MAX_SIDE and 1 <= info.height <= MAX_SIDE):
        return info, (
            f"is {info.width}x{info.height} pixels: each side must be 1 to {MAX_SIDE} (phones show "
            "480x128 to 800x480)"
        )
    return info, None
