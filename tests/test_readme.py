"""The README's chain check, run as it is written against what every store exports: the
description a reader gets is the one the product follows."""

from __future__ import annotations

import json
import re
from pathlib import Path

from activemirror_jupyter.core.models import Attachment

README = Path(__file__).resolve().parents[1] / "README.md"


def readme_check_chain():
    text = README.read_text(encoding="utf-8")
    block = re.search(r"<!-- chain-check -->\n```python\n(.*?)```", text, re.DOTALL)
    assert block, "README.md has no chain-check block"
    namespace: dict = {}
    exec(block.group(1), namespace)  # the README's own code, unchanged
    return namespace["check_chain"]


def test_the_readme_chain_check_holds_for_every_store(mirror_factory):
    check_chain = readme_check_chain()
    mirror = mirror_factory()
    session = mirror.create_session("Checked by hand")
    session.send("plain ascii")
    session.send("non-ascii: café, 東京, emoji 🙂", metadata={"n": 1.5, "nested": {"b": [1, 2]}})
    session.send(
        "with files",
        role="assistant",
        attachments=[
            Attachment.from_bytes("b.csv", "text/csv", b"x\n1\n"),
            Attachment.from_bytes("a.png", "image/png", b"\x89PNG"),
        ],
    )
    session.save()
    export = json.loads(mirror_factory().load_session(session.id).export("json"))
    assert check_chain(export)
    export["messages"][1]["metadata"]["n"] = 1.25
    assert not check_chain(export)
