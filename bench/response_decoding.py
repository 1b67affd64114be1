"""Record how often publishes failed on a response that did not decode, from explore records.

usage: python bench/response_decoding.py [--note TEXT] COMMAND LABEL=DIR [LABEL=DIR ...]

Each DIR holds ``*/explore-*.json`` records of repeated ``xmtpd-e2e explore`` runs (COMMAND is
how they were run, recorded as given).  Writes ``bench/results/explore-response-decoding.json``:
per label, the runs, publish operations and the failures whose error says the response did not
decode (grpc's ``Exception deserializing response!`` or our ``UNDECODABLE_RESPONSE``), with the
first bytes shown for each.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from recording import save

_UNDECODABLE = ("Exception deserializing response", "UNDECODABLE_RESPONSE")


def _label(directory: Path) -> dict[str, Any]:
    runs = operations = 0
    undecodable: list[dict[str, Any]] = []
    other_errors: dict[str, int] = {}
    for record_path in sorted(directory.glob("*/explore-*.json")):
        record = json.loads(record_path.read_text())
        runs += 1
        for op in record["history"]["operations"]:
            operations += 1
            error = op.get("error")
            if not error:
                continue
            if any(marker in error for marker in _UNDECODABLE):
                shown = error.split("bytes: ", 1)[1][:16] if "bytes: " in error else None
                undecodable.append({"record": record_path.parent.name, "op": op["id"], "first_bytes": shown})
            else:
                other_errors[str(op.get("error_code"))] = other_errors.get(str(op.get("error_code")), 0) + 1
    return {
        "runs": runs,
        "publish_operations": operations,
        "undecodable_responses": len(undecodable),
        "undecodable": undecodable,
        "other_errors_by_code": other_errors,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description="Count undecodable publish responses in explore records.")
    parser.add_argument("--note", default="", help="what the numbers mean, recorded with them")
    parser.add_argument("command", help="how the explore runs were made")
    parser.add_argument("labelled", nargs="+", metavar="LABEL=DIR")
    arguments = parser.parse_args()
    results: dict[str, Any] = {"note": arguments.note} if arguments.note else {}
    for argument in arguments.labelled:
        label, _, directory = argument.partition("=")
        results[label] = _label(Path(directory))
    print(json.dumps(results, indent=2))
    save("explore-response-decoding", arguments.command, results)


if __name__ == "__main__":
    main()
