"""The audit event's canonical encoding, its SHA-256 hash chain, and chain verification.

Each instance has its own chain: event ``n`` stores the hash of event ``n-1`` (the first stores
:data:`GENESIS`), and its own hash is SHA-256 over the canonical JSON of every stored field. A
change to any field, a deleted, inserted or reordered event breaks the chain at that point.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

GENESIS = "0" * 64
# What json.dumps(ensure_ascii=False, sort_keys=True, ...) builds on every call, built once.
_CANONICAL = json.JSONEncoder(
    ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False
)
# json's own string encoder (C) with ensure_ascii=False: the spelling canonical_json gives.
_encode_str: Callable[[str], str] = json.encoder.encode_basestring

HASHED_FIELDS = (
    "instance_id",
    "seq",
    "kind",
    "trigger",
    "from_state",
    "to_state",
    "actor",
    "actor_roles",
    "actor_unit",
    "reason",
    "payload",
    "data",
    "workflow",
    "definition_version",
    "definition_hash",
    "occurred_at",
    "prev_hash",
)
OPTIONAL_HASHED_FIELDS = ("channel",)
"""Hashed when not null, left out of the hash material when null: ``channel`` (``api``, ``web``,
``cli``: where a transition came from) was added after events had been written without it, which
keep their hashes. Setting, changing or removing one on a stored event breaks its hash."""
CHANNELS = ("api", "web", "cli")
"""The channels an audit event may name (null: not said, as by an embedding application)."""


_make_encoder: Callable[..., Callable[[Any, int], tuple[str, ...]]] | None = getattr(
    json.encoder, "c_make_encoder", None
)


def canonical_json(value: Any) -> str:
    """Sorted keys, no spaces, UTF-8 text kept as is: one byte string per value."""
    if _make_encoder is None or isinstance(value, str):
        return _CANONICAL.encode(value)
    # What JSONEncoder.encode does for these settings, without rebuilding its Python-level
    # closures on every call (a quarter of the cost of a small object's encoding).
    encode = _make_encoder(
        {}, _CANONICAL.default, _encode_str, None, ":", ",", True, False, False
    )
    return "".join(encode(value, 0))


def format_instant(moment: datetime) -> str:
    """UTC, microseconds, ``Z``: the one spelling of an instant inside a hash."""
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    # Same text as strftime("%Y-%m-%dT%H:%M:%S.%fZ") (years 1000-9999), without its cost.
    if moment.year < 1000:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return f"{moment.isoformat(timespec='microseconds')[:26]}Z"


# The hashed fields in canonical (sorted) order, each with its ``"name":`` prefix; the
# optional ones among them are left out when null.
_SORTED_FIELDS = tuple(
    (name, _encode_str(name) + ":", name in OPTIONAL_HASHED_FIELDS)
    for name in sorted((*HASHED_FIELDS, *OPTIONAL_HASHED_FIELDS))
)


def _material_json(row: Mapping[str, Any]) -> str:
    """``canonical_json`` of the hashed fields, written field by field.

    The fields are text, whole numbers or null, so the object can be spelled directly (about
    three times faster than ``json.dumps`` with sorted keys); any other value goes through
    ``canonical_json``, which keeps the bytes identical whatever the row holds.
    """
    parts = []
    for name, prefix, optional in _SORTED_FIELDS:
        if optional:
            value = row.get(name)
            if value is None:
                continue
        else:
            value = row[name]
        kind = type(value)
        if kind is str:
            parts.append(prefix + _encode_str(value))
        elif value is None:
            parts.append(prefix + "null")
        elif kind is int:
            parts.append(prefix + int.__repr__(value))
        elif name == "occurred_at" and isinstance(value, datetime):
            parts.append(prefix + _encode_str(format_instant(value)))
        else:
            parts.append(prefix + canonical_json(value))
    return "{" + ",".join(parts) + "}"


def event_hash(row: Mapping[str, Any]) -> str:
    """The SHA-256 of an audit row's hashed fields (``payload`` and ``data`` as stored text)."""
    return hashlib.sha256(_material_json(row).encode("utf-8")).hexdigest()


def seal(
    row: dict[str, Any],
    *,
    as_event: Mapping[str, Any] | None = None,
    keys: AuditKeys | None = None,
) -> dict[str, Any]:
    """Give a chain's row (its fields as stored) the fields that prove it: its ``hash``, and
    under the audit ``keys`` its ``key_id`` and ``mac`` (an HMAC-SHA256 of the hash; both null
    without keys).

    Every row of every chain, the administrators' log included, is sealed here and nowhere
    else before the writer stores it, in the transaction that writes it.
    ``as_event`` is the row in the audit event's encoding when it is not an instance's event.
    """
    row["hash"] = digest = event_hash(row if as_event is None else as_event)
    row["key_id"], row["mac"] = (None, None) if keys is None else keys.seal(digest)
    return row


