"""The audit event's canonical encoding, its SHA-256 hash chain, and chain verification.

Each instance has its own chain: event ``n`` stores the hash of event ``n-1`` (the first stores
:data:`~workflow.hashchain.encoding.GENESIS`), and its own hash is SHA-256 over the canonical JSON
of every stored field. A change to any field, a deleted, inserted or reordered event breaks the
chain at that point.

One module per concept, each importing only those above it in this list:

- :mod:`~workflow.hashchain.encoding`: the hash material (canonical JSON, the one spelling of an
  instant, the hashed fields) and an event's hash;
- :mod:`~workflow.hashchain.report`: what a verification finds (``ChainProblem``, the first of
  each chain, ``VerificationReport``);
- :mod:`~workflow.hashchain.keys`: the audit keys (``AuditKeys``, key ids, the events' MACs) and
  the streaming MAC check (``KeyCheck``);
- :mod:`~workflow.hashchain.sealing`: a row given the fields that prove it (``seal``) and an
  instance's audit event as stored (``audit_record``);
- :mod:`~workflow.hashchain.admin_log`: the administrators' log (chain 0): its records, their
  hashes and the walk of its links;
- :mod:`~workflow.hashchain.verifier`: the instances' chains verified, one row at a time
  (``verify_rows``) or from the driver's rows (``verify_chains`` over a ``ChainSource``).
"""
