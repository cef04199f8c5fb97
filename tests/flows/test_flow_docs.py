"""docs/flow.md shows the conversation exactly as the code runs it."""

from pathlib import Path

from flows import INTAKE
from flows.diagram import mermaid

DOC = Path(__file__).resolve().parents[2] / "docs" / "flow.md"


def test_published_diagram_matches_the_flow():
    text = DOC.read_text()
    block = text.split("```mermaid\n", 1)[1].split("```", 1)[0]
    assert block.strip() == mermaid(INTAKE).strip(), "regenerate: hotline flows diagram"
