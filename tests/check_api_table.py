#!/usr/bin/env python3
"""ctest api_table_complete: every public function of include/heapcore.h and every field of
hc_config_t has a row in backends/heapcore-api.md; every op a row names exists in the op table
(include/heapops.h, OPS_OP_TABLE); every function is called by backends/heapcore.c.

usage: check_api_table.py REPO_ROOT
"""
import os
import re
import sys


def read(root, path):
    with open(os.path.join(root, path), encoding="utf-8") as f:
        return f.read()


def main(argv):
    if len(argv) != 1 or not os.path.isdir(argv[0]):
        print("usage: check_api_table.py REPO_ROOT", file=sys.stderr)
        return 2
    root = argv[0]
    header = read(root, "include/heapcore.h")
    table = read(root, "backends/heapcore-api.md")
    backend = read(root, "backends/heapcore.c")
    ops_h = read(root, "include/heapops.h")

    # Public functions: declarations at the start of a line, not the hc__ internals.
    code = re.sub(r"/\*.*?\*/", "", header, flags=re.S)  # comments out
    functions = set(re.findall(r"^(?:[A-Za-z0-9_]+[ *]+)+(hc_[a-z][a-z_]*)\(", code, re.M))
    config = re.search(r"typedef struct hc_config \{(.*?)\} hc_config_t;", code, re.S)
    fields = (set(re.findall(r"^\s*[A-Za-z0-9_ ]+?[ *]+([a-z_]+);", config.group(1), re.M))
              if config else set())
    mnemonics = set(re.findall(r"X\([A-Z_]+,\s*\"([a-z-]+)\"", ops_h))

    rows = {}
    for line in table.splitlines():
        m = re.match(r"\| `([a-z_]+)` \| (.*) \|$", line)
        if m:
            rows[m.group(1)] = m.group(2)

    errors = []
    if not functions or not fields or not mnemonics:
        errors.append("could not read the header, hc_config_t or the op table")
    for name in sorted(functions | fields):
        if name not in rows:
            errors.append(f"{name}: no row in backends/heapcore-api.md")
    for name, reached in sorted(rows.items()):
        if name not in functions and name not in fields:
            errors.append(f"{name}: a row for something include/heapcore.h does not declare")
        named = re.findall(r"`([^`]+)`", reached)
        # Ops, and besides them config bytes, backend entries and heapfuzz options.
        words = [w for w in named if re.fullmatch(r"[a-z-]+", w) and not w.startswith("-")
                 and w not in ("trigger", "full_every", "versions", "flags", "create")]
        for op in words:
            if op not in mnemonics:
                errors.append(f"{name}: reached by `{op}`, which is no op")
        if not named and "every" not in reached:
            errors.append(f"{name}: reached by no op")
        if name in functions and not re.search(r"\b%s\(" % name, backend):
            errors.append(f"{name}: backends/heapcore.c never calls it")
    for e in errors:
        print(f"check_api_table: {e}")
    print(f"check_api_table: {len(functions)} functions, {len(fields)} config fields, "
          f"{len(errors)} problems")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
