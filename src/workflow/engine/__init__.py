"""The engine: deploy definitions, start instances, fire triggers, read history, verify the log.

Every write is one database transaction: the instance row, its audit event, its timers and its
outbox row commit together or not at all.

:class:`Engine` is the one public class (``_engine.py``: opening the database, closing it, its
schema). Its methods are grouped by responsibility, one module each, in the classes it inherits:
``_transactions.py`` (its own transactions and an application's, and the state every part
uses), ``_definitions.py`` (deploy and read definitions, their compiled machines),
``_transitions.py`` (start and fire), ``_reads.py`` (instances, history, the triggers open to an
actor, verification) and ``_actors.py`` (the actors' registry). Whole methods move to these
classes rather than their bodies to functions: the methods' signatures and docstrings alone
outgrow one module, and a fire keeps the calls it made.
"""

from workflow.engine._engine import Engine
from workflow.engine._transactions import Within

__all__ = ["Engine", "Within"]
