#!/usr/bin/env python3
# Validate semu behaviour logs against docs/semu.schema.json (python3-jsonschema).
# Usage: semu_validate.py SCHEMA LOG...  prints "valid" or the first errors; status 0/1.
import json, sys
import jsonschema
schema = json.load(open(sys.argv[1]))
jsonschema.Draft7Validator.check_schema(schema)
v = jsonschema.Draft7Validator(schema)
bad = 0
for path in sys.argv[2:]:
    doc = json.load(open(path))
    errs = sorted(v.iter_errors(doc), key=lambda e: list(e.path))
    for e in errs[:5]:
        print("%s: %s: %s" % (path, "/".join(str(p) for p in e.path), e.message[:300]))
    bad += len(errs)
print("valid" if bad == 0 else "invalid")
sys.exit(1 if bad else 0)
