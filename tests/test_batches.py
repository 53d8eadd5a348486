"""How ``flows.pipeline.etl.batches`` splits documents into extract tasks."""

from __future__ import annotations

import hashlib

import polars as pl

from flows.pipeline.etl import batches


def _documents(n: int, chars: int) -> pl.DataFrame:
    texts = [f"第{i}篇" + "整" * chars for i in range(n)]
    return pl.DataFrame(
        {"document_id": [hashlib.sha256(t.encode()).hexdigest() for t in texts], "text": texts}
    )


def test_batch_count_is_a_multiple_of_the_workers() -> None:
    docs = _documents(60, 1000)  # about 180 kB of text: 7 batches of 30 kB, rounded up to 8
    split = batches(docs, 30_000, workers=2)
    assert len(split) == 8
    assert sorted(id_ for _, part in split for id_ in part["document_id"]) == sorted(docs["document_id"])


def test_one_batch_is_not_split_for_the_workers() -> None:
    assert len(batches(_documents(3, 100), 1_000_000, workers=4)) == 1


def test_split_and_keys_depend_only_on_the_documents() -> None:
    docs = _documents(40, 500)
    first = [key for key, _ in batches(docs, 10_000, workers=2)]
    again = [key for key, _ in batches(docs.reverse(), 10_000, workers=2)]
    assert first == again
