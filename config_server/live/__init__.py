"""Live configuration: the long-poll hub, recomputation on change, and forge webhook payloads.

- ``hub``: ``WatchHub``, idle watchers keyed by environment, woken when an ETag changes.
- ``updates``: ``LiveUpdates``, recomputes watched environments after a fetch or a Vault poll.
- ``fleet``: ``Fleet``, which client instances hold which ETag and commit (``/actuator/clients``).
- ``webhooks``: push payloads of GitHub, GitLab, Gitea, Gitee, Gogs, Bitbucket (pure parsing).
"""
