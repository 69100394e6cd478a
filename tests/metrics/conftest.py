"""The fixtures of the metrics tests: a real server on loopback (``serve``, from ``tests.http``)."""

from tests.http.conftest import serve

__all__ = ["serve"]
