"""Replaying each chain as a legal run of its definitions, in one streaming pass.

The hash chain shows that events were not edited after being linked; it cannot show that an
event should ever have been written. This package checks that it should: every event is one the
engine itself could have written, given the definitions deployed (as the administrators' log
recorded them), the actors registered, and the event before it:

- a start enters the initial state of the version it is pinned to, by an actor holding a start
  role (or a parent's spawn, which names its parent);
- a transition's (trigger, from, to) is the first transition of that version the actor could
  take (roles, unit scope, guards: :func:`workflow._machine.admits`, the machine's own rule), and
  its data is the previous data with that transition's effects applied to its payload
  (:func:`workflow._effects.apply_effects`, the engine's own code);
- a migration is recorded in the administrators' log, moves from the version the chain was on,
  and keeps the data;
- the definition a version was pinned to still has the content hash its deploy recorded, and
  the event names that hash; the actor was registered with the roles and unit it claims (once
  the deployment registers actors at all: before that, actors are the embedding
  application's, which the engine takes as given);
- times never decrease, and the instance row is the chain's head in every column.

Memory holds the administrators' log (deployments, registrations, migrations) and one chain.

One module per part of the check:

- :mod:`~workflow._legal.ledger`: what the administrators' log says (``AdminLedger``: deploys,
  registrations, migrations), gathered while it is verified;
- :mod:`~workflow._legal.rules`: each deployed version as the replay trusts it (``Rules``,
  ``rules_lookup``);
- :mod:`~workflow._legal.plans`: the transitions a trigger may take from a state, and which one an
  attempt takes (``Plan``);
- :mod:`~workflow._legal.replay`: every chain replayed, event by event (``LegalityCheck``), and
  the instance row compared with its chain's head;
- :mod:`~workflow._legal.admin_tables`: the definitions and actors tables against the
  administrators' log (``admin_problems``).
"""
