"""The progress bar of long runs: drawn on a terminal, silent otherwise."""

from __future__ import annotations

import pytest

from flows.pipeline.progress import document_progress


def test_the_bar_counts_documents_when_drawing_is_on(capsys: pytest.CaptureFixture[str]) -> None:
    with document_progress(3, enabled=True) as advance:
        advance(1)
        advance(2)
    err = capsys.readouterr().err
    assert "3/3" in err and "documents" in err


def test_nothing_is_printed_when_stderr_is_not_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    with document_progress(3) as advance:  # pytest's captured stderr is not a terminal
        advance(3)
    assert capsys.readouterr().err == ""
