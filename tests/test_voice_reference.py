"""docs/voice-flows.md carries the node and instruction reference as the code has it:
the block is generated from the node registry and the instruction dataclasses, so it
cannot drift."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from hotline.ivr.reference import END, START, reference_markdown, write_reference
from hotline.ivr.registry import NODE_TYPES

DOC = Path(__file__).resolve().parent.parent / "docs" / "voice-flows.md"


def test_the_doc_holds_the_current_reference():
    assert reference_markdown() in DOC.read_text(encoding="utf-8"), (
        "docs/voice-flows.md is out of date: run `hotline flows reference --write docs/voice-flows.md`")


def test_the_reference_names_every_node_type_with_its_example():
    reference = reference_markdown()
    for name, node_type in NODE_TYPES.items():
        assert f"#### `{name}`" in reference
        for field in node_type.fields:
            assert f"`{field}`" in reference
    assert reference.count("```yaml") >= len(NODE_TYPES)
    assert "| `Gather` |" in reference and "| `Hangup` |" in reference


def test_write_refreshes_a_stale_block_and_leaves_the_rest(tmp_path):
    from hotline.cli import cli

    stale = tmp_path / "flows.md"
    stale.write_text(f"# Before\n\n{START}\nold\n{END}\n\nAfter.\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["flows", "reference", "--write", str(stale)])
    assert result.exit_code == 0 and "updated" in result.output
    assert stale.read_text(encoding="utf-8") == f"# Before\n\n{reference_markdown()}\n\nAfter.\n"
    assert write_reference(stale) is False  # already current
