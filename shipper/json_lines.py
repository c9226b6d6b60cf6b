"""One line of a JSON-lines input decoded, or the reason it is not JSON, in words for its reader.

The one rule: nothing a line holds raises out of `decode`. Python's decoder refuses some valid JSON
with errors other than `JSONDecodeError` (arrays or objects nested past the interpreter's recursion
limit, an integer of thousands of digits), and a command reading a file of events must report such a
line like any other bad line, never end in a traceback.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["decode"]


def decode(text: str | bytes) -> tuple[Any, str | None]:
    """(the value, None), or (None, why the line is not usable JSON)."""
    try:
        return json.loads(text), None
    except json.JSONDecodeError as exc:
        return None, f"not valid JSON ({exc.msg} at column {exc.colno})"
    except RecursionError:
        return None, "JSON nested too deeply to read"
    except ValueError as exc:  # an integer past sys.get_int_max_str_digits()
        digits = "integer string conversion" in str(exc)
        return None, "a JSON number with too many digits to read" if digits else f"not usable JSON ({exc})"
