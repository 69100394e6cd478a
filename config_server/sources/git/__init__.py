"""Configuration files from git: the Source, the async seam it reads through, the blocking clone, refs.

- ``files``: ``GitConfigSource``, the ``Source``: search paths, file lookup, parsed-document cache.
- ``source``: ``GitSource``, the async seam (one worker thread, background fetch, change signal).
- ``repository``: ``GitRepository``, the blocking clone (GitPython), used only through ``source``.
- ``layout``: basedir on disk (0700): clone generations, the ``current`` pointer, temporaries, disk.
- ``listing``: a commit's tree listing and the symlink rule, shared with ``validate`` (pure).
- ``refs``: label validation, ref snapshots, URI display and redaction (pure).
- ``repos``: Spring's ``repos:`` and ``composite:`` entries as specs, pattern rules, URL keys (pure).
- ``patterns``: ``GitRepositories``, the ``Source`` over a default and pattern repositories
  (template clones made per request, each repository with its own fetch loop and health entry).
"""
