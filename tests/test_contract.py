"""The data contract: docs in step with code, schemas that reject what they should."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pandera.errors
import pytest

from sopkit.contract import TABLES, document, pandera_schema

ROOT = Path(__file__).resolve().parent.parent


def test_docs_match_the_code():
    written = (ROOT / "docs" / "data-contract.md").read_text(encoding="utf-8")
    assert written == document(), "run: python -m sopkit.contract > docs/data-contract.md"


def test_every_column_documented_with_a_meaning():
    for table in TABLES.values():
        for column in table.columns:
            assert column.description.strip(), f"{table.name}.{column.name} has no description"


def test_pipeline_accepts_the_required_columns():
    names = [c.name for c in TABLES["pipeline"].columns]
    for required in ("snapshot", "deal_id", "sku", "period", "qty", "probability"):
        assert required in names
    optional = {c.name for c in TABLES["pipeline"].columns if not c.required}
    assert {"owner", "stage", "note"} <= optional


def test_schema_rejects_probability_above_one_and_duplicates():
    schema = pandera_schema(TABLES["pipeline"])
    frame = pd.DataFrame({
        "snapshot": pd.to_datetime(["2026-01-01", "2026-01-01"]),
        "deal_id": ["D1", "D1"], "sku": ["A", "A"],
        "period": pd.to_datetime(["2026-03-01", "2026-03-01"]),
        "qty": [5.0, 5.0], "probability": [1.2, 0.5],
    })
    with pytest.raises(pandera.errors.SchemaErrors) as err:
        schema.validate(frame, lazy=True)
    cases = err.value.failure_cases
    assert (cases["column"] == "probability").any()
    assert len(cases) >= 2  # the range failure and the duplicate key
