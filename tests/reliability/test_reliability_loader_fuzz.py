"""Fuzzing the definition loader: whatever the input, only DefinitionError ever escapes."""

from __future__ import annotations

import copy
from typing import Any

import yaml
from hypothesis import given
from hypothesis import strategies as st
from reliability_support import count, profile

from workflow import Definition, DefinitionError
from workflow.definition.loader import load_text

VALID: dict[str, Any] = {
    "name": "fuzz",
    "labels": {"vi": "Thử", "en": "Fuzz"},
    "roles": {"clerk": {"vi": "Văn thư", "en": "Clerk"}},
    "fields": {"amount": {"type": "number"}, "due": {"type": "datetime"}},
    "states": {
        "draft": {"initial": True, "timers": [{"trigger": "late", "at": "due", "offset": "-P1D"}]},
        "done": {"final": True},
    },
    "transitions": [
        {
            "trigger": "finish",
            "source": "draft",
            "dest": "done",
            "roles": ["clerk"],
            "units": "own",
            "require_reason": False,
            "guards": [{"compare": {"field": "amount", "op": "le", "value": 10}}],
            "effects": [{"merge": ["amount"]}],
        },
        {"trigger": "late", "source": "draft", "dest": "draft", "roles": ["system"]},
    ],
}

FRAGMENTS = [
    "name: ", "states:", "transitions:", "roles:", "fields:", "labels:", "guards:", "effects:",
    "timers:", "  ", "    ", "\t", "\n", "- ", ": ", "[", "]", "{", "}", ",", "&a ", "*a",
    "!!python/object:os.system", "!!binary", "!!set", "<<: ", "? ", "|", ">", "'", '"', "#",
    "---\n", "...\n", "%YAML 1.1\n", "\\x00", "\u202e", "1e309", "0x1F", "~", "null", "yes",
    "draft", "done", "initial: true", "final: true", "trigger: go", "dest: nowhere", "P1D",
    "__import__('os')", "\ufeff",
]  # fmt: skip

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False),
    st.text(max_size=20),
    st.sampled_from(["draft", "done", "clerk", "system", "amount", "P1D", "-PT5M", "own"]),
)
structures = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.text(max_size=10) | st.sampled_from(list(VALID)), inner, max_size=4),
    ),
    max_leaves=25,
)


def loads_or_refuses(source: str | bytes) -> None:
    """The property: a Definition comes back, or a DefinitionError with located issues."""
    count("loader fuzz: examples")
    refusal: DefinitionError | None = None
    try:
        result = load_text(source, "fuzz.yaml")
    except DefinitionError as exc:
        refusal = exc
    if refusal is None:
        assert isinstance(result, Definition)
        count("loader fuzz: valid definitions")
        return
    assert refusal.issues
    assert all(issue.file == "fuzz.yaml" for issue in refusal.issues)


@profile(max_examples=80)
@given(st.text())
def test_random_text(source: str) -> None:
    loads_or_refuses(source)


@profile(max_examples=50)
@given(st.binary(max_size=300))
def test_random_bytes(source: bytes) -> None:
    loads_or_refuses(source)


@profile(max_examples=100)
@given(st.lists(st.sampled_from(FRAGMENTS) | st.text(max_size=6), max_size=40))
def test_yaml_ish_text(parts: list[str]) -> None:
    loads_or_refuses("".join(parts))


@profile(max_examples=60)
@given(structures)
def test_random_structures(value: object) -> None:
    loads_or_refuses(yaml.safe_dump(value, allow_unicode=True))


def _paths(value: object, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*prefix, index))
    return found


PATHS = _paths(VALID)[1:]


@profile(max_examples=60)
@given(st.lists(st.tuples(st.sampled_from(PATHS), structures), min_size=1, max_size=3))
def test_mutated_valid_definition(mutations: list[tuple[tuple[Any, ...], object]]) -> None:
    """A valid definition with random parts replaced by random values."""
    document: Any = copy.deepcopy(VALID)
    for path, replacement in mutations:
        node = document
        try:
            for step in path[:-1]:
                node = node[step]
            node[path[-1]] = replacement
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation removed this path
    loads_or_refuses(yaml.safe_dump(document, allow_unicode=True))


def test_the_unmutated_definition_is_valid() -> None:
    """The fuzz starts from a definition the loader accepts (else mutations prove little)."""
    assert load_text(yaml.safe_dump(VALID, allow_unicode=True), "fuzz.yaml").name == "fuzz"
