"""Where the tests find the checkout: its root, the committed sample runs, and the fio JSON corpus
the parser tests read (real outputs of public projects, copied into the repository under
tests/data/fio-corpus, with its SOURCES.md, so a clone with nothing beside it tests)."""
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RAW = ROOT / "data" / "raw"
CORPUS = ROOT / "tests" / "data" / "fio-corpus"
