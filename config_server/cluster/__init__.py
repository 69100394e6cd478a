"""Replicas that act as one, with no broker.

signing.py    the peer signature: an HMAC of a forwarded webhook under --cluster-secret, with a
              timestamp and a nonce (stale or replayed calls are refused); pure
peers.py      --peers (HOST:PORT, dns:NAME:PORT): who the other replicas are, re-resolved, and
              the forwarding of an accepted webhook to each of them, in the background
workers.py    --workers N: a supervisor that runs N servers on one port (SO_REUSEPORT), each a
              peer of the others
"""
