"""Test support: real git remotes, a real OpenBao, and the test vectors (``vectors/README.md``)."""

from pathlib import Path

VECTORS = Path(__file__).resolve().parent / "vectors"
