"""frictionless-py's verdict on every case of cases.json, in one process.

Usage: python3 frictionless_verdicts.py cases.json  ->  JSON {id: verdict} on stdout.

A verdict is "refused" (the schema is not valid) or the sorted list of
"line:field" cells with an error ("line:primaryKey" for a duplicate or
missing key); other row errors appear as "line:<error type>" so that they
show up as disagreements. Run by host/tests/schema_frictionless.rs.
"""

import json
import re
import sys

from frictionless import Dialect, FrictionlessException, Resource, Schema, formats

CELL_ERRORS = {"type-error", "constraint-error", "unique-error"}
SCHEMA_ERRORS = {"schema-error", "field-error"}


def verdict(case):
    descriptor = json.loads(case["schema_text"]) if "schema_text" in case else case["schema"]
    try:
        schema = Schema.from_descriptor(descriptor)
        resource = Resource(
            data=case["csv"].encode("utf-8"),
            format="csv",
            encoding="utf-8",
            schema=schema,
            dialect=Dialect(controls=[formats.CsvControl(delimiter=",")]),
        )
        report = resource.validate()
    except FrictionlessException:
        return "refused"
    except re.error:
        # frictionless compiles `pattern` only when it reads the first
        # value, and then raises instead of reporting: the schema is unusable.
        return "refused"
    cells = set()
    for task in report.tasks:
        for error in task.errors:
            if error.type in SCHEMA_ERRORS:
                return "refused"
            row = getattr(error, "row_number", 0)
            if error.type == "primary-key":
                cells.add(f"{row}:primaryKey")
            elif error.type in CELL_ERRORS:
                cells.add(f"{row}:{error.field_name}")
            else:
                cells.add(f"{row}:{error.type}")
    return sorted(cells, key=lambda c: (int(c.split(":")[0]), c))


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        cases = json.load(f)["cases"]
    out = {}
    for case in cases:
        try:
            out[case["id"]] = verdict(case)
        except Exception as e:  # a crash is a verdict too: it shows as a disagreement
            out[case["id"]] = f"crashed: {type(e).__name__}: {e}"
    json.dump(out, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main()