def audit_record(
    *,
    instance_id: int,
    seq: int,
    kind: str,
    trigger: str | None,
    from_state: str | None,
    to_state: str,
    actor: str,
    actor_roles: Iterable[str],
    actor_unit: str | None,
    reason: str | None,
    payload: Mapping[str, Any] | str,
    data: Mapping[str, Any],
    workflow: str,
    definition_version: int,
    definition_hash: str,
    occurred_at: datetime,
    prev_hash: str,
    keys: AuditKeys | None = None,
    channel: str | None = None,
) -> dict[str, Any]:
    """An instance's audit event as stored (JSON fields as canonical text), sealed (under
    ``keys`` when given); ``channel`` is hashed only when given (:data:`CHANNELS`). A
    ``payload`` given as text is its canonical JSON already (``limits.check_json_object``
    returns it)."""
    return seal(
        {
            "instance_id": instance_id,
            "seq": seq,
            "kind": kind,
            "trigger": trigger,
            "from_state": from_state,
            "to_state": to_state,
            "actor": actor,
            "actor_roles": canonical_json(sorted(actor_roles)),
            "actor_unit": actor_unit,
            "reason": reason,
            "payload": payload if isinstance(payload, str) else canonical_json(dict(payload)),
            "data": canonical_json(dict(data)),
            "workflow": workflow,
            "definition_version": definition_version,
            "definition_hash": definition_hash,
            "occurred_at": occurred_at,
            "prev_hash": prev_hash,
            "channel": channel,
        },
        keys=keys,
    )


ADMIN_CHAIN = 0
"""The administrators' log is chain 0: no instance has id 0, and its rows hash as instance 0."""


def admin_record(
    *,
    seq: int,
    action: str,
    subject: str,
    actor: str,
    detail: Mapping[str, Any],
    occurred_at: datetime,
    prev_hash: str,
    keys: AuditKeys | None = None,
) -> dict[str, Any]:
    """An administrators' log event as stored (``detail`` as canonical text), sealed (under
    ``keys`` when given)."""
    row: dict[str, Any] = {
        "seq": seq,
        "action": action,
        "subject": subject,
        "actor": actor,
        "detail": canonical_json(dict(detail)),
        "occurred_at": occurred_at,
        "prev_hash": prev_hash,
    }
    return seal(row, as_event=_admin_as_event(row), keys=keys)


def admin_event_hash(
    *,
    seq: int,
    action: str,
    subject: str,
    actor: str,
    detail: str,
    occurred_at: datetime,
    prev_hash: str,
) -> str:
    """The hash of an administrators' log event: the audit encoding, as an event of chain 0
    (``kind`` the action, ``to_state`` the subject, ``payload`` the detail's canonical JSON)."""
    return event_hash(
        _admin_as_event(
            {
                "seq": seq,
                "action": action,
                "subject": subject,
                "actor": actor,
                "detail": detail,
                "occurred_at": occurred_at,
                "prev_hash": prev_hash,
            }
        )
    )


def _admin_as_event(row: Mapping[str, Any]) -> dict[str, Any]:
    """An administrators' log row in the audit event's encoding, as an event of chain 0."""
    return {
        "instance_id": ADMIN_CHAIN,
        "seq": row["seq"],
        "kind": row["action"],
        "trigger": None,
        "from_state": None,
        "to_state": row["subject"],
        "actor": row["actor"],
        "actor_roles": "[]",
        "actor_unit": None,
        "reason": None,
        "payload": row["detail"],
        "data": "{}",
        "workflow": "",
        "definition_version": 0,
        "definition_hash": "",
        "occurred_at": row["occurred_at"],
        "prev_hash": row["prev_hash"],
    }


def verify_admin_rows(rows: Iterable[Mapping[str, Any]]) -> tuple[int, ChainProblem | None]:
    """(events read, first broken link or None) of the administrators' log, rows by ``seq``."""
    count, prev = 0, GENESIS
    for row in rows:
        count += 1
        problem = _admin_link_problem(row, count, prev)
        if problem is not None:
            return count, problem
        prev = str(row["hash"])
    return count, None


