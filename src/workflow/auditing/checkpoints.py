"""Checkpoints: the head hash and length of every chain, kept outside the database.

A hash chain shows that events were edited, removed or reordered inside it, but not that its
tail was cut off or that the whole chain was rewritten and re-hashed: someone with write access
to the database can do both and leave a consistent chain. A checkpoint written earlier (and kept
elsewhere) catches both: every chain it lists must still have at least as many events, and the
event at the recorded length must still have the recorded hash. With ``WORKFLOW_AUDIT_KEY`` set
the checkpoint is signed with HMAC-SHA256, so the checkpoint itself cannot be rewritten either.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import IO, Any

from workflow.engine import Engine
from workflow.errors import AuditError, InvalidInput, WorkflowError
from workflow.hashchain.encoding import ADMIN_CHAIN, canonical_json, format_instant
from workflow.hashchain.report import ChainProblem
from workflow.limits import MAX_CHECKPOINT_BYTES, parse_json
from workflow.store import repository as repo
from workflow.store.chains import chain_heads

CHECKPOINT_FORMAT = "workflow-audit-checkpoint"
CHECKPOINT_VERSION = 2
"""Version 2 adds the definitions table's hashes; version 1 checkpoints are still read."""
SIGNATURE_ALGORITHM = "HMAC-SHA256"


@dataclass(frozen=True)
class ChainMark:
    """One chain as the checkpoint saw it."""

    instance_id: int
    length: int
    head_hash: str


@dataclass(frozen=True)
class DefinitionMark:
    """One deployed version as the checkpoint saw its row: the content hash it was deployed
    with, and the SHA-256 of its stored source text."""

    workflow: str
    version: int
    content_hash: str
    source_sha256: str


@dataclass(frozen=True)
class Checkpoint:
    created_at: str
    chains: tuple[ChainMark, ...]
    signed: bool = False
    definitions: tuple[DefinitionMark, ...] | None = None
    """None: a version 1 checkpoint, which did not record them."""

    def body(self) -> dict[str, Any]:
        """The signed part of the checkpoint document."""
        body: dict[str, Any] = {
            "format": CHECKPOINT_FORMAT,
            "version": CHECKPOINT_VERSION if self.definitions is not None else 1,
            "created_at": self.created_at,
            "chains": [
                {"instance_id": c.instance_id, "length": c.length, "head_hash": c.head_hash}
                for c in self.chains
            ],
        }
        if self.definitions is not None:
            body["definitions"] = [
                {
                    "workflow": d.workflow,
                    "version": d.version,
                    "content_hash": d.content_hash,
                    "source_sha256": d.source_sha256,
                }
                for d in self.definitions
            ]
        return body


def _source_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def definition_marks(rows: Iterable[Any]) -> tuple[DefinitionMark, ...]:
    """The definitions table's rows (workflow, version, content_hash, source_text) as marks."""
    return tuple(
        DefinitionMark(
            str(r.workflow), int(r.version), str(r.content_hash), _source_sha256(r.source_text)
        )
        for r in rows
    )


def current_definitions(engine: Engine) -> tuple[DefinitionMark, ...]:
    """The definitions table as it is now, as marks."""
    with engine.read_transaction() as conn:
        return definition_marks(repo.deployed_definitions(conn))


def definition_problems(
    checkpoint: Checkpoint, current: Iterable[DefinitionMark]
) -> list[ChainProblem]:
    """Every deployed version the checkpoint recorded whose row is gone or changed since."""
    if checkpoint.definitions is None:
        return []
    now = {(d.workflow, d.version): d for d in current}
    found = []
    for mark in checkpoint.definitions:
        row = now.get((mark.workflow, mark.version))
        if row != mark:
            what = "is gone" if row is None else "changed"
            found.append(
                ChainProblem(
                    ADMIN_CHAIN,
                    None,
                    f"definition {mark.workflow}@{mark.version} {what} since the checkpoint",
                )
            )
    return found


def take_checkpoint(engine: Engine) -> Checkpoint:
    """The last event (seq and hash) of every chain, read from the audit rows themselves; the
    administrators' log is chain 0."""
    with engine.read_transaction(snapshot=True) as conn:
        heads = chain_heads(conn)
        definitions = definition_marks(repo.deployed_definitions(conn))
    marks = tuple(ChainMark(chain, seq, head_hash) for chain, seq, head_hash in heads)
    return Checkpoint(format_instant(engine.now()), marks, definitions=definitions)


def _sign(body: Mapping[str, Any], key: bytes) -> str:
    return hmac.new(key, canonical_json(dict(body)).encode("utf-8"), hashlib.sha256).hexdigest()


def write_checkpoint(checkpoint: Checkpoint, out: IO[str], key: bytes | None = None) -> None:
    """Write the checkpoint as one JSON document, signed when ``key`` is given."""
    document = checkpoint.body()
    document["signature"] = (
        {"algorithm": SIGNATURE_ALGORITHM, "value": _sign(checkpoint.body(), key)} if key else None
    )
    json.dump(document, out, ensure_ascii=False, indent=1)
    out.write("\n")


