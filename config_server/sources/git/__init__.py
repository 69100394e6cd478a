"""Configuration files from git: the async source, the blocking repository it drives, and refs.

- ``source``: ``GitSource``, the async seam (one worker thread, background fetch, change signal).
- ``repository``: ``GitRepository``, the blocking clone (GitPython), used only through ``source``.
- ``refs``: label validation, ref snapshots, URI display and redaction (pure).
"""
