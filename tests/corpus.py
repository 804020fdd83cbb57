"""Where the shared fio JSON corpus is: ../shared/fio-json-corpus beside the repo (as in CI), else
$VOLTOOLS_FIO_CORPUS. Tests that need it skip without it, which CI counts as a failure."""
import os
from pathlib import Path

import pytest


def _corpus_dir():
    beside = Path(__file__).resolve().parents[2] / "shared" / "fio-json-corpus"
    if beside.is_dir():
        return beside
    return Path(os.environ.get("VOLTOOLS_FIO_CORPUS", beside))


CORPUS = _corpus_dir()
needs_corpus = pytest.mark.skipif(
    not CORPUS.is_dir(), reason=f"fio JSON corpus not found at {CORPUS} (set VOLTOOLS_FIO_CORPUS)"
)
