"""A deployed version rebuilt from its stored source without the schema is the pipeline's model.

The catalog skips pydantic when it compiles a stored version whose content hash still matches;
these tests hold the builder's defaults to the schema's and check every fallback to the pipeline.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from support import PAYMENT

from workflow import DefinitionError
from workflow.catalog import content_hash, stored_definition
from workflow.definition.build import NotPlain, to_definition
from workflow.definition.loader import load_text
from workflow.definition.validate import Names
from workflow.definition.yamlsafe import read_yaml
from workflow.errors import DefinitionTampered

ROOT = Path(__file__).resolve().parents[1]
NAMES = Names(guards={"has_budget"}, effects={"notify"})

# Every key that has a default is left out (state, transition, timer, spawn, field, top level):
# built without the schema, each must take the schema's default.
SPARSE = """\
name: sparse
labels: {vi: Thưa, en: Sparse}
roles:
  clerk:
states:
  open:
    initial: true
    timers:
      - {trigger: close, after: P2D}
  closed: {final: true}
transitions:
  - trigger: close
    source: open
    dest: closed
    roles: [clerk, system]
    effects:
      - spawn: {workflow: sparse}
"""

# Every key given, every guard and effect kind.
FULL = """\
name: full
labels: {vi: Đủ, en: Full}
description: Every key of the format.
roles:
  clerk: {vi: Nhân viên, en: Clerk}
  chief: {vi: Trưởng, en: Chief}
fields:
  amount: {type: number, labels: {vi: Số tiền, en: Amount}}
  deadline: {type: datetime}
  tags: {type: list}
states:
  draft:
    initial: true
    final: false
    labels: {vi: Nháp, en: Draft}
    timers:
      - {trigger: remind, at: deadline, offset: -P3D, zone: Asia/Ho_Chi_Minh}
      - {trigger: remind, after: PT12H}
  review: {timers: []}
  done: {final: true}
transitions:
  - trigger: remind
    source: [draft, review]
    dest: review
    roles: [system]
  - trigger: submit
    source: draft
    dest: review
    roles: [clerk]
    units: own
    require_reason: false
    labels: {vi: Gửi, en: Submit}
    guards:
      - required: [amount]
      - all:
          - compare: {field: amount, op: ge, value: 10}
          - any:
              - compare: {field: tags, op: eq, value: [a, b]}
              - not: {function: has_budget}
    effects:
      - merge: [amount]
      - set: {field: tags, value: [x, y]}
      - stamp: deadline
      - clear: amount
      - function: notify
      - spawn: {workflow: full, copy: [amount]}
  - trigger: approve
    source: "*"
    dest: done
    roles: [chief]
    require_reason: true
start_roles: [clerk]
deadline_field: deadline
"""

SOURCES = {
    **{p.name: p.read_text(encoding="utf-8") for p in (ROOT / "definitions").glob("*.yaml")},
    "payment.yaml": PAYMENT,
    "sparse.yaml": SPARSE,
    "full.yaml": FULL,
}


@pytest.mark.parametrize("filename", sorted(SOURCES))
def test_built_without_the_schema_equals_the_pipeline(filename):
    source = SOURCES[filename]
    data, _ = read_yaml(source, filename)
    built = to_definition(data, source, filename)
    assert built == load_text(source, filename, names=NAMES)
    assert stored_definition(source, filename, content_hash(source), NAMES) == built


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("paid: {final: true}", "paid: {final: 'yes'}"),
        ("paid: {final: true}", "paid: {final: 1}"),
        ("open: {initial: true}", "open: {initial: 'true'}"),
        ("require_reason: true", "require_reason: 'on'"),
    ],
)
def test_a_value_only_the_schema_reads_goes_through_the_schema(old, new):
    source = PAYMENT.replace(old, new)
    data, _ = read_yaml(source, "lax.yaml")
    pipeline = load_text(source, "lax.yaml")
    assert pipeline == load_text(PAYMENT, "payment.yaml")  # the schema read it as a bool
    with pytest.raises(NotPlain):
        to_definition(data, source, "lax.yaml")
    assert stored_definition(source, "lax.yaml", content_hash(source), Names()) == pipeline


def test_a_source_not_matching_its_hash_is_refused_not_rebuilt():
    edited = PAYMENT.replace("dest: paid", "dest: cancelled", 1)
    with pytest.raises(DefinitionTampered) as refused:
        stored_definition(edited, "payment.yaml", content_hash(PAYMENT), Names(), at="payment@1")
    assert "payment@1 was edited in the database" in str(refused.value)


def test_a_function_this_registry_lacks_is_reported_as_by_the_pipeline():
    with pytest.raises(DefinitionError) as pipeline:
        load_text(FULL, "full.yaml", names=Names())
    with pytest.raises(DefinitionError) as stored:
        stored_definition(FULL, "full.yaml", content_hash(FULL), Names())
    assert str(stored.value) == str(pipeline.value)
    assert "has_budget" in str(stored.value)
