"""The loader: every malformed input gets a problem naming file, row and column."""

from __future__ import annotations

import pandas as pd
import pytest
from helpers import TINY, write_folder

from sopkit.errors import DataError
from sopkit.io import load_data, validate_folder


def problems_of(folder):
    data, problems = validate_folder(folder)
    assert data is None, "expected problems, got a valid dataset"
    return {(p.file, p.row, p.column): p.problem for p in problems}


def with_files(tmp_path, **changes):
    files = dict(TINY)
    for name, content in changes.items():
        name = name.replace("_csv", ".csv").replace("_xlsx", ".xlsx")
        if content is None:
            files.pop(name)
        else:
            files[name] = content
    return write_folder(tmp_path / "data", files)


def test_valid_folder_types_and_values(tiny_dir):
    data = load_data(tiny_dir)
    assert list(data.products["sku"]) == ["A", "B"]
    assert data.products["priority_tier"].tolist() == [1, 2]
    assert data.actuals["period"].tolist() == [pd.Timestamp("2024-01-01"),
                                               pd.Timestamp("2024-02-01"),
                                               pd.Timestamp("2024-01-01"),
                                               pd.Timestamp("2024-02-01")]
    assert data.actuals["qty"].sum() == 26
    # optional column absent -> documented default
    assert data.resources["overtime_cost_per_hour"].tolist() == [0.0]
    # optional table absent -> empty frame with the contract's columns
    assert data.pipeline.empty and "probability" in data.pipeline.columns
    assert len(data.fingerprint) == 16
    # the in-memory dtypes the Dataset promises
    assert str(data.actuals["qty"].dtype) == "float64"
    assert str(data.products["priority_tier"].dtype) == "Int64"
    assert str(data.actuals["period"].dtype).startswith("datetime64")
    assert str(data.products["sku"].dtype) in ("string", "str")


def test_fingerprint_changes_with_content(tiny_dir, tmp_path):
    first = load_data(tiny_dir).fingerprint
    changed = TINY["actuals.csv"].replace("A,2024-02,12", "A,2024-02,13")
    (tiny_dir / "actuals.csv").write_text(changed)
    assert load_data(tiny_dir).fingerprint != first


def test_missing_folder_and_missing_file(tmp_path):
    assert problems_of(tmp_path / "nope") == {(str(tmp_path / "nope"), None, None):
                                               "data folder not found"}
    found = problems_of(with_files(tmp_path, routings_csv=None))
    assert any(f == "routings.csv" and "required file is missing" in p
               for (f, _, _), p in found.items())


def test_missing_column(tmp_path):
    found = problems_of(with_files(tmp_path, actuals_csv="sku,qty\nA,1\n"))
    assert found[("actuals.csv", None, "period")] == "required column is missing"


def test_text_where_number_belongs_and_bad_period(tmp_path):
    found = problems_of(with_files(
        tmp_path, actuals_csv="sku,period,qty\nA,2024-01,ten\nA,2024/13,1\nB,2024-02,\n"))
    assert found[("actuals.csv", 2, "qty")] == "not a number"
    assert found[("actuals.csv", 3, "period")] == "not a month in the form YYYY-MM"
    assert found[("actuals.csv", 4, "qty")] == "blank cell; a value is required"


def test_absurdly_large_and_infinite_numbers_refused(tmp_path):
    # 1e15 is the largest magnitude allowed; 1e300 (a code read as a number, a typo) and inf
    # would overflow every sum of the plan
    found = problems_of(with_files(
        tmp_path, actuals_csv="sku,period,qty\nA,2024-01,1e300\nA,2024-02,inf\n"
                              "B,2024-01,1000000000000000\nB,2024-02,-2e15\n"))
    assert found[("actuals.csv", 2, "qty")].startswith("larger than 1,000,000,000,000,000")
    assert found[("actuals.csv", 3, "qty")] == "not a finite number"
    assert ("actuals.csv", 4, "qty") not in found
    assert found[("actuals.csv", 5, "qty")].startswith("larger than")


def test_duplicate_keys_name_both_rows(tmp_path):
    found = problems_of(with_files(
        tmp_path, actuals_csv="sku,period,qty\nA,2024-01,1\nB,2024-01,1\nA,2024-01,2\n"))
    assert found[("actuals.csv", 4, "sku, period")] == (
        "duplicate key (sku, period) = (A, 2024-01); first seen on row 2")