def _admin_link_problem(row: Mapping[str, Any], expected: int, prev: str) -> ChainProblem | None:
    seq = int(row["seq"])
    if seq != expected:
        return ChainProblem(
            ADMIN_CHAIN, expected, f"expected event {expected}, found {seq} (an event is missing)"
        )
    if row["prev_hash"] != prev:
        return ChainProblem(ADMIN_CHAIN, seq, "prev_hash does not match the previous event's hash")
    fields = {k: row[k] for k in ("action", "subject", "actor", "detail", "occurred_at")}
    if admin_event_hash(seq=seq, prev_hash=prev, **fields) != row["hash"]:
        return ChainProblem(ADMIN_CHAIN, seq, "hash does not match the event's content (edited)")
    return None


@dataclass(frozen=True)
class ChainProblem:
    """The first broken link of one chain."""

    instance_id: int
    seq: int | None
    problem: str

    def __str__(self) -> str:
        where = f"event {self.seq}" if self.seq is not None else "instance row"
        if self.instance_id == ADMIN_CHAIN:
            if self.seq is None:
                return f"administrators' log: {self.problem}"
            return f"administrators' log, {where}: {self.problem}"
        return f"instance {self.instance_id}, {where}: {self.problem}"


def first_per_chain(problems: Iterable[ChainProblem]) -> list[ChainProblem]:
    """The earliest problem of each chain (an event before the instance row), by chain."""
    first: dict[int, ChainProblem] = {}
    for problem in problems:
        held = first.get(problem.instance_id)
        if held is None or _rank(problem) < _rank(held):
            first[problem.instance_id] = problem
    return [first[i] for i in sorted(first, key=_chain_order)]


def _chain_order(instance_id: Any) -> tuple[bool, Any]:
    """By id; an id that is no integer (edited into SQLite, which keeps any value) after them."""
    number = type(instance_id) is int
    return (not number, instance_id if number else str(instance_id))


def _rank(problem: ChainProblem) -> float:
    return float("inf") if problem.seq is None else problem.seq


@dataclass
class VerificationReport:
    chains: int = 0
    events: int = 0
    problems: list[ChainProblem] = field(default_factory=list)
    admin_events: int | None = None
    """Events of the administrators' log verified (None: not looked at)."""
    keyed_events: int = 0
    """Events (both logs) whose MAC was checked against the audit keys."""
    unkeyed_events: int = 0
    """Events without a MAC (written before a key existed): never counted as keyed."""
    processes: int = 1
    """Processes that walked the chains (a large SQLite log is split: :meth:`Engine.verify`)."""

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class ChainHead:
    """What the instance row says the chain ends with."""

    instance_id: int
    state: str
    version: int
    last_hash: str


class ChainVerifier:
    """Verifies rows of one chain in ``seq`` order, one at a time, in constant memory."""

    def __init__(self, instance_id: int) -> None:
        self.instance_id = instance_id
        self.expected_seq = 1
        self.prev_hash = GENESIS
        self.last_state: str | None = None
        self.problem: ChainProblem | None = None

    def feed(self, row: Mapping[str, Any]) -> None:
        if self.problem is not None:
            return
        seq = int(row["seq"])
        if seq != self.expected_seq:
            what = "missing" if seq > self.expected_seq else "duplicated or reordered"
            self._fail(self.expected_seq, f"event {self.expected_seq} is {what} (found {seq})")
            return
        if row["prev_hash"] != self.prev_hash:
            if seq > 1 and event_hash(row) == row["hash"]:
                # This event is intact, so the one before it changed after being linked to.
                self._fail(
                    seq - 1,
                    f"hash differs from the one event {seq} links to (the event was "
                    f"rewritten and re-hashed, or event {seq}'s link was edited)",
                )
                return
            self._fail(seq, "previous-hash link does not match the event before it")
            return
        if event_hash(row) != row["hash"]:
            self._fail(seq, "content does not match its hash (the event was edited)")
            return
        if self.last_state is not None and row["from_state"] != self.last_state:
            self._fail(
                seq, f"starts from {row['from_state']!r} but the chain was in {self.last_state!r}"
            )
            return
        self.prev_hash = row["hash"]
        self.last_state = row["to_state"]
        self.expected_seq += 1

    def finish(self, head: ChainHead | None) -> ChainProblem | None:
        if self.problem is not None or head is None:
            return self.problem
        count = self.expected_seq - 1
        if count == 0:
            return ChainProblem(self.instance_id, None, "instance has no audit events")
        if head.version > count:
            return ChainProblem(
                self.instance_id,
                count + 1,
                f"missing: the instance is at version {head.version} but the chain ends at "
                f"event {count} (its tail was cut off)",
            )
        if head.version < count:
            return ChainProblem(
                self.instance_id,
                head.version + 1,
                f"is past the instance's version {head.version} (events were added)",
            )
        if head.last_hash != self.prev_hash:
            return ChainProblem(
                self.instance_id,
                count,
                "hash is not the instance's last hash (the event was rewritten and re-hashed, "
                "or the instance row was edited)",
            )
        if head.state != self.last_state:
            return ChainProblem(
                self.instance_id,
                None,
                f"instance state {head.state!r} is not the last event's "
                f"destination {self.last_state!r}",
            )
        return None

    def _fail(self, seq: int, problem: str) -> None:
        self.problem = ChainProblem(self.instance_id, seq, problem)


