"""Write one ``## `` section of docs/benchmarks.md in place, keeping its hand-written notes."""

from __future__ import annotations

import re
from pathlib import Path


def write_section(doc: Path, section: str, body: str, notes_mark: str) -> None:
    """Replace ``section`` (its heading up to the next ``## ``) with ``body``.

    Whatever follows ``notes_mark`` in the old section (the notes written by
    hand) is kept; a new section is appended at the end with a placeholder
    for its notes.
    """
    text = doc.read_text()
    notes = ""
    match = re.search(rf"^{re.escape(section)}\n.*?(?=^## |\Z)", text, flags=re.S | re.M)
    new = body.rstrip() + "\n\n"
    if match:  # replaced where it stands, its notes kept
        old = match.group(0)
        k = old.find(notes_mark)
        if k >= 0:
            notes = old[k:].rstrip() + "\n"
        new += notes or f"{notes_mark}\n\n(to be written)\n"
        after = text[match.end():]
        doc.write_text(text[:match.start()] + new + ("\n" + after if after else ""))
    else:
        doc.write_text(text.rstrip() + "\n\n" + new + f"{notes_mark}\n\n(to be written)\n")
