"""Persistence: tables, connections, migrations, the one writer and every query the engine runs.

The rest of the library calls this package's functions and never builds a statement. It names
three things of SQLAlchemy's for them: the open transaction the engine hands out
(:class:`Connection`, from ``Engine.transaction()`` / ``Engine.read_transaction()``), the pool
of connections to one database that transactions are taken from (:class:`Database`, what
``create_database_engine`` makes), and :data:`DatabaseError`, the family of the database's own
failures (a lost connection, a timeout).
"""

from sqlalchemy.engine import Connection
from sqlalchemy.engine import Engine as Database
from sqlalchemy.exc import SQLAlchemyError

DatabaseError = SQLAlchemyError

__all__ = ["Connection", "Database", "DatabaseError"]
