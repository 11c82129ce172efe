"""Directives: official documents fanned out to units as workflow instances.

A directive file names its items, the units (or kinds of units) each item addresses and their
deadlines; :mod:`~workflow.directives.files` reads and validates such files and the unit
registry through the strict YAML loader, :mod:`~workflow.directives.imports` writes the directive
and starts one instance per unit and item in one transaction, :mod:`~workflow.directives.report`
shows where every unit stands, and :mod:`~workflow.directives.demo` plays a whole directive
through on a frozen clock (``workflow demo``). See ``docs/directives.md``.
"""
