"""Who is looking: password hashes, logins and their rate limit, the viewer's scope, CSRF tokens.

* Passwords are stored only as argon2id hashes (:func:`hash_password`, the CLI's
  ``spokeswatch web hash-password``); bcrypt hashes (``htpasswd -B``) are accepted too.
* A login is remembered in Starlette's signed session cookie (itsdangerous): the user's name,
  a fingerprint of their password hash (changing or removing the hash in config.yaml ends every
  session of that user) and a CSRF token for the forms.
* A reverse proxy that authenticates may name the user in ``web.trusted_header``; the header is
  believed only from ``web.trusted_proxies``.
* :class:`LoginLimiter` allows ``web.login_attempts`` failures per address and name in 15
  minutes (in memory, per process).
"""
from __future__ import annotations

import hashlib
import hmac
import ipaddress
import os
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import bcrypt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from monitor.config import Config, WebUser

LIMIT_WINDOW_SECONDS = 15 * 60
_HASHER = PasswordHasher()  # argon2id, the library's current defaults (64 MiB, 3 passes)
# verified against when the name is unknown, so a wrong name costs as long as a wrong password
_DUMMY_HASH = _HASHER.hash("spokeswatch: no such user")


@dataclass(frozen=True)
class Viewer:
    """The logged-in person: the office sees everything; a unit user only ``unit_id``'s threads."""

    name: str
    role: str  # office | unit
    unit_id: str | None = None

    @property
    def is_office(self) -> bool:
        return self.role == "office"

    def may_see_unit(self, unit_id: str | None) -> bool:
        return self.is_office or (unit_id is not None and unit_id == self.unit_id)


def viewer_of(user: WebUser) -> Viewer:
    return Viewer(user.name, user.role, user.unit if user.role == "unit" else None)


def hash_password(password: str) -> str:
    """An argon2id hash of ``password`` for ``web.users[].password_hash``."""
    if len(password) < 8:
        raise ValueError("a password needs at least 8 characters")
    return _HASHER.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches ``stored_hash`` (argon2 or bcrypt); always as slow as a real check."""
    if not stored_hash:
        try:
            _HASHER.verify(_DUMMY_HASH, password)
        except VerificationError:
            pass
        return False
    if stored_hash.startswith("$2"):
        try:
            return bcrypt.checkpw(password.encode("utf-8"), stored_hash.replace("$2y$", "$2b$", 1).encode("ascii"))
        except ValueError:
            return False
    try:
        return _HASHER.verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


_VERIFYING = threading.BoundedSemaphore(2)  # argon2 takes 64 MiB and a core: at most two at a time


def authenticate(config: Config, name: str, password: str) -> Viewer | None:
    """The viewer for a correct name and password, else None (an unknown name costs the same time)."""
    user = config.web.user(name)
    stored = user.password_hash.get_secret_value() if user and user.password_hash else None
    with _VERIFYING:
        ok = verify_password(stored, password)
    return viewer_of(user) if ok and user is not None else None


def hash_fingerprint(config: Config, name: str) -> str:
    """Changes when the user's password hash or role changes (or the user goes): stored in the session,
    so such a change in config.yaml ends that user's sessions at the next request."""
    user = config.web.user(name)
    if user is None:
        return ""
    stored = user.password_hash.get_secret_value() if user.password_hash else ""
    return hashlib.sha256(f"{stored}\x00{user.role}\x00{user.unit}".encode("utf-8")).hexdigest()[:16]


def session_viewer(config: Config, session: dict) -> Viewer | None:
    """The viewer a session cookie names, if that user still exists unchanged and logged in less
    than ``web.session_hours`` ago (the cookie is re-sent with every answer: its own expiry slides)."""
    name = session.get("user")
    if not name or session.get("fp") != hash_fingerprint(config, name):
        return None
    if not isinstance(session.get("at"), (int, float)) or time.time() - session["at"] > config.web.session_hours * 3600:
        return None
    user = config.web.user(name)
    return viewer_of(user) if user else None


