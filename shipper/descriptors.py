"""Descriptors the shipper holds in a program that may close them under it (a daemon's `os.closerange`).

The one rule: a descriptor is closed, or used, only while it still refers to what the shipper opened
(same device and inode); otherwise its number may be one of the program's own files or sockets now,
and the objects that hold it are let go of without ever being closed or freed (`keep_forever`).
"""

from __future__ import annotations

import os

from shipper import reentry

Identity = tuple[int, int]  # (device, inode) of what a descriptor refers to
NONE: Identity = (-1, -1)  # a descriptor that was never ours


def identity(fd: int) -> Identity:
    """What `fd` refers to now; `NONE` if it is closed."""
    try:
        info = os.fstat(fd)
    except (OSError, ValueError):
        reentry.reraise_program_exception()
        return NONE
    return (info.st_dev, info.st_ino)


def ours(fd: int, known: Identity) -> bool:
    """Whether `fd` still refers to what the shipper opened as `known`."""
    return known != NONE and identity(fd) == known


def keep_forever(*objects: object) -> None:
    """Never free these: a file object, a socket or a mapping closes its descriptor when freed (the
    mapping its own copy), and those numbers may now be the program's. Held by a reference nothing
    releases, not in a list that the interpreter's shutdown would clear (freeing them among the
    program's files)."""
    import ctypes  # only for a program that closed the shipper's descriptors

    for value in objects:
        ctypes.pythonapi.Py_IncRef(ctypes.py_object(value))
