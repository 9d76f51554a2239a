"""7z archives for the scanner tests, written with py7zr (plain headers so that member names can
be edited afterwards: py7zr refuses to write a traversal name, so one is patched in and the header
CRCs recomputed)."""

from __future__ import annotations

import io
import struct
import zlib

import py7zr


def archive(members: dict[str, bytes], *, password: str | None = None, encrypt_header: bool = False) -> bytes:
    buf = io.BytesIO()
    with py7zr.SevenZipFile(buf, "w", password=password, header_encryption=encrypt_header) as z:
        if not encrypt_header:
            z.set_encoded_header_mode(False)
        for name, data in members.items():
            z.writestr(data, name)
    return buf.getvalue()


def rename(data: bytes, old: str, new: str) -> bytes:
    """Replace a member name of the same length in a plain-header archive and fix both CRCs."""
    assert len(old) == len(new)
    d = bytearray(data)
    o, n = old.encode("utf-16-le"), new.encode("utf-16-le")
    i = d.find(o)
    assert i > 0 and d.count(o) == 1
    d[i : i + len(o)] = n
    off, size = struct.unpack_from("<QQ", d, 12)
    struct.pack_into("<I", d, 28, zlib.crc32(d[32 + off : 32 + off + size]))
    struct.pack_into("<I", d, 8, zlib.crc32(d[12:32]))
    return bytes(d)
