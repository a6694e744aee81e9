#!/usr/bin/env python3
"""Fills in the expected results of the project's .slt files by running them on SQLite.

SQLite is the oracle: the dialect follows its semantics. Each file is a sequence of records
separated by blank lines; `statement ok` records are executed, and every `query <types>
[sort]` record's result section (after `----`) is replaced by what SQLite returns, printed the
way SQLite's sqllogictest driver prints values (I: integer, R: %.3f, T: text with `(empty)`).
Records guarded by `onlyif cosmictron` are left as written (they test what SQLite lacks).

    python3 sql/tests/slt/generate.py sql/tests/slt/*.slt
"""
import sqlite3
import sys


def fmt(v, t):
    if v is None:
        return "NULL"
    if t == "I":
        if isinstance(v, str):
            num = ""
            for ch in v.strip():
                if ch.isdigit() or (ch in "+-" and not num):
                    num += ch
                else:
                    break
            try:
                return str(int(num))
            except ValueError:
                return "0"
        return str(int(v))
    if t == "R":
        return "%.3f" % float(v)
    s = str(v)
    if isinstance(v, float):
        s = repr(v)
    if s == "":
        return "(empty)"
    return "".join(c if " " <= c <= "~" else "@" for c in s)


def run(path):
    text = open(path).read()
    blocks = text.split("\n\n")
    db = sqlite3.connect(":memory:")
    out = []
    for block in blocks:
        lines = block.strip("\n").split("\n")
        if not lines or not lines[0]:
            out.append(block)
            continue
        conds = [l for l in lines if l.startswith(("onlyif", "skipif"))]
        body = [l for l in lines if not l.startswith(("onlyif", "skipif", "#"))]
        if not body:
            out.append(block)
            continue
        head = body[0].split()
        if "onlyif cosmictron" in conds:
            out.append(block)
            continue
        if head[0] == "statement":
            sql = "\n".join(body[1:])
            try:
                db.execute(sql)
                ok = True
            except sqlite3.Error:
                ok = False
            if ok != (head[1] == "ok"):
                sys.exit(f"{path}: statement outcome differs in SQLite: {sql}")
            out.append(block)
        elif head[0] == "query":
            types = head[1]
            sort = head[2] if len(head) > 2 else "nosort"
            sep = body.index("----") if "----" in body else len(body)
            sql = "\n".join(body[1:sep])
            rows = db.execute(sql).fetchall()
            vals = [[fmt(v, types[i] if i < len(types) else "T") for i, v in enumerate(r)] for r in rows]
            if sort == "rowsort":
                vals.sort()
            flat = [v for r in vals for v in r]
            if sort == "valuesort":
                flat.sort()
            prefix = [l for l in lines if l.startswith(("onlyif", "skipif", "#"))]
            out.append("\n".join(prefix + body[:sep] + ["----"] + flat))
        else:
            out.append(block)
    open(path, "w").write("\n\n".join(b.strip("\n") for b in out) + "\n")


for p in sys.argv[1:]:
    run(p)
