"""benchmarks/promotion_lift.py and the docs writer it shares with the lumpy benchmark."""

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import docs_section  # noqa: E402
import promotion_lift  # noqa: E402

from sopkit.sample import _Company, make_sample  # noqa: E402


def test_generator_truth_matches_the_promotions_table():
    truth = pd.DataFrame(_Company(0, 300, 36, "2026-11").promo_truth,
                         columns=["promo_id", "sku", "lift", "realised", "base", "promo"])
    promotions = make_sample(0, faults=False)["promotions"]
    past = promotions[promotions["end_period"] < pd.Timestamp("2026-11-01")]
    # one truth row per past promotion row, same SKUs and stated lifts, in the same order
    assert list(zip(truth["promo_id"], truth["sku"], truth["lift"], strict=True)) == list(
        zip(past["promo_id"], past["sku"], past["lift"], strict=True))
    share = truth["realised"] / truth["lift"]
    assert share.between(0.3, 0.9).all()  # the generator's U(0.3, 0.9)
    expected = (truth["realised"] * truth["base"]).sum() / (truth["lift"] * truth["base"]).sum()
    assert promotion_lift.true_share(0) == (pytest.approx(expected), len(truth))


def test_summary_scores_by_hand():
    frame = pd.DataFrame({"true": [0.5, 0.7], "stated": [1.0, 1.0], "pooled": [0.9, 0.1],
                          "weighted": [0.6, 0.6]})
    table = promotion_lift.summary(frame).set_index("estimate")
    stated = table.loc[promotion_lift.NAMES["stated"]]
    pooled = table.loc[promotion_lift.NAMES["pooled"]]
    weighted = table.loc[promotion_lift.NAMES["weighted"]]
    # stated errors +0.5, +0.3; pooled +0.4, -0.6; weighted +0.1, -0.1
    assert stated["rms_error"] == pytest.approx(np.sqrt((0.25 + 0.09) / 2))
    assert pooled["rms_error"] == pytest.approx(np.sqrt((0.16 + 0.36) / 2))
    assert pooled["mean_error"] == pytest.approx(-0.1)
    assert (stated["closer_than_stated"], pooled["closer_than_stated"],
            weighted["closer_than_stated"]) == (0, 1, 2)
    assert weighted["rms_error"] == pytest.approx(0.1)


def test_write_section_replaces_the_body_and_keeps_the_notes(tmp_path):
    doc = tmp_path / "benchmarks.md"
    doc.write_text("# Benchmarks\n\n## A\n\nold table\n\n### Notes\n\nhand-written\n\n"
                   "## B\n\nother\n")
    docs_section.write_section(doc, "## A", "## A\n\nnew table", "### Notes")
    assert doc.read_text() == ("# Benchmarks\n\n## A\n\nnew table\n\n### Notes\n\nhand-written\n"
                               "\n## B\n\nother\n")
    docs_section.write_section(doc, "## C", "## C\n\nfirst", "### Notes")
    assert doc.read_text().endswith("## B\n\nother\n\n## C\n\nfirst\n\n### Notes\n\n"
                                    "(to be written)\n")
