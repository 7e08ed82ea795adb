"""Small real images for tests (Pillow-made, never mocked)."""

import io
import struct
import zlib

from PIL import Image


def image_bytes(size: tuple[int, int] = (300, 200), *, fmt: str = "PNG", mode: str = "RGB", color="red") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, color).save(out, format=fmt)
    return out.getvalue()


def png_claiming_size(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims `width`x`height`: a decompression bomb's disguise."""
    data = bytearray(image_bytes((1, 1)))
    # The IHDR chunk starts at byte 8: length (4), type (4), width (4), height (4), ... crc.
    data[16:24] = struct.pack(">II", width, height)
    crc = zlib.crc32(bytes(data[12:29])) & 0xFFFFFFFF
    data[29:33] = struct.pack(">I", crc)
    return bytes(data)


def stored_files(root) -> list[str]:
    """Every file under a MEDIA_ROOT, relative to it."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
