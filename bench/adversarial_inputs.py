#!/usr/bin/env python3
"""Adversarial images and job inputs for bench/adversarial.sh (issue 12's memory figures).

Standard library only. `images DIR` writes the calibration images (flat and noise, several
sizes); `jobs DIR` writes the mixed batch as job-input JSON files.
"""

import base64
import json
import os
import random
import struct
import sys
import zlib


def chunk(kind, data):
    return (
        struct.pack(">I", len(data))
        + kind
        + data
        + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


def png(width, height, rows, colour_type=2, extra=b""):
    """A PNG from an iterator of raw rows (without filter bytes), 8 bits per channel."""
    compressor = zlib.compressobj(6)
    parts = []
    for row in rows:
        parts.append(compressor.compress(b"\x00" + row))
    parts.append(compressor.flush())
    header = struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + extra
        + chunk(b"IDAT", b"".join(parts))
        + chunk(b"IEND", b"")
    )


def flat(width, height):
    """Four flat colour bands with a diagonal edge: logo-like, compresses to almost nothing."""
    colours = [b"\x1e\x5a\xc8", b"\xff\xff\xff", b"\xfa\xa0\x1e", b"\x16\x1a\x22"]

    def rows():
        for y in range(height):
            split = (y * width) // max(height, 1)
            band = colours[(y * 4) // max(height, 1)]
            yield band * split + colours[(y * 4 // max(height, 1) + 1) % 4] * (width - split)

    return png(width, height, rows())


def noise(width, height, seed):
    generator = random.Random(seed)

    def rows():
        for _ in range(height):
            yield generator.randbytes(width * 3)

    return png(width, height, rows())


def checkerboard(width, height):
    """Single black and white pixels: a few hundred bytes of PNG, one square per pixel when
    traced in pixel mode (issue 21: a 191 MB DXF)."""
    even = b"\x00\x00\x00\xff\xff\xff" * (width // 2) + b"\x00\x00\x00" * (width % 2)
    odd = b"\xff\xff\xff\x00\x00\x00" * (width // 2) + b"\xff\xff\xff" * (width % 2)

    def rows():
        for y in range(height):
            yield even if y % 2 == 0 else odd

    return png(width, height, rows())


ALL_FORMATS = ["svg", "pdf", "eps", "dxf", "png"]


def header_only(width, height):
    """Declares width × height RGBA; its IDAT is an empty zlib stream (a bomb's shape)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b""))
        + chunk(b"IEND", b"")
    )


def zlib_zeros(mebibytes):
    """A zlib stream of `mebibytes` MiB of zeros: one full-flushed MiB segment, repeated."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    segment = compressor.compress(bytes(1 << 20)) + compressor.flush(zlib.Z_FULL_FLUSH)
    length = mebibytes << 20
    adler = ((length % 65521) << 16) | 1
    return b"\x78\xda" + segment * mebibytes + b"\x03\x00" + struct.pack(">I", adler)


def iccp_bomb(mebibytes):
    """Finding 1: a 128×128 PNG whose colour profile inflates to `mebibytes` MiB."""
    profile = chunk(b"iCCP", b"bomb\x00\x00" + zlib_zeros(mebibytes))
    rows = (b"\x1e\x5a\xc8\xff" * 128 for _ in range(128))
    return png(128, 128, rows, colour_type=6, extra=profile)


def write(path, data):
    with open(path, "wb") as handle:
        handle.write(data)


def images(directory):
    os.makedirs(directory, exist_ok=True)
    for side in (64, 256, 512, 1024, 2048, 4096, 6300):
        write(os.path.join(directory, f"flat-{side}.png"), flat(side, side))
    for side in (256, 512, 1024, 2048):
        write(os.path.join(directory, f"noise-{side}.png"), noise(side, side, side))


def job(image_bytes, **options):
    return {"image": base64.b64encode(image_bytes).decode(), **options}


def jobs(directory, mix="mixed"):
    """`mixed`: 4 of each kind, interleaved so that every kind runs alongside others.
    `burst`: 8 real 40 MP images first (at concurrency 4 they would all decode at once), then
    4 noise images. `formats`: output formats under the memory budget (issue 21): pixel-mode
    checkerboards asking for DXF and for every format, noise with every format, and wide gap
    fillers rendered to PNG."""
    os.makedirs(directory, exist_ok=True)
    if mix == "formats":
        kinds = {
            "checker-1024-pixel-dxf": lambda i: job(
                checkerboard(1024, 1024), trace={"mode": "pixel"}, formats=["dxf"]
            ),
            "checker-1024-pixel-all": lambda i: job(
                checkerboard(1024, 1024), trace={"mode": "pixel"}, formats=ALL_FORMATS
            ),
            "noise-1024-all": lambda i: job(noise(1024, 1024, 300 + i), formats=ALL_FORMATS),
            "noise-1024-gap20-png": lambda i: job(
                noise(1024, 1024, 400 + i), gap_filler=20, formats=["png"]
            ),
        }
        index = 0
        for round_ in range(2):
            for name, make in kinds.items():
                with open(os.path.join(directory, f"{index:02d}-{name}.json"), "w") as handle:
                    json.dump({"input": make(round_)}, handle)
                index += 1
        return
    if mix == "burst":
        for index in range(12):
            name, payload = (
                ("flat-40mp", job(flat(6300, 6300)))
                if index < 8
                else ("noise-1024-pixel", job(noise(1024, 1024, index), trace={"mode": "pixel"}))
            )
            with open(os.path.join(directory, f"{index:02d}-{name}.json"), "w") as handle:
                json.dump({"input": payload}, handle)
        return
    kinds = {
        "iccp-bomb-4g": lambda i: job(iccp_bomb(4 << 10)),
        "declared-40mp": lambda i: job(header_only(6300, 6300)),
        "flat-40mp": lambda i: job(flat(6300, 6300)),
        "noise-1024-pixel": lambda i: job(noise(1024, 1024, 100 + i), trace={"mode": "pixel"}),
        "noise-1500-auto": lambda i: job(noise(1500, 1000, 200 + i)),
    }
    index = 0
    for round_ in range(4):
        for name, make in kinds.items():
            with open(os.path.join(directory, f"{index:02d}-{name}.json"), "w") as handle:
                json.dump({"input": make(round_)}, handle)
            index += 1


if __name__ == "__main__":
    command, target, *rest = sys.argv[1:]
    {"images": images, "jobs": jobs}[command](target, *rest)
