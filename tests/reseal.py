# SPDX-License-Identifier: MIT
"""Make every CRC-32 of a cache right again, as src/cache-format.md says.

Tests that plant a cache with other content (a hostile owner's forgery,
not damage) use it: every part's CRC and the header's are recomputed in
place (each is 8 hex digits, so no offset moves). The group rows' CRCs
first, then the ranges of the header (which cover the bucket parts that
hold those rows), then the header's own.
"""
import json
import re
import zlib

PREFIX = b'{"header":'
SEP = b',\n"data":'


def _put(buf, at, crc):
    buf[at:at + 8] = b"%08x" % crc


def reseal(data):
    buf = bytearray(data)
    end = buf.index(SEP)
    start = end + len(SEP)
    header = json.loads(bytes(buf[len(PREFIX):end]))
    index = header["index"]
    # the rows of every bucket part: [name, off, len, count, "CRC"]
    for boff, blen, _ in [b for b in index["groups"]["buckets"] if b is not None]:
        part = bytes(buf[start + boff:start + boff + blen])
        for m in re.finditer(rb',(\d+),(\d+),(\d+),"([0-9a-f]{8})"\]', part):
            goff, glen = int(m.group(1)), int(m.group(2))
            _put(buf, start + boff + m.start(4),
                 zlib.crc32(bytes(buf[start + goff:start + goff + glen])))
    # the header's ranges, in the header's bytes
    head = bytes(buf[:end])
    for m in re.finditer(rb'\[(\d+),(\d+),"([0-9a-f]{8})"\]', head):
        off, ln = int(m.group(1)), int(m.group(2))
        _put(buf, m.start(3), zlib.crc32(bytes(buf[start + off:start + off + ln])))
    key = buf.rindex(b',"crc":"', 0, end)
    _put(buf, key + len(b',"crc":"'), zlib.crc32(bytes(buf[:key])))
    return bytes(buf)
