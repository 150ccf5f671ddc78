#!/usr/bin/env python3
"""Pack files into penumbra's archive (see archive.h for the format).

Usage: mkarchive.py OUT NAME=PATH... ; a PATH of "corrupt:OTHER" stores a
deliberately broken copy of OTHER (its program headers point past the
end), for exec's error test.
"""
import struct
import sys

NAME_MAX = 24


def corrupt(data):
    data = bytearray(data[:256])
    struct.pack_into("<I", data, 28, 0x7fffff00)   # e_phoff far beyond the file
    return bytes(data)


def main():
    out, specs = sys.argv[1], sys.argv[2:]
    files = []
    for spec in specs:
        name, path = spec.split("=", 1)
        if len(name) >= NAME_MAX:
            sys.exit("mkarchive: name too long: " + name)
        if path.startswith("corrupt:"):
            data = corrupt(open(path[8:], "rb").read())
        else:
            data = open(path, "rb").read()
        files.append((name, data))
    offset = 8 + len(files) * (NAME_MAX + 8)
    header, blobs = b"PNAR" + struct.pack("<I", len(files)), b""
    for name, data in files:
        header += name.encode().ljust(NAME_MAX, b"\0") + struct.pack("<II", offset, len(data))
        offset += len(data)
        blobs += data
    with open(out, "wb") as f:
        f.write(header + blobs)


if __name__ == "__main__":
    main()
