"""The one hash of the grouping keys (and of group edits' ids): BLAKE2b, as hex, of a text's UTF-8 bytes."""

from __future__ import annotations

try:
    # hashlib's own BLAKE2b (it never takes OpenSSL's), imported without `hashlib`, which loads the
    # OpenSSL library first: about 3 ms of every start-up of `logloop cluster` (timed against drain3)
    # and of every program that imports the shipper, for a hash OpenSSL does not give here.
    from _blake2 import blake2b
except ImportError:  # an interpreter built without the module: the same function through hashlib
    from hashlib import blake2b


def hex_digest(text: str, size: int) -> str:
    """The BLAKE2b digest of `text` of `size` bytes, in hex (lone surrogates, as a JSON decoder may
    give them, encoded as they are)."""
    return blake2b(text.encode("utf-8", "surrogatepass"), digest_size=size).hexdigest()
