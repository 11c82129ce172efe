"""The audit keys: an HMAC under the application's audit key on every event, and its check.

Separate because the keys are a process's secret, read from its environment and carried on the
write transaction's connection: the hash chain itself needs no key, and a log written without
one verifies as unkeyed.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from workflow.hashchain.report import ChainProblem

KEY_ENV = "WORKFLOW_AUDIT_KEY"
"""The audit key itself (text)."""
KEY_FILE_ENV = "WORKFLOW_AUDIT_KEY_FILE"
"""A file of audit keys, one a line: the first signs, every one verifies (rotation)."""
_KEY_ID_MESSAGE = b"workflow audit key id"


def key_id(key: bytes) -> str:
    """A key's public name: 16 hex digits of an HMAC under it (the key cannot be read back)."""
    return hmac.new(key, _KEY_ID_MESSAGE, hashlib.sha256).hexdigest()[:16]


_SHA256_BLOCK = 64
_Pads = tuple[Any, Any]
"""A key's HMAC-SHA256 inner and outer hashes, each already fed its padded key."""


def _pads(key: bytes) -> _Pads:
    """RFC 2104 with SHA-256, the padded key hashed once: an event's MAC then costs two hash
    copies (``hmac.digest`` looks the digest up in OpenSSL on every call, several times
    slower)."""
    block = hashlib.sha256(key).digest() if len(key) > _SHA256_BLOCK else key
    block = block.ljust(_SHA256_BLOCK, b"\0")
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in block))
    outer = hashlib.sha256(bytes(b ^ 0x5C for b in block))
    return inner, outer


def _mac(pads: _Pads, digest: str) -> str:
    """HMAC-SHA256 of an event's hash (hex), under the key whose pads these are."""
    inner, outer = pads[0].copy(), pads[1].copy()
    inner.update(digest.encode())
    outer.update(inner.digest())
    return str(outer.hexdigest())


@dataclass(frozen=True)
class AuditKeys:
    """The audit keys a process holds. The first seals every event written (its id and an
    HMAC-SHA256 of the event's hash, in the event's own row); every key verifies, so a key can
    be rotated: put the new one first, keep the old ones after it."""

    keys: tuple[bytes, ...]
    signing_id: str = field(init=False)
    by_id: Mapping[str, _Pads] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not self.keys or not all(self.keys):
            raise ValueError("an audit keyring needs at least one non-empty key")
        object.__setattr__(self, "by_id", {key_id(k): _pads(k) for k in self.keys})
        object.__setattr__(self, "signing_id", key_id(self.keys[0]))

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> AuditKeys | None:
        """``WORKFLOW_AUDIT_KEY`` (one key), else the keys in ``WORKFLOW_AUDIT_KEY_FILE``, else
        None: no key, events are written unkeyed."""
        env = os.environ if environ is None else environ
        if env.get(KEY_ENV):
            return cls((env[KEY_ENV].encode("utf-8"),))
        path = env.get(KEY_FILE_ENV)
        if not path:
            return None
        with open(path, encoding="utf-8") as handle:
            keys = tuple(line.strip().encode("utf-8") for line in handle if line.strip())
        return cls(keys) if keys else None

    @property
    def signing_key(self) -> bytes:
        return self.keys[0]

    def seal(self, digest: str) -> tuple[str, str]:
        """(key id, MAC) of an event whose hash is ``digest``, under the signing key."""
        return self.signing_id, _mac(self.by_id[self.signing_id], digest)

    def problem(self, digest: str, kid: str, mac: str) -> str:
        """Why (``kid``, ``mac``) does not prove ``digest`` ('' when it does)."""
        pads = self.by_id.get(kid)
        if pads is None:
            return f"is sealed with key {kid}, which this verifier does not hold"
        if not hmac.compare_digest(_mac(pads, digest), str(mac)):
            return "its MAC does not match (forged, or edited and re-hashed without the key)"
        return ""


KEYS_INFO = "workflow.audit_keys"
"""Where the engine's write transaction's connection carries its :class:`AuditKeys` (its
``info``), for the code that seals events on that connection (:func:`keys_of`)."""


def keys_of(conn: Any) -> AuditKeys | None:
    """The audit keys of the write transaction ``conn`` belongs to (None: unkeyed)."""
    keys: AuditKeys | None = conn.info.get(KEYS_INFO)
    return keys


_SETTLE_EVERY = 64
"""Keyed events of one chain between two MAC checks: what a failed check reads again."""


@dataclass
class KeyCheck:
    """Checks the events' MACs as they stream, one chain after another.

    With ``keys``: a keyed event must be sealed by a key held and match; an unkeyed event is
    counted as unkeyed (written before a key existed), unless it follows a keyed event of its
    chain or was written at or after ``since`` (when the administrators' log first shows the
    key in use): then it is a forgery with its seal left off. Without keys nothing is checked:
    keyed events are counted as not verified.

    An event's hash covers the hash before it, so a MAC that matches proves its event and,
    through the links the hash walk checks, every event before it in the chain. The MAC is
    therefore checked at the end of each chain and every :data:`_SETTLE_EVERY` keyed events;
    only when one fails are the events since the last proven one checked one by one, to name
    the first bad event. (An event under a key the verifier no longer holds is proven by a
    later one under a key it holds.) Each check is an HMAC, the largest cost of a keyed
    verification: about 1.2 µs an event in Python, where the hash walk and replay cost 6 µs.
    Call :meth:`close` after the last event."""

    keys: AuditKeys | None
    since: str | None = None
    keyed: int = 0
    unkeyed: int = 0
    problems: list[ChainProblem] = field(default_factory=list)
    _chain: int = -1
    _chain_keyed: bool = False
    _chain_bad: bool = False
    _pending: list[tuple[int, str, str, Any]] = field(default_factory=list)

    def feed(self, chain: int, seq: int, digest: str, kid: Any, mac: Any, at: str) -> None:
        if chain != self._chain:
            self.close()
            self._chain, self._chain_keyed, self._chain_bad = chain, False, False
        if kid is None:
            self.unkeyed += 1
            if self.keys is None or self._chain_bad:
                return
            if self._chain_keyed:
                self._fail(seq, "has no MAC, though the events before it are keyed")
            elif self.since is not None and at >= self.since:
                self._fail(seq, f"has no MAC, though a key was in use since {self.since}")
            return
        self.keyed += 1
        self._chain_keyed = True
        if self.keys is None or self._chain_bad:
            return
        pending = self._pending
        pending.append((seq, digest, str(kid), mac))
        if len(pending) >= _SETTLE_EVERY:
            self._settle()

    def close(self) -> None:
        """Check what the chain being read has not proven yet (called on the next chain)."""
        if self._pending:
            self._settle()

    def _settle(self) -> None:
        pending, self._pending = self._pending, []
        keys = self.keys
        assert keys is not None
        _, digest, kid, mac = pending[-1]
        if not keys.problem(digest, kid, mac):
            return  # the last proves the others
        for seq, digest, kid, mac in pending:
            problem = keys.problem(digest, kid, mac)
            if problem:
                self._chain_bad = True
                self.problems.append(ChainProblem(self._chain, seq, problem))
                return

    def _fail(self, seq: int, problem: str) -> None:
        self.close()  # a bad MAC before this event is the chain's first problem
        if not self._chain_bad:
            self._chain_bad = True
            self.problems.append(ChainProblem(self._chain, seq, problem))
