"""The web view: overview, units, threads, search and bulletins for the office and each unit.

``app`` (routes, logins, access), ``pages`` and ``search_view`` (what each page shows),
``auth`` (hashes, sessions, rate limit, CSRF), ``text`` (the pages' English), ``server``
(uvicorn, standalone or in the daemon's thread).
"""