class CheckpointSignatureError(AuditError):
    """The checkpoint's signature does not match: the checkpoint itself was altered."""

    def __init__(self, message: str) -> None:
        self.problems = ()
        WorkflowError.__init__(self, message)


def read_checkpoint(handle: IO[str], key: bytes | None, name: str = "checkpoint") -> Checkpoint:
    """Read and authenticate a checkpoint.

    A signed checkpoint needs ``key`` (else :class:`~workflow.InvalidInput`); a signature that
    does not match raises :class:`CheckpointSignatureError`, and so does an unsigned checkpoint
    when ``key`` is given: whoever holds the key signs every checkpoint, so one without a
    signature is one whose signature was stripped.
    """
    try:
        text = handle.read(MAX_CHECKPOINT_BYTES + 1)
    except UnicodeDecodeError:
        raise InvalidInput(f"{name} is not valid UTF-8") from None
    if len(text) > MAX_CHECKPOINT_BYTES:
        raise InvalidInput(f"{name} is larger than the limit of {MAX_CHECKPOINT_BYTES:,} bytes")
    document = parse_json(text, name)
    try:
        if document.get("format") != CHECKPOINT_FORMAT:
            raise InvalidInput(f"{name} is not a workflow audit checkpoint")
        chains = tuple(
            ChainMark(int(c["instance_id"]), int(c["length"]), str(c["head_hash"]))
            for c in document["chains"]
        )
        definitions = None
        if "definitions" in document:
            definitions = tuple(
                DefinitionMark(
                    str(d["workflow"]), int(d["version"]), str(d["content_hash"]),
                    str(d["source_sha256"]),
                )
                for d in document["definitions"]
            )  # fmt: skip
        checkpoint = Checkpoint(str(document["created_at"]), chains, definitions=definitions)
        signature = document.get("signature")
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise InvalidInput(f"{name} is not a readable checkpoint ({exc})") from None
    if not signature:
        if key:
            raise CheckpointSignatureError(
                f"{name} is unsigned, but an audit key is set: a checkpoint written with the key "
                "is signed, so its signature was removed (or it was written without the key)"
            )
        return checkpoint
    if not isinstance(signature, dict):
        raise CheckpointSignatureError(f"{name}: its signature is not one this engine writes")
    if not key:
        raise InvalidInput(f"{name} is signed: set WORKFLOW_AUDIT_KEY to the key that signed it")
    expected = _sign(checkpoint.body(), key)
    if not hmac.compare_digest(expected, str(signature.get("value", ""))):
        raise CheckpointSignatureError(
            f"{name}: signature does not match (the checkpoint was altered or the key is wrong)"
        )
    return Checkpoint(checkpoint.created_at, chains, signed=True, definitions=definitions)


class CheckpointCheck:
    """Compares a stream of audit rows against a checkpoint, in one pass.

    Memory grows with the number of chains in the checkpoint, not with the number of events.
    """

    def __init__(self, checkpoint: Checkpoint, only: Iterable[int] | None = None) -> None:
        # The administrators' log (chain 0) is checked only when asked for by name: the rows of
        # the instances' chains, and an export, never hold it.
        keep = None if only is None else set(only)
        self.marks = {
            c.instance_id: c
            for c in checkpoint.chains
            if (c.instance_id in keep if keep is not None else c.instance_id != ADMIN_CHAIN)
        }
        self.seen: dict[int, int] = {}
        self.hash_at_mark: dict[int, str] = {}

    def feed(self, row: Mapping[str, Any]) -> None:
        instance_id = int(row["instance_id"])
        mark = self.marks.get(instance_id)
        if mark is None:
            return
        seq = int(row["seq"])
        self.seen[instance_id] = max(seq, self.seen.get(instance_id, 0))
        if seq == mark.length:
            self.hash_at_mark[instance_id] = str(row["hash"])

    def problems(self) -> list[ChainProblem]:
        """Every chain listed in the checkpoint that was truncated or rewritten since."""
        found = []
        for instance_id, mark in sorted(self.marks.items()):
            length = self.seen.get(instance_id, 0)
            if length < mark.length:
                gone = "the whole chain is gone" if length == 0 else "its tail was cut off"
                found.append(
                    ChainProblem(
                        instance_id,
                        length + 1,
                        f"events {length + 1}..{mark.length} were removed since the checkpoint "
                        f"({gone})",
                    )
                )
            elif self.hash_at_mark.get(instance_id) != mark.head_hash:
                found.append(
                    ChainProblem(
                        instance_id,
                        mark.length,
                        f"event {mark.length} no longer has the hash the checkpoint recorded "
                        "(the chain was rewritten at or before this event)",
                    )
                )
        return found
