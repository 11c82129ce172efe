"""Auditing: reading, exporting, proving and drawing what happened to instances.

Built on the hash chain of :mod:`workflow.hashchain` and the engine's read transactions, these
modules answer the auditor's questions: who did what and when (:mod:`~workflow.auditing.reads`:
filtered searches, the state of an instance at an instant), the log as portable CSV/JSON Lines
files that can be checked away from the database (:mod:`~workflow.auditing.export`), signed
checkpoints that pin the chain heads (:mod:`~workflow.auditing.checkpoints`), verification of a
whole log against them (:mod:`~workflow.auditing.verify`), and diagrams of a definition with the
path an instance took through it (:mod:`~workflow.auditing.graphs`). Nothing here writes audit
rows: only the engine's fire transaction does.
"""
