"""Output files the commands write (a digest, a ticket): whole or not at all.

The rule a reader must not break: a file named by the user is replaced in one step (written beside
it, then renamed over it), so a full disk, a signal or a crash leaves either the old file or none,
never a truncated digest that looks complete.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from analyzers.exceptions import OutputError


def write_text(path: Path, text: str, *, what: str) -> None:
    """Write `text` (UTF-8) to `path` atomically; OutputError names `what`, the path and the reason."""
    temporary: str | None = None
    try:
        if path.is_dir():
            raise IsADirectoryError(21, "Is a directory", str(path))
        descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o644 & ~_umask())
        os.replace(temporary, path)
        temporary = None
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise OutputError(
            f"cannot write the {what} to {path} ({reason}): choose a writable path with -o, "
            "or free some space"
        ) from None
    finally:
        if temporary is not None:
            with contextlib.suppress(OSError):
                os.unlink(temporary)


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current