def head_of(row: Mapping[str, Any]) -> ChainHead | None:
    """The instance-row columns joined onto an audit row (``head_state`` ...), if present."""
    if row.get("head_version") is None:
        return None
    return ChainHead(
        int(row["instance_id"]),
        str(row["head_state"]),
        int(row["head_version"]),
        str(row["head_last_hash"]),
    )


def headless_chain(instance_id: int) -> ChainProblem:
    """The problem of a chain whose events remain while its instance row is gone."""
    return ChainProblem(
        instance_id, None, "the instance row is missing while its audit events remain (deleted)"
    )


def verify_rows(
    rows: Iterable[Mapping[str, Any]], report: VerificationReport | None = None
) -> VerificationReport:
    """Verify audit rows sorted by (instance_id, seq), streaming, in constant memory.

    Rows that carry the instance row's ``head_state``, ``head_version`` and ``head_last_hash``
    are also checked against it (state, version and last hash agree with the chain).
    """
    report = report or VerificationReport()
    verifier: ChainVerifier | None = None
    head: ChainHead | None = None

    def close(v: ChainVerifier, h: ChainHead | None) -> None:
        report.chains += 1
        problem = v.finish(h)
        if problem is not None:
            report.problems.append(problem)

    for row in rows:
        instance_id = int(row["instance_id"])
        if verifier is None or verifier.instance_id != instance_id:
            if verifier is not None:
                close(verifier, head)
            verifier = ChainVerifier(instance_id)
            head = head_of(row)
        verifier.feed(row)
        report.events += 1
    if verifier is not None:
        close(verifier, head)
    return report


# --- the database's chains, read as raw driver rows -----------------------------------------------

HEAD_COLUMNS = (
    "state", "version", "last_hash", "data", "unit", "coordinating_units", "active", "workflow",
    "definition_version",
)  # fmt: skip
"""The instance row's columns a chain's head must agree with."""

CHAIN_COLUMNS = (
    *sorted(HASHED_FIELDS), "hash", "key_id", "mac", *OPTIONAL_HASHED_FIELDS,
)  # fmt: skip
"""An audit row as :func:`verify_chains` reads it: the hashed fields in canonical order, the
stored hash, the event's key id and MAC (null when unkeyed), then the optional hashed fields
(:data:`OPTIONAL_HASHED_FIELDS`). A source may add columns after these."""
_CHANNEL_AT = CHAIN_COLUMNS.index("channel")


@dataclass(frozen=True)
class ChainSource:
    """The audit log as the driver returns it, for :func:`verify_chains`.

    ``rows``: :data:`CHAIN_COLUMNS` sorted by (instance_id, seq); ``head``: the instance
    row's :data:`HEAD_COLUMNS` for chain ``instance_id`` given the first row read of it (None
    when the instance row is missing), asked in increasing instance order, perhaps more than
    once for a chain; ``instant``: a stored ``occurred_at`` → its quoted text in the hash
    material, raising ``TypeError`` or ``ValueError`` for a value it does not know how to
    spell; ``chain``: one instance's rows as :func:`verify_rows` reads them (joined with the
    instance's head); ``orphans``: the instances without any event, by id. ``chain`` and
    ``orphans`` are called after ``rows`` is read to the end, and must see the same snapshot.
    """

    rows: Iterable[Sequence[Any]]
    head: HeadLookup
    instant: Callable[[Any], str]
    chain: Callable[[int], Iterable[Mapping[str, Any]]]
    orphans: Callable[[], Iterable[int]]


HeadLookup = Callable[[int, Sequence[Any]], "Sequence[Any] | None"]
"""(instance id, the first row read of its chain) → the instance row's :data:`HEAD_COLUMNS`."""
_HEAD_STATE, _HEAD_VERSION, _HEAD_LAST = (
    HEAD_COLUMNS.index(c) for c in ("state", "version", "last_hash")
)


