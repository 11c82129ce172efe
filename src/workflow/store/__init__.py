"""Persistence: tables, connections, migrations and the queries the engine runs."""
