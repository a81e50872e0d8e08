#!/usr/bin/python3
"""Turns the Hillstrom MineThatData e-mail file into an omni feature table CSV.

    /usr/bin/python3 bench/hillstrom_features.py HILLSTROM.csv OUT.csv --label visit|conversion

Features: recency, history, mens, womens, newbie (numeric as given) and one-hot
zip_code, channel and the campaign segment (Mens E-Mail / Womens E-Mail / No
E-Mail). history_segment is a binned copy of history and spend leaks the label,
so both are left out. customer_key = hillstrom-<row>; no cutoff (one period), so
omni splits 60/20/20 stratified. Bench only: the standard library suffices.
"""
import argparse
import csv
import sys


def slug(text):
    return "".join(c.lower() if c.isalnum() else "_" for c in text).strip("_")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("source")
    ap.add_argument("out")
    ap.add_argument("--label", choices=["visit", "conversion"], default="visit")
    a = ap.parse_args()
    with open(a.source, newline="") as f:
        rows = list(csv.DictReader(f))
    cats = {c: sorted({r[c] for r in rows}) for c in ("zip_code", "channel", "segment")}
    numeric = ["recency", "history", "mens", "womens", "newbie"]
    onehot = [(c, v, f"{c}_{slug(v)}") for c in ("zip_code", "channel", "segment") for v in cats[c]]
    with open(a.out, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["customer_key"] + numeric + [name for _, _, name in onehot] + ["label"])
        for i, r in enumerate(rows):
            w.writerow([f"hillstrom-{i}"] + [r[c] for c in numeric] +
                       [1 if r[c] == v else 0 for c, v, _ in onehot] + [r[a.label]])
    print(f"{a.out}: {len(rows)} rows, label {a.label}", file=sys.stderr)


if __name__ == "__main__":
    main()