_FAST, _EXACT, _LEFT_OUT = 0, 1, 2


RowObserver = Callable[[Sequence[Any]], None]
"""Called with every audit row read, as a :data:`CHAIN_COLUMNS` tuple (a checkpoint's check,
the replay of each chain)."""


def verify_chains(
    source: ChainSource, *, orphans: bool, observe: RowObserver | None = None
) -> VerificationReport:
    """What :func:`verify_rows` reports for the rows joined to their heads, 2.5-4x faster.

    A chain whose every event and head pass is counted from the driver's values, each row's
    hash material spelled in one step; any other chain (a failed check, a value of another
    type) is verified again by :func:`verify_rows` over ``source.chain``, so its count and
    problem are exactly that function's. A chain whose instance row is missing is reported as
    such (:func:`headless_chain`); with ``orphans``, instances without any event follow.
    """
    report = VerificationReport()
    exact_chains: list[int] = []  # the instances to verify again by verify_rows, in order
    headless: list[int] = []  # chains whose instance row is gone
    instant, enc, num, sha256 = source.instant, _encode_str, int.__repr__, hashlib.sha256
    current: int | None = None
    mode, expected, prev, last_state = _LEFT_OUT, 1, GENESIS, None
    head: tuple[Any, Any, Any] = (None, None, None)
    for row in source.rows:
        (
            actor, actor_roles, actor_unit, data, definition_hash, definition_version, from_state,
            instance_id, kind, occurred_at, payload, prev_hash, reason, seq, to_state, trigger,
            workflow, stored, *_,
        ) = row  # fmt: skip
        if observe is not None:
            observe(row)
        if instance_id != current:
            if mode == _FAST and head == (expected - 1, prev, last_state):
                report.chains += 1
                report.events += expected - 1
            elif mode != _LEFT_OUT and current is not None:
                exact_chains.append(current)
            current, expected, prev, last_state = instance_id, 1, GENESIS, None
            # Without a head the instance row is gone and the exact reading (a join) leaves
            # the chain out. A chain starting elsewhere fails below, and goes exact.
            found = source.head(instance_id, row)
            mode = _LEFT_OUT if seq == 1 and found is None else _FAST
            if mode == _LEFT_OUT:
                headless.append(instance_id)
            head = (
                (None, None, None)
                if found is None
                else (found[_HEAD_VERSION], found[_HEAD_LAST], found[_HEAD_STATE])
            )
        if mode:
            continue
        if seq != expected or prev_hash != prev or (
            last_state is not None and from_state != last_state
        ):
            mode = _EXACT
            continue
        channel = row[_CHANNEL_AT]
        said = "" if channel is None else f'"channel":{enc(channel)},'
        try:
            material = (
                f'{{"actor":{enc(actor)},"actor_roles":{enc(actor_roles)},"actor_unit":'
                f"{'null' if actor_unit is None else enc(actor_unit)},"
                f'{said}"data":{enc(data)},'
                f'"definition_hash":{enc(definition_hash)},"definition_version":'
                f'{num(definition_version)},"from_state":'
                f'{"null" if from_state is None else enc(from_state)},"instance_id":'
                f'{num(instance_id)},"kind":{enc(kind)},"occurred_at":{instant(occurred_at)},'
                f'"payload":{enc(payload)},"prev_hash":"{prev}","reason":'
                f'{"null" if reason is None else enc(reason)},"seq":{num(seq)},"to_state":'
                f'{enc(to_state)},"trigger":{"null" if trigger is None else enc(trigger)},'
                f'"workflow":{enc(workflow)}}}'
            )
        except (TypeError, ValueError):
            mode = _EXACT
            continue
        # prev is GENESIS or a SHA-256 hex digest the walk computed: it needs no escaping
        if sha256(material.encode()).hexdigest() == stored:
            prev, last_state, expected = stored, to_state, expected + 1
        else:
            mode = _EXACT
    if mode == _FAST and head == (expected - 1, prev, last_state):
        report.chains += 1
        report.events += expected - 1
    elif mode != _LEFT_OUT and current is not None:
        exact_chains.append(current)
    for instance_id in exact_chains:
        verify_rows(source.chain(instance_id), report)
    for instance_id in headless:
        report.chains += 1
        report.problems.append(headless_chain(instance_id))
    if orphans:
        for orphan in source.orphans():
            report.chains += 1
            report.problems.append(ChainProblem(orphan, None, "instance has no audit events"))
    return report


# --- keyed events: an HMAC under the application's audit key on every event ---------------------

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
