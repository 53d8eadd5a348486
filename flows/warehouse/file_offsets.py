"""Offsets in the stored text, given back as offsets in the file a person passed in.

The warehouse's offsets refer to ``raw_documents.text``, which is the file's text less
the lines of page furniture (``flows.warehouse.normalise``). ``taizhang extract`` and
``taizhang eval`` answer about files, in the annotation guide's format, where ``start``
and ``end`` slice the file itself as a text editor or Python's ``open()`` reads it; for
those, an offset in the stored text is moved past the furniture lines removed before it.

Only whole lines are ever removed from a text file, so the map is a list of runs of kept
lines: where each starts in the stored text and where in the file. Formats whose text is
extracted (HTML, PDF, Word) have no file text to point into; their offsets stay those of
the stored text.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable
from itertools import accumulate


def stored_to_file(original: str, stored: str) -> Callable[[int], int] | None:
    """A function from offsets in ``stored`` to offsets in ``original``, or None if ``stored`` is
    not ``original`` with whole lines removed (then there is no faithful map)."""
    if original == stored:
        return lambda offset: offset
    file_lines = original.splitlines(keepends=True)
    kept_lines = stored.splitlines(keepends=True)
    file_starts = [0, *accumulate(len(line) for line in file_lines)]
    kept_starts = [0, *accumulate(len(line) for line in kept_lines)]
    runs_stored: list[int] = []
    runs_file: list[int] = []
    j = 0
    for i, line in enumerate(file_lines):
        if j < len(kept_lines) and _same_line(line, kept_lines[j], last=j == len(kept_lines) - 1):
            runs_stored.append(kept_starts[j])
            runs_file.append(file_starts[i])
            j += 1
    if j != len(kept_lines):
        return None

    def to_file(offset: int) -> int:
        k = max(0, bisect_right(runs_stored, offset) - 1)
        return runs_file[k] + (offset - runs_stored[k]) if runs_stored else offset

    return to_file


def _same_line(line: str, kept: str, *, last: bool) -> bool:
    # The stored text's last line may have lost its line break with the furniture after it.
    return line == kept or (last and line.rstrip("\n") == kept.rstrip("\n"))
