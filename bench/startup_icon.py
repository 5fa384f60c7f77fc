#!/usr/bin/env python3
"""Writes the start-up benchmark's input: a SIZE x SIZE (default 256) RGBA icon (a rounded badge, a ring, a
bar and a dot in four flat colours on transparency, edges anti-aliased by 4x4 supersampling),
drawn here so the benchmark needs no downloaded artwork. Standard library only.

    python3 bench/startup_icon.py OUT.png [SIZE]
"""

import struct
import sys
import zlib

SIZE = 256
SUB = 4


def colour_at(x, y):
    """The RGBA colour of point (x, y), in pixels, or None (transparent)."""
    cx, cy = 128.0, 128.0
    # Rounded square badge.
    r, half = 28.0, 104.0
    dx, dy = max(abs(x - cx) - (half - r), 0.0), max(abs(y - cy) - (half - r), 0.0)
    if dx * dx + dy * dy > r * r:
        return None
    d2 = (x - cx) ** 2 + (y - 112.0) ** 2
    if 52.0**2 <= d2 <= 70.0**2:
        return (250, 250, 245, 255)  # ring
    if 176.0 <= y <= 196.0 and 64.0 <= x <= 192.0:
        return (255, 196, 0, 255)  # bar
    if d2 <= 24.0**2:
        return (230, 57, 70, 255)  # dot
    return (29, 53, 87, 255)  # badge


def write_icon(out, size=SIZE):
    """Draws the icon at `size` pixels (the drawing is defined at 256) into `out`."""
    scale = SIZE / size
    rows = []
    for py in range(size):
        row = bytearray([0])
        for px in range(size):
            acc = [0, 0, 0, 0]
            for sy in range(SUB):
                for sx in range(SUB):
                    c = colour_at(
                        (px + (sx + 0.5) / SUB) * scale, (py + (sy + 0.5) / SUB) * scale
                    )
                    if c is not None:
                        for i in range(3):
                            acc[i] += c[i]
                        acc[3] += 1
            n = acc[3]
            if n == 0:
                row += bytes(4)
            else:
                row += bytes([acc[0] // n, acc[1] // n, acc[2] // n, n * 255 // (SUB * SUB)])
        rows.append(bytes(row))
    raw = zlib.compress(b"".join(rows), 9)

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    png = b"\x89PNG\r\n\x1a\n"
    png += chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0))
    png += chunk(b"IDAT", raw)
    png += chunk(b"IEND", b"")
    with open(out, "wb") as f:
        f.write(png)


if __name__ == "__main__":
    write_icon(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else SIZE)
