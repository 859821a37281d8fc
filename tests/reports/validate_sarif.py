#!/usr/bin/python3
"""Validates a SARIF file against the SARIF 2.1.0 JSON schema.

Usage: validate_sarif.py SCHEMA.json FILE.sarif
Exit 0 when valid, 1 when invalid (each error printed), 2 on usage errors.
"""
import json
import sys

import jsonschema


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    with open(sys.argv[1], encoding="utf-8") as f:
        schema = json.load(f)
    with open(sys.argv[2], encoding="utf-8") as f:
        doc = json.load(f)
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    errors = sorted(validator_class(schema).iter_errors(doc), key=lambda e: list(e.path))
    for e in errors:
        where = "/" + "/".join(str(p) for p in e.path)
        print(f"{sys.argv[2]}: {where}: {e.message}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
