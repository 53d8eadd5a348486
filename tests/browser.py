"""Headless Chromium from the command line, for the report's browser test: the DOM and a screenshot.

Debian's ``chromium`` is driven only through its own switches: ``--dump-dom``
prints the DOM after the page's scripts ran, ``--screenshot`` paints the top
of a page into a PNG. Both run with a fresh profile and without network
features. ``--screenshot`` paints the page unscrolled: a page opened at a
``#fragment`` that scrolls comes out blank, so screenshots are of the top of a
page, and what happens lower down is checked in the DOM.

``python -m tests.browser PAGE PNG [WIDTHxHEIGHT]`` takes a screenshot by hand.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
import sys
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path

CHROMIUM = Path(shutil.which("chromium") or "/usr/bin/chromium")
# Flags that keep a headless Chromium from touching the network or the user's profile.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--hide-scrollbars",
)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def chromium(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run headless Chromium with ``args`` and a throwaway profile; fail with its stderr if it fails."""
    with tempfile.TemporaryDirectory(prefix="taizhang-chromium-") as profile:
        done = subprocess.run(
            [str(CHROMIUM), *FLAGS, f"--user-data-dir={profile}", *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    if done.returncode != 0:
        raise RuntimeError(f"chromium {' '.join(args)} exited {done.returncode}: {done.stderr[-2000:]}")
    return done


def dump_dom(url: str) -> str:
    """The page's DOM as HTML once it has loaded and its scripts have run."""
    return chromium("--dump-dom", url).stdout


def screenshot(url: str, png: Path, width: int = 1400, height: int = 1000) -> Path:
    """A PNG of the top ``width`` × ``height`` pixels of the page."""
    png.parent.mkdir(parents=True, exist_ok=True)
    chromium(f"--window-size={width},{height}", f"--screenshot={png.resolve()}", url)
    if not png.exists() or png.read_bytes()[:8] != PNG_SIGNATURE:
        raise RuntimeError(f"chromium wrote no PNG at {png}")
    return png


@dataclass
class Image:
    """The rows of a PNG, decoded: ``pixel(x, y)`` is (r, g, b)."""

    width: int
    height: int
    channels: int
    rows: list[bytes]

    def pixel(self, x: int, y: int) -> tuple[int, int, int]:
        i = x * self.channels
        r, g, b = self.rows[y][i : i + 3]
        return (r, g, b)

    def colours(self) -> set[tuple[int, int, int]]:
        """Every colour in the decoded rows."""
        c = self.channels
        return {(row[i], row[i + 1], row[i + 2]) for row in self.rows for i in range(0, len(row), c)}


def read_png(path: Path, max_rows: int | None = None) -> Image:
    """Decode an 8-bit RGB or RGBA PNG as Chromium writes it (no palette, not interlaced).

    Only the first ``max_rows`` rows are unfiltered (pure Python is slow); ``height`` is the whole image's.
    """
    data = path.read_bytes()
    if data[:8] != PNG_SIGNATURE:
        raise ValueError(f"{path} is not a PNG")
    pos, idat, header = 8, [], b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat.append(body)
        pos += 12 + length
    width, height, depth, colour_type, _, _, interlace = struct.unpack(">IIBBBBB", header)
    if depth != 8 or colour_type not in (2, 6) or interlace:
        raise ValueError(f"{path}: only 8-bit RGB/RGBA, not interlaced (got {depth}, {colour_type})")
    channels = 3 if colour_type == 2 else 4
    raw = zlib.decompress(b"".join(idat))
    stride = width * channels
    rows: list[bytes] = []
    prior = bytearray(stride)
    for y in range(min(height, max_rows if max_rows is not None else height)):
        start = y * (stride + 1)
        row = _unfilter(raw[start], bytearray(raw[start + 1 : start + 1 + stride]), prior, channels)
        rows.append(bytes(row))
        prior = row
    return Image(width, height, channels, rows)


def _unfilter(kind: int, row: bytearray, prior: bytearray, bpp: int) -> bytearray:
    """Undo one row's PNG filter (None, Sub, Up, Average, Paeth)."""
    if kind == 0:
        return row
    if kind == 2:
        return bytearray((a + b) & 0xFF for a, b in zip(row, prior, strict=True))
    for i in range(len(row)):
        left = row[i - bpp] if i >= bpp else 0
        if kind == 1:
            row[i] = (row[i] + left) & 0xFF
        elif kind == 3:
            row[i] = (row[i] + (left + prior[i]) // 2) & 0xFF
        elif kind == 4:
            up, corner = prior[i], prior[i - bpp] if i >= bpp else 0
            p = left + up - corner
            pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
            pred = left if pa <= pb and pa <= pc else up if pb <= pc else corner
            row[i] = (row[i] + pred) & 0xFF
        else:
            raise ValueError(f"unknown PNG filter {kind}")
    return row


if __name__ == "__main__":
    size = sys.argv[3] if len(sys.argv) > 3 else "1400x1000"
    w, h = (int(x) for x in size.split("x"))
    print(screenshot(Path(sys.argv[1]).resolve().as_uri(), Path(sys.argv[2]), w, h))
