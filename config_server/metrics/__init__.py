"""Prometheus metrics: ``/actuator/prometheus`` (see ``server`` for the names).

- ``timings``: ``Timings``, a histogram's state kept by the component that times something (git
  fetches, Vault calls, resolutions); no Prometheus import, so any module may hold one.
- ``server``: ``ServerMetrics``, one ``CollectorRegistry`` per application with the counters
  bumped where events happen (requests, auth refusals, decryption failures).
- ``collector``: ``StateCollector``, the values read from the server's state at scrape time
  (fetch ages, disk space, caches, long polls, notifications, ``config_served_info``).
"""