def header_viewer(config: Config, client_host: str | None, headers) -> Viewer | None:
    """The viewer a trusted proxy names in ``web.trusted_header``, when the request comes from it."""
    header = config.web.trusted_header
    if not header or not client_host or not _trusted(client_host, config.web.trusted_proxies):
        return None
    values = headers.getlist(header) if hasattr(headers, "getlist") else [headers.get(header) or ""]
    if len(values) != 1:  # none, or repeated (a client's own copy beside the proxy's): nobody
        return None
    name = values[0].strip()
    user = config.web.user(name) if name else None
    return viewer_of(user) if user else None


def client_address(config: Config, peer: str | None, headers) -> str:
    """The address a login attempt counts against: the peer, or behind a trusted proxy the last
    address of its X-Forwarded-For (the one the proxy itself added)."""
    if peer and _trusted(peer, config.web.trusted_proxies):
        forwarded = [a.strip() for a in (headers.get("x-forwarded-for") or "").split(",") if a.strip()]
        if forwarded:
            return forwarded[-1]
    return peer or "?"


def _trusted(host: str, proxies: list[str]) -> bool:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    for p in proxies:
        try:
            if address in ipaddress.ip_network(p, strict=False):
                return True
        except ValueError:
            continue
    return False


# ---- CSRF -----------------------------------------------------------------------------

def csrf_token(session: dict) -> str:
    """The session's CSRF token (made on first use), put in every form."""
    token = session.get("csrf")
    if not token:
        token = session["csrf"] = secrets.token_urlsafe(24)
    return token


def csrf_ok(session: dict, sent: str | None) -> bool:
    token = session.get("csrf")
    return bool(token and sent and hmac.compare_digest(token, sent))


# ---- the session key -----------------------------------------------------------------------

MIN_KEY_CHARS = 32


def secret_key(config: Config) -> str:
    """``web.secret_key``, or a random key made once and kept owner-only in ``state_dir`` (written
    to a temporary file, synced, then renamed: a reader never sees it half-written; a key file
    that is too short to be one is replaced)."""
    if config.web.secret_key is not None and config.web.secret_key.get_secret_value():
        return config.web.secret_key.get_secret_value()
    folder = Path(config.state_dir)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = folder / "web_secret_key"
    try:
        key = path.read_text("ascii").strip()
        if len(key) >= MIN_KEY_CHARS:
            return key
    except (FileNotFoundError, UnicodeDecodeError):
        pass
    key = secrets.token_urlsafe(48)
    tmp = folder / f".web_secret_key.{os.getpid()}.{threading.get_ident()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(key)
        f.flush()
        os.fsync(f.fileno())
    try:
        os.link(tmp, path)  # only if no other process made one meanwhile
    except FileExistsError:
        existing = path.read_text("ascii").strip()
        if len(existing) >= MIN_KEY_CHARS:
            key = existing
        else:
            os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return key


# ---- rate limit --------------------------------------------------------------------------

class LoginLimiter:
    """At most ``attempts`` failed logins per (address, name), and ten times that per address, in
    LIMIT_WINDOW_SECONDS (in memory, per process)."""

    def __init__(self, attempts: int, clock=time.monotonic):
        self.attempts = attempts
        self.clock = clock
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: tuple[str, str]) -> deque[float]:
        q = self._failures.setdefault(key, deque())
        cutoff = self.clock() - LIMIT_WINDOW_SECONDS
        while q and q[0] < cutoff:
            q.popleft()
        return q

    def attempt(self, address: str, name: str) -> int:
        """Count an attempt before its password is checked (so parallel attempts cannot all pass
        the limit); 0, or the seconds to wait when over it. A success takes it back."""
        with self._lock:
            waits = []
            for key, allowed in (((address, name), self.attempts), ((address, ""), self.attempts * 10)):
                q = self._recent(key)
                if len(q) >= allowed:
                    waits.append(int(q[0] + LIMIT_WINDOW_SECONDS - self.clock()) + 1)
            if waits:
                return max(waits)
            now = self.clock()
            self._recent((address, name)).append(now)
            self._recent((address, "")).append(now)
            if len(self._failures) > 10_000:  # forget idle keys
                for key in [k for k, q in self._failures.items() if not q]:
                    del self._failures[key]
            return 0

    def succeeded(self, address: str, name: str) -> None:
        with self._lock:
            self._failures.pop((address, name), None)
            q = self._failures.get((address, ""))
            if q:
                q.pop()