def test_months_out_of_order_name_file_row_and_column(tmp_path):
    found = problems_of(with_files(
        tmp_path,
        promotions_csv=("promo_id,sku,start_period,end_period,lift\n"
                        "P1,A,2024-03,2024-04,0.2\n"
                        "P2,A,2024-05,2024-03,0.2\n"),  # ends before it starts
        adjustments_csv=("snapshot,owner,sku,period,qty_delta,reason\n"
                         "2024-02,Ann,A,2024-02,5,ok: the cycle's own month\n"
                         "2024-02,Ann,B,2024-01,5,a month already past\n")))
    assert found[("promotions.csv", 3, "end_period")] == (
        "before start_period 2024-05: a promotion ends on or after its first month")
    assert found[("adjustments.csv", 3, "period")].startswith("before snapshot 2024-02: ")
    assert ("promotions.csv", 2, "end_period") not in found
    assert ("adjustments.csv", 2, "period") not in found


def test_negative_quantity_and_range_rules(tmp_path):
    found = problems_of(with_files(
        tmp_path,
        actuals_csv="sku,period,qty\nA,2024-01,-3\n",
        products_csv=TINY["products.csv"].replace("active,100,60,1", "retired,100,60,0"),
    ))
    assert found[("actuals.csv", 2, "qty")] == "must be >= 0"
    assert found[("products.csv", 2, "lifecycle_status")].startswith("must be one of: active")
    assert found[("products.csv", 2, "priority_tier")] == "must be >= 1"


def test_a_percent_typed_for_a_fraction_is_refused_with_a_hint(tmp_path):
    found = problems_of(with_files(
        tmp_path,
        promotions_csv=("promo_id,sku,start_period,end_period,lift\n"
                        "P1,A,2024-03,2024-04,10\n"  # +1,000 %: the most a lift may be
                        "P2,A,2024-05,2024-06,90\n")))  # meant +90 %
    assert found[("promotions.csv", 3, "lift")] == (
        "must be <= 10 (a fraction: 0.9 means +90 %, not 90)")
    assert ("promotions.csv", 2, "lift") not in found


def test_unknown_sku(tmp_path):
    # in routings (and bom, adjustments, promotions) an unknown SKU stops the load ...
    found = problems_of(with_files(tmp_path, routings_csv="sku,resource,hours_per_unit\n"
                                   "A,R1,1\nB,R1,1\nZZ,R1,1\n"))
    assert found[("routings.csv", 4, "sku")] == "'ZZ' is not in products.csv"


def test_unknown_sku_in_actuals_pipeline_inventory_is_set_aside(tmp_path):
    # ... in actuals, pipeline and inventory its rows are set aside, with file and row,
    # for the data-quality findings (sopkit.quality, check unknown_sku)
    data, problems = validate_folder(with_files(tmp_path, inventory_csv="sku,qty\nA,2\nZZ,1\n"))
    assert problems == []
    assert data.inventory["sku"].tolist() == ["A"]
    aside = data.set_aside.iloc[0]
    assert (aside["file"], aside["row"], aside["column"], aside["value"], aside["qty"]) == (
        "inventory.csv", 3, "sku", "ZZ", 1.0)


def test_empty_file_header_only_and_binary(tmp_path):
    found = problems_of(with_files(
        tmp_path, actuals_csv="", resources_csv="resource,capacity_hours\n",
        inventory_csv=b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256))))
    assert found[("actuals.csv", None, None)] == "file is empty"
    assert found[("resources.csv", None, None)] == "has a header but no data rows"
    assert found[("inventory.csv", None, None)].startswith("not a text CSV file")


def test_broken_quoting_and_ragged_rows(tmp_path):
    found = problems_of(with_files(
        tmp_path,
        routings_csv='sku,resource,hours_per_unit\nA,R1,"1.5\nB,R1,0.5\n',
        actuals_csv="sku,period,qty\nA,2024-01,1,7,8\n",
    ))
    assert found[("routings.csv", 2, None)].startswith("broken quoting")
    assert found[("actuals.csv", 2, None)] == "has 5 cells but the header has 3"


def test_european_excel_csv(tmp_path):
    """BOM, ';' separators and decimal commas: accepted where unambiguous."""
    products = ("\ufeffSKU;Name;Family;Lifecycle_Status;Price;Unit_Cost;Priority_Tier\r\n"
                "A;Pump A;Pumps;active;1.234,50;60;1\r\nB;Valve B;Valves;active;49,9;20,25;2\r\n")
    folder = with_files(tmp_path, products_csv=products.encode("utf-8"))
    data = load_data(folder)
    assert data.products["price"].tolist() == [1234.5, 49.9]
    assert data.products["unit_cost"].tolist() == [60.0, 20.25]


