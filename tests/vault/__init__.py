"""Tests of config_server.vault against a real OpenBao dev server."""
