"""Image dimensions from the file header, without decoding the pixels.

``image_size(data)`` reads the width and height that a PNG, JPEG, GIF, BMP, WebP, TIFF or
PNM/PPM/PGM header declares, in microseconds, so an image that claims to be 40000x40000 is
refused with a clear message before OpenCV tries to allocate it (OpenCV asserts with a
``cv2.error`` past its own limit, or allocates gigabytes below it). Unknown or truncated
headers give None: the decoder then has the last word.
"""

from __future__ import annotations

import struct

_JPEG_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) declared by the header of an encoded image, or None."""
    try:
        for sniff in (_png, _jpeg, _gif, _bmp, _webp, _tiff, _pnm):
            size = sniff(data)
            if size is not None:
                return int(size[0]), int(size[1])
    except (struct.error, IndexError, ValueError):
        return None
    return None


def _png(d):
    if d[:8] == b"\x89PNG\r\n\x1a\n" and d[12:16] == b"IHDR":
        return struct.unpack(">II", d[16:24])
    return None


def _gif(d):
    if d[:6] in (b"GIF87a", b"GIF89a"):
        return struct.unpack("<HH", d[6:10])
    return None


def _bmp(d):
    if d[:2] != b"BM":
        return None
    (dib,) = struct.unpack("<I", d[14:18])
    if dib == 12:  # OS/2 BITMAPCOREHEADER
        return struct.unpack("<HH", d[18:22])
    w, h = struct.unpack("<ii", d[18:26])
    return abs(w), abs(h)  # negative height: top-down rows


def _webp(d):
    if d[:4] != b"RIFF" or d[8:12] != b"WEBP":
        return None
    chunk = d[12:16]
    if chunk == b"VP8 ":
        w, h = struct.unpack("<HH", d[26:30])
        return w & 0x3FFF, h & 0x3FFF
    if chunk == b"VP8L":
        b = d[21:25]
        if len(b) < 4:
            return None
        w = 1 + (b[0] | (b[1] & 0x3F) << 8)
        h = 1 + (b[1] >> 6 | b[2] << 2 | (b[3] & 0x0F) << 10)
        return w, h
    if chunk == b"VP8X":
        b = d[24:30]
        if len(b) < 6:
            return None
        return 1 + int.from_bytes(b[0:3], "little"), 1 + int.from_bytes(b[3:6], "little")
    return None


def _jpeg(d):
    if d[:2] != b"\xff\xd8":
        return None
    i, n = 2, len(d)
    while i + 4 <= n:
        if d[i] != 0xFF:
            return None
        while i < n and d[i] == 0xFF:  # fill bytes
            i += 1
        if i >= n:
            return None
        marker = d[i]
        i += 1
        if marker in (0x01, 0xD8) or 0xD0 <= marker <= 0xD7:  # no length
            continue
        if marker == 0xD9:  # end of image before a frame header
            return None
        (length,) = struct.unpack(">H", d[i : i + 2])
        if marker in _JPEG_SOF:
            h, w = struct.unpack(">HH", d[i + 3 : i + 7])
            return w, h
        i += length
    return None


def _tiff(d):
    if d[:4] == b"II*\x00":
        e = "<"
    elif d[:4] == b"MM\x00*":
        e = ">"
    else:
        return None
    (off,) = struct.unpack(e + "I", d[4:8])
    (count,) = struct.unpack(e + "H", d[off : off + 2])
    w = h = None
    for k in range(count):
        p = off + 2 + 12 * k
        tag, typ = struct.unpack(e + "HH", d[p : p + 4])
        if tag not in (256, 257):
            continue
        if typ == 3:  # SHORT
            (val,) = struct.unpack(e + "H", d[p + 8 : p + 10])
        elif typ == 4:  # LONG
            (val,) = struct.unpack(e + "I", d[p + 8 : p + 12])
        else:
            return None
        if tag == 256:
            w = val
        else:
            h = val
    return (w, h) if w is not None and h is not None else None


def _pnm(d):
    if len(d) < 2 or d[0:1] != b"P" or d[1:2] not in b"123456":
        return None
    tokens, i, n = [], 2, min(len(d), 4096)
    while len(tokens) < 2 and i < n:
        c = d[i : i + 1]
        if c == b"#":
            while i < n and d[i : i + 1] not in (b"\n", b"\r"):
                i += 1
        elif c.isspace():
            i += 1
        else:
            j = i
            while j < n and d[j : j + 1].isdigit():
                j += 1
            if j == i:
                return None
            tokens.append(int(d[i:j]))
            i = j
    return tuple(tokens) if len(tokens) == 2 else None