def test_european_ambiguous_number_is_explained(tmp_path):
    products = ("sku;family;lifecycle_status;price;unit_cost;priority_tier\n"
                "A;Pumps;active;1.234;60;1\nB;Valves;active;50;20;2\n")
    found = problems_of(with_files(tmp_path, products_csv=products))
    assert found[("products.csv", 2, "price")].startswith("ambiguous number")


def test_comma_decimal_in_comma_file_is_explained(tmp_path):
    found = problems_of(with_files(tmp_path, actuals_csv='sku,period,qty\nA,2024-01,"1,5"\n'))
    assert found[("actuals.csv", 2, "qty")].startswith("ambiguous number")


def test_windows_1252_text(tmp_path):
    products = TINY["products.csv"].replace("Pump A", "Pumpe Größe A").encode("cp1252")
    data = load_data(with_files(tmp_path, products_csv=products))
    assert data.products.loc[0, "name"] == "Pumpe Größe A"


def test_a_file_of_two_encodings_is_refused_not_garbled(tmp_path):
    # UTF-8 rows with "Müller", then one row appended from a Windows-1252 export
    head = ("snapshot,owner,sku,period,qty_delta,reason\n"
            "2024-02,Jürgen Müller,A,2024-03,5,ok\n").encode()
    tail = "2024-02,Zoë,B,2024-03,2,late\n".encode("cp1252")
    found = problems_of(with_files(tmp_path, adjustments_csv=head + tail))
    assert found[("adjustments.csv", 3, None)] == (
        "mixes text encodings: row 3 not in UTF-8 like the rest (accented letters would be "
        "garbled); save the file again from Excel as 'CSV UTF-8'")


def test_xlsx_accepted(tmp_path):
    folder = with_files(tmp_path, actuals_csv=None)
    frame = pd.DataFrame({"sku": ["A", "B"], "period": [pd.Timestamp("2024-01-01"), "2024-02"],
                          "qty": [3, 4.5]})
    frame.to_excel(folder / "actuals.xlsx", index=False)
    data = load_data(folder)
    assert data.actuals["qty"].tolist() == [3.0, 4.5]
    assert data.actuals["period"].dt.strftime("%Y-%m").tolist() == ["2024-01", "2024-02"]


def test_xlsx_row_numbers(tmp_path):
    folder = with_files(tmp_path, actuals_csv=None)
    pd.DataFrame({"sku": ["A", "A"], "period": ["2024-01", "2024-01"], "qty": [1, "x"]}).to_excel(
        folder / "actuals.xlsx", index=False)
    found = problems_of(folder)
    assert found[("actuals.xlsx", 3, "qty")] == "not a number"


def test_every_problem_reported_at_once(tmp_path):
    with pytest.raises(DataError) as err:
        load_data(with_files(
            tmp_path,
            actuals_csv="sku,period,qty\nA,2024-01,x\nQ,2024-02,1\n",
            routings_csv="sku,resource,hours_per_unit\nA,R9,0\nQ,R1,1\n",
        ))
    table = err.value.table
    assert list(table.columns) == ["file", "row", "column", "problem", "value"]
    # x, hours 0, unknown resource R9, unknown SKU Q in routings (in actuals it is set aside)
    assert len(table) == 4
    assert "actuals.csv, row 2, column 'qty': not a number" in err.value.user_message()


def test_two_files_for_one_table(tmp_path):
    folder = with_files(tmp_path)
    pd.DataFrame({"sku": ["A"], "period": ["2024-01"], "qty": [1]}).to_excel(
        folder / "actuals.xlsx", index=False)
    found = problems_of(folder)
    assert any("several files for one table" in p for p in found.values())


# ------------------------------------------------------------------ production (optional)


