"""What tables show for a state or a trigger: the definition's label in the chosen language,
or the code (``--codes``). Definitions are read once per workflow version."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from workflow import Definition, Engine


class Labeller:
    """The labels of the deployed definitions, in the current language (``workflow.i18n``)."""

    def __init__(self, engine: Engine, *, codes: bool = False) -> None:
        self.engine = engine
        self.codes = codes
        self._definitions: dict[tuple[str, int], Definition | None] = {}

    def _definition(self, workflow: str, version: int) -> Definition | None:
        from workflow import WorkflowError

        key = (workflow, version)
        if key not in self._definitions:
            try:
                self._definitions[key] = self.engine.definition(workflow, version)
            except WorkflowError:
                self._definitions[key] = None
        return self._definitions[key]

    def _pick(self, labels: object, code: str) -> str:
        from workflow.i18n import language

        text = getattr(labels, language(), None) if labels is not None else None
        return text if isinstance(text, str) and text else code

    def state(self, workflow: str, version: int, state: str | None) -> str:
        """The state's label (its code with ``--codes``, or when it has none)."""
        if state is None:
            return ""
        definition = None if self.codes else self._definition(workflow, version)
        if definition is None or state not in definition.state_names:
            return state
        return self._pick(definition.state(state).labels, state)

    def action(self, event: Any) -> str:
        """What an audit event did: its trigger's label, else its kind (``start``)."""
        if not event.trigger:
            return str(event.kind)
        return self.trigger(event.workflow, event.definition_version, event.trigger)

    def trigger(self, workflow: str, version: int, trigger: str) -> str:
        """The label of the trigger's first labelled transition (else its code)."""
        definition = None if self.codes else self._definition(workflow, version)
        if definition is None:
            return trigger
        labels = next(
            (t.labels for t in definition.transitions if t.trigger == trigger and t.labels),
            None,
        )
        return self._pick(labels, trigger)
