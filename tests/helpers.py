"""Small hand-made data folders shared by the tests (imported by conftest.py and tests)."""

from __future__ import annotations

from pathlib import Path

TINY = {
    "products.csv": (
        "sku,name,family,lifecycle_status,price,unit_cost,priority_tier\n"
        "A,Pump A,Pumps,active,100,60,1\n"
        "B,Valve B,Valves,active,50,20,2\n"
    ),
    "actuals.csv": "sku,period,qty\nA,2024-01,10\nA,2024-02,12\nB,2024-01,0\nB,2024-02,4\n",
    "resources.csv": "resource,capacity_hours,overtime_max_hours\nR1,100,10\n",
    "routings.csv": "sku,resource,hours_per_unit\nA,R1,1.5\nB,R1,0.5\n",
    "inventory.csv": "sku,qty\nA,5\n",
}


def write_folder(folder: Path, files: dict[str, str | bytes]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        path = folder / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return folder
