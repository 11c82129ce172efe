"""The largest definitions the limits allow: a chain of states, made as text at run time.

``chain_definition(n)`` is ``n`` states ``s00000 → s00001 → …`` joined by one trigger, ``next``,
the shape that made validation quadratic (every transition shares the trigger). At 10,000 states
it is about 700 KB, under the 1 MiB file limit.
"""

from __future__ import annotations


def chain_definition(states: int, name: str = "chain") -> str:
    """A valid definition of ``states`` states in a line, each moved on by ``next``."""
    lines = [
        f"name: {name}",
        "labels: {vi: Chuỗi, en: Chain}",
        "roles:",
        "  clerk: {vi: Nhân viên, en: Clerk}",
        "states:",
        "  s00000: {initial: true}",
        *(f"  s{i:05d}: {{}}" for i in range(1, states - 1)),
        f"  s{states - 1:05d}: {{final: true}}",
        "transitions:",
        *(
            f"  - {{trigger: next, source: s{i:05d}, dest: s{i + 1:05d}, roles: [clerk]}}"
            for i in range(states - 1)
        ),
    ]
    return "\n".join(lines) + "\n"
