"""The qualified names the handler recorded for frames whose bare function names collide in their file
(`logloop.qualnames`, see `shipper.frame_names`), written into the traceback text that is keyed.

A traceback prints `in close` for `Reader.close` and `Writer.close` alike; where the handler saw the
frames, the event says which, and its traceback is keyed as if printed `in Reader.close`. An event
without the field (a text log, another shipper's, one stored before the field existed) is keyed as
printed. Pure; a malformed field is ignored.
"""

from __future__ import annotations

from typing import Final

_LIMIT: Final = 32  # as many as the handler records


def with_qualnames(stack_trace: str, recorded: object) -> str:
    """`stack_trace` with each frame line the record names (`<file>:<line>:<qualname>`) ending in the
    qualified name instead of the bare one; as it is when nothing applies."""
    if type(recorded) is not list:
        return stack_trace
    for item in recorded[:_LIMIT]:
        if type(item) is not str:
            continue
        location, _, qualname = item.rpartition(":")
        filename, _, line = location.rpartition(":")
        parts = qualname.split(".")
        if not (
            filename and line.isdigit() and len(parts) > 1 and all(part.isidentifier() for part in parts)
        ):
            continue
        printed = f'File "{filename}", line {line}, in {parts[-1]}\n'
        stack_trace = stack_trace.replace(printed, f'File "{filename}", line {line}, in {qualname}\n')
    return stack_trace
