"""Image files that claim more pixels than they carry (a PNG header is 33 bytes whatever the size it names), and
YAML that explodes when expanded: inputs for the hardening tests and the attack table."""

from __future__ import annotations

import struct
import zlib


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_claiming(width: int, height: int) -> bytes:
    """A valid-looking 1-bit greyscale PNG of `width`x`height` whose image data is a few compressed zero rows:
    enough for a decoder that trusts the header to allocate the whole picture."""
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    rows = zlib.compress(b"\0" * min(((width + 7) // 8 + 1) * min(height, 64), 1 << 20))
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", rows) + _chunk(b"IEND", b"")


def yaml_alias_bomb(levels: int = 9, fan_out: int = 9) -> str:
    """`levels` anchors each listing the previous one `fan_out` times: fan_out**levels strings, under 1 KB."""
    lines = [f"l0: &l0 [{','.join(['lol'] * fan_out)}]"]
    lines += [f"l{i}: &l{i} [{','.join([f'*l{i - 1}'] * fan_out)}]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"
