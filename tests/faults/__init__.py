"""Breakages a text edit of the bundle cannot make, for the self-tests (tests/test_selftests.py).

- ``certificates``: TLS files as a deployment may really hold them (expired, not yet valid,
  issued by another CA), written into a copy of the bundle before the guide's script runs.
- ``plain_bucket``: a plugin of the child run; the console step forgets "object locking".
- ``server/sitecustomize.py``: misbehaviours of the Parsec server that no setting of the
  2.16.3 release produces (an administration API that accepts any token, a bootstrap link
  that works twice, a migrate that stops short), switched on in the server's process only
  through the environment of the bundle's parsec-backend service.
"""
