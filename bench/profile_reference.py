#!/usr/bin/python3
"""The RFM part of `omni profiles build`, computed with pandas groupby: the
reference a retailer's data team would otherwise write.

Input: the events CSV that `omni profiles build --export-events FILE` writes
(every event the build used, already attributed to its customer):
    customer_key,seq,ts_ms,channel,type,item_id,quantity,price,order_key
So pandas gets the identity resolution for free and does only the RFM work:
  1. read the CSV (all events, or a purchases-only extract of it);
  2. keep purchases and refunds; amount = quantity (1 if empty) x price (0 if empty);
  3. per customer: last purchase, distinct orders (order_key), purchases - refunds;
  4. recency = whole days from the last purchase to the as-of instant (omni
     keeps purchase times to the second, so do we);
  5. scores 1..5: 1 + floor(5 * (rank(method="min") - 1) / n), recency reversed
     (rfm.h in omni); FM = ceil((F + M) / 2); named group from the same map.

With --compare DB it checks the result against omni's `profiles` table and
prints how many customers agree on every value. Timings are printed as JSON:
    {"read_seconds":..,"compute_seconds":..,"total_seconds":..,"rows":..,"customers":..,
     "agreement":{...}}
Run with Debian's python3 (pandas 1.5): /usr/bin/python3 bench/profile_reference.py ...
"""
import argparse
import json
import sqlite3
import sys
import time

import numpy as np
import pandas as pd

DAY_MS = 86_400_000

# rfm.h: [R - 1][FM - 1]
GROUPS = [
    ["lost", "lost", "at_risk", "at_risk", "cant_lose_them"],
    ["hibernating", "hibernating", "at_risk", "at_risk", "cant_lose_them"],
    ["about_to_sleep", "about_to_sleep", "need_attention", "loyal_customers", "loyal_customers"],
    ["promising", "potential_loyalists", "potential_loyalists", "loyal_customers", "loyal_customers"],
    ["new_customers", "potential_loyalists", "potential_loyalists", "champions", "champions"],
]


def quintile(values, higher_is_better):
    ranked = values.rank(method="min", ascending=higher_is_better)
    return (1 + np.floor(5 * (ranked - 1) / len(values))).astype(int)


def rfm(events, as_of_ms):
    amount = events["quantity"].fillna(1.0) * events["price"].fillna(0.0)
    events = events.assign(amount=amount, ts_s=events["ts_ms"] // 1000)
    purchases = events[events["type"] == "purchase"]
    refunds = events[events["type"] == "refund"]
    g = purchases.groupby("customer_key")
    out = pd.DataFrame({
        "last_s": g["ts_s"].max(),
        "frequency": g["order_key"].nunique(),
        "gross": g["amount"].sum(),
    })
    refunded = refunds.groupby("customer_key")["amount"].sum()
    out["monetary"] = out["gross"] - refunded.reindex(out.index).fillna(0.0)
    out["recency_days"] = (as_of_ms - out["last_s"] * 1000) // DAY_MS
    out["r"] = quintile(out["recency_days"], higher_is_better=False)
    out["f"] = quintile(out["frequency"], higher_is_better=True)
    out["m"] = quintile(out["monetary"], higher_is_better=True)
    fm = (out["f"] + out["m"] + 1) // 2
    table = np.array(GROUPS)
    out["group"] = table[out["r"].to_numpy() - 1, fm.to_numpy() - 1]
    return out


def compare(ref, db_path):
    """How many customers agree with omni's profiles table on each value."""
    con = sqlite3.connect(db_path)
    omni = pd.read_sql_query(
        "SELECT customer_key, recency_days, frequency, monetary, r_score, f_score, m_score, rfm_group "
        "FROM profiles WHERE frequency > 0", con, index_col="customer_key")
    con.close()
    keys = ref.index.intersection(omni.index)
    a, b = ref.loc[keys], omni.loc[keys]
    return {
        "customers_reference": int(len(ref)),
        "customers_omni": int(len(omni)),
        "customers_both": int(len(keys)),
        "recency_days": int((a["recency_days"].to_numpy() == b["recency_days"].to_numpy()).sum()),
        "frequency": int((a["frequency"].to_numpy() == b["frequency"].to_numpy()).sum()),
        "monetary": int(np.isclose(a["monetary"].to_numpy(), b["monetary"].to_numpy(), rtol=1e-9, atol=1e-6).sum()),
        "r_score": int((a["r"].to_numpy() == b["r_score"].to_numpy()).sum()),
        "f_score": int((a["f"].to_numpy() == b["f_score"].to_numpy()).sum()),
        "m_score": int((a["m"].to_numpy() == b["m_score"].to_numpy()).sum()),
        "group": int((a["group"].to_numpy() == b["rfm_group"].to_numpy()).sum()),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("events_csv")
    ap.add_argument("--as-of-ms", type=int, required=True, help="the build's as-of instant (epoch ms)")
    ap.add_argument("--compare", help="omni.db whose profiles table to check against")
    args = ap.parse_args()

    t0 = time.perf_counter()
    events = pd.read_csv(
        args.events_csv,
        usecols=["customer_key", "ts_ms", "type", "quantity", "price", "order_key"],
        dtype={"customer_key": str, "ts_ms": np.int64, "type": str, "quantity": float, "price": float,
               "order_key": str},
        keep_default_na=False, na_values={"quantity": [""], "price": [""]})
    t1 = time.perf_counter()
    result = rfm(events, args.as_of_ms)
    t2 = time.perf_counter()
    report = {
        "rows": int(len(events)),
        "customers": int(len(result)),
        "read_seconds": t1 - t0,
        "compute_seconds": t2 - t1,
        "total_seconds": t2 - t0,
    }
    if args.compare:
        report["agreement"] = compare(result, args.compare)
    json.dump(report, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