def test_production_loads_with_and_without_resource(tmp_path):
    data = load_data(with_files(tmp_path, production_csv=(
        "period,sku,planned_qty,actual_qty\n2024-01,A,10,9\n2024-02,A,10,11\n2024-02,B,0,3\n")))
    production = data.production
    assert production["planned_qty"].tolist() == [10.0, 10.0, 0.0]
    assert production["actual_qty"].tolist() == [9.0, 11.0, 3.0]
    assert production["resource"].isna().all()  # optional column absent: blank
    assert str(production["period"].dtype).startswith("datetime64")
    # the same SKU and month on two resources is two rows of the key
    data = load_data(with_files(tmp_path, production_csv=(
        "period,sku,resource,planned_qty,actual_qty\n2024-01,A,R1,10,9\n2024-01,A,,5,5\n")))
    assert data.production["resource"].tolist()[0] == "R1"
    # optional table absent: an empty frame with the contract's columns
    plain = load_data(write_folder(tmp_path / "plain", TINY)).production
    assert plain.empty and {"planned_qty", "actual_qty", "resource"} <= set(plain.columns)


def test_production_problems_name_file_row_and_column(tmp_path):
    found = problems_of(with_files(tmp_path, production_csv=(
        "period,sku,resource,planned_qty,actual_qty\n"
        "2024-01,A,R1,-5,9\n"      # negative plan
        "2024-01,B,,10,\n"         # blank actual
        "2024-01,B,,10,8\n"        # same SKU, month and (blank) resource as row 3
        "2024-02,A,R9,10,10\n"     # unknown resource
        "2024-02,B,R1,ten,1\n")))  # not a number
    assert found[("production.csv", 2, "planned_qty")] == "must be >= 0"
    assert found[("production.csv", 3, "actual_qty")] == "blank cell; a value is required"
    assert found[("production.csv", 4, "period, sku, resource")] == (
        "duplicate key (period, sku, resource) = (2024-01, B, blank); first seen on row 3")
    assert found[("production.csv", 5, "resource")] == "'R9' is not in resources.csv"
    assert found[("production.csv", 6, "planned_qty")] == "not a number"
    found = problems_of(with_files(tmp_path, production_csv="period,sku,actual_qty\n2024-01,A,1\n"))
    assert found[("production.csv", None, "planned_qty")] == "required column is missing"


def test_production_on_an_unknown_sku_is_set_aside(tmp_path):
    data, problems = validate_folder(with_files(tmp_path, production_csv=(
        "period,sku,planned_qty,actual_qty\n2024-01,A,10,9\n2024-01,ZZ,4,4\n")))
    assert problems == []
    assert data.production["sku"].tolist() == ["A"]
    aside = data.set_aside.iloc[0]
    assert (aside["table"], aside["file"], aside["row"], aside["value"]) == (
        "production", "production.csv", 3, "ZZ")


def test_sop_validate_reports_a_bad_production_file_without_traceback(tmp_path, capsys):
    from sopkit.cli import main

    folder = with_files(tmp_path, production_csv=(
        "period,sku,planned_qty,actual_qty\n2024-01,A,10,-1\n"))
    assert main(["validate", str(folder)]) != 0
    err = capsys.readouterr().err
    assert "production.csv" in err and "actual_qty" in err and "must be >= 0" in err
    assert "Traceback" not in err


def test_empty_cells_too_many_on_some_rows_are_a_split_number(tmp_path):
    # every row with one empty cell too many (an Excel habit): read as it is
    data, problems = validate_folder(with_files(
        tmp_path / "all", actuals_csv="sku,period,qty\nA,2024-01,1,\nB,2024-01,2,\n"))
    assert problems == [] and data.actuals["qty"].tolist() == [1.0, 2.0]
    # only one row: "1,200" unquoted pushed 200 into the next (empty, optional) column
    found = problems_of(with_files(
        tmp_path / "one",
        adjustments_csv=("snapshot,owner,sku,period,qty_delta,reason\n"
                         "2024-02,Ann,A,2024-03,5,promo\n"
                         "2024-02,Ann,B,2024-03,1,200,\n")))
    assert found[("adjustments.csv", 3, None)].startswith(
        "has 7 cells where the header and the other rows have 6: a number written with a "
        "comma (1,200 or 12,5) splits into two cells")
    assert len(found) == 1


def test_a_date_that_does_not_exist_is_refused(tmp_path):
    # a full date is accepted as its month (2024-02-29 is real), but 2024-02-30 is a typo
    found = problems_of(with_files(
        tmp_path, actuals_csv="sku,period,qty\nA,2024-02-29,1\nB,2024-02-30,1\nA,2024-13,1\n"))
    assert found[("actuals.csv", 3, "period")] == (
        "not a real date (the day does not exist in its month)")
    assert found[("actuals.csv", 4, "period")] == "not a month in the form YYYY-MM"
    assert ("actuals.csv", 2, "period") not in found
