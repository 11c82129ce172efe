"""Diagrams: every state and edge drawn; an instance's current state and path highlighted."""

from __future__ import annotations

import shutil

import pytest
from support import PAYMENT

from workflow import Actor, Engine, InvalidInput
from workflow.auditing import path_of, render_graph
from workflow.auditing.graphs import to_svg
from workflow.definition.loader import load_text

DEFINITION = load_text(PAYMENT, "payment.yaml")


def test_mermaid_draws_every_state_and_edge():
    text = render_graph(DEFINITION, "mermaid")
    assert text.startswith("flowchart LR\n")
    for line in (
        '  s0("open")',
        '  s1[["paid"]]',
        '  s0 -->|"pay"| s1',
        '  s0 -->|"pay"| s0',
        '  s0 -->|"cancel"| s2',
    ):
        assert line in text.splitlines()


def test_dot_quotes_labels_and_marks_finals():
    text = render_graph(DEFINITION, "dot")
    assert 'label="payment: Thanh toán"' in text
    assert '"paid" [label="paid", peripheries=2];' in text
    assert '"open" -> "paid" [label="pay"];' in text


@pytest.mark.parametrize(
    "backend", ["sqlite"]
)  # graphs read the log; the store is tested elsewhere
def test_instance_path_and_current_state_are_highlighted(payment: Engine, clerk: Actor):
    instance = payment.start("payment", clerk).instance
    for paid in (10, 20, 150):
        payment.fire(instance.id, "pay", clerk, payload={"paid": paid})
    highlight = path_of(payment.history(instance.id))
    assert highlight.current == "paid"
    dot = render_graph(DEFINITION, "dot", highlight)
    assert '"open" -> "open" [label="pay x2", color="#d62728", penwidth=2.5];' in dot
    assert '"open" -> "cancelled" [label="cancel"];' in dot
    assert 'fillcolor="#ffcc66"' in dot.split('"paid" [')[1].split("\n")[0]
    mermaid = render_graph(DEFINITION, "mermaid", highlight)
    assert "  class s1 current" in mermaid
    assert "  linkStyle 1,2 stroke:#d62728,stroke-width:3px" in mermaid


def test_svg_without_graphviz_says_how_to_install_it(monkeypatch):
    monkeypatch.setenv("PATH", "")
    with pytest.raises(InvalidInput, match="install Graphviz"):
        render_graph(DEFINITION, "svg")


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz is not installed here")
def test_svg_with_graphviz():
    assert "<svg" in to_svg(render_graph(DEFINITION, "dot"))
