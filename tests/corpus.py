"""The fio JSON corpus the parser tests read: real outputs of public projects, copied into the
repository (tests/data/fio-corpus, with its SOURCES.md) so a clone with nothing beside it tests."""
from pathlib import Path

CORPUS = Path(__file__).resolve().parent / "data" / "fio-corpus"
