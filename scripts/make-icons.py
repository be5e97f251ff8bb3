#!/usr/bin/env python3
"""Draws the app icon (an upward arrow into a cloud-blue square) as RGBA PNGs, no dependencies."""
import struct, zlib, sys, os

def png(size):
    rows = []
    for y in range(size):
        row = bytearray([0])
        for x in range(size):
            u, v = (x + 0.5) / size, (y + 0.5) / size
            r = 0.18  # rounded square
            dx, dy = max(abs(u - 0.5) - (0.5 - r), 0), max(abs(v - 0.5) - (0.5 - r), 0)
            inside = dx * dx + dy * dy <= r * r
            if not inside:
                row += bytes([0, 0, 0, 0]); continue
            col = (255, 106, 0, 255)  # OSS orange
            shaft = abs(u - 0.5) < 0.08 and 0.38 < v < 0.78
            head = v >= 0.18 and v <= 0.42 and abs(u - 0.5) < (v - 0.18) * 1.1
            base = 0.80 < v < 0.86 and 0.25 < u < 0.75
            if shaft or head or base:
                col = (255, 255, 255, 255)
            row += bytes(col)
        rows.append(bytes(row))
    raw = zlib.compress(b"".join(rows), 9)
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")

out = sys.argv[1] if len(sys.argv) > 1 else "src-tauri/icons"
os.makedirs(out, exist_ok=True)
for name, size in [("32x32.png", 32), ("128x128.png", 128), ("128x128@2x.png", 256), ("icon.png", 512)]:
    with open(os.path.join(out, name), "wb") as f:
        f.write(png(size))
