#!/usr/bin/python3
"""The point-in-time feature table of `omni features build`, computed with pandas.

    /usr/bin/python3 bench/features_reference.py EVENTS.csv --cutoff 2011-06-01,2011-09-01 --horizon-days 90
        [--top-categories 5] [--windows 1,7,30] [--out FILE.csv] [--compare OMNI_FEATURES.csv]

EVENTS.csv is what `omni features build --export-events` writes: every event of a
resolved customer with its customer key (customer_key, ts_ms, channel, type,
item_id, amount, order_id, strong, category). This script computes the same
features with the definitions of docs/features.md — everything except the
BG/NBD columns (no BG/NBD in Debian's Python) — timing its own work (read +
compute) in wall and CPU seconds, and, with --compare, checks omni's table
against its own column by column. Prints one JSON object.
"""
import argparse
import json
import sys
import time

import numpy as np
import pandas as pd

DAY_MS = 86_400_000


def slug(name):
    out = []
    for ch in name:
        if ord(ch) >= 0x80 or ch.isdigit() or ("a" <= ch <= "z"):
            out.append(ch)
        elif "A" <= ch <= "Z":
            out.append(ch.lower())
        elif out and out[-1] != "_":
            out.append("_")
    s = "".join(out).rstrip("_")
    return s or "unnamed"


def features_at(ev, T, horizon_ms, channels, top_cats, windows):
    before = ev[ev.ts_ms < T]
    g = before.groupby("customer_key", sort=True)
    out = pd.DataFrame(index=g.size().index)
    out.index.name = "customer_key"
    out["events"] = g.size()
    first = g.ts_ms.min()
    last = g.ts_ms.max()
    buys = before[before.type == "purchase"]
    refunds = before[before.type == "refund"]
    gross = buys.groupby("customer_key").amount.sum()
    refunded = refunds.groupby("customer_key").amount.sum()
    orders = buys.drop_duplicates(["customer_key", "order_key"]).groupby("customer_key").size()
    last_buy = buys.groupby("customer_key").ts_ms.max()
    out["recency_days"] = (T - last_buy) / DAY_MS
    out["days_since_last_event"] = (T - last) / DAY_MS
    out["tenure_days"] = (T - first) / DAY_MS
    out["identified"] = before.groupby("customer_key").strong.max().astype(float)
    out["frequency"] = orders.reindex(out.index, fill_value=0).astype(float)
    out["gross_sales"] = gross.reindex(out.index, fill_value=0.0)
    refunded = refunded.reindex(out.index, fill_value=0.0)
    out["monetary"] = out.gross_sales - refunded
    out["avg_basket"] = out.gross_sales / out.frequency.where(out.frequency > 0)
    out["refund_rate"] = np.where(out.gross_sales > 0, refunded / out.gross_sales.where(out.gross_sales > 0),
                                  np.where(refunded > 0, 1.0, 0.0))
    ch_events = before.groupby(["customer_key", "channel"]).size().unstack(fill_value=0)
    ch_orders = (buys.drop_duplicates(["customer_key", "order_key", "channel"])
                 .groupby(["customer_key", "channel"]).size().unstack(fill_value=0))
    signed = pd.concat([buys[["customer_key", "channel", "amount"]],
                        refunds[["customer_key", "channel"]].assign(amount=-refunds.amount)])
    ch_money = signed.groupby(["customer_key", "channel"]).amount.sum().unstack(fill_value=0.0)
    for ch in channels:
        s = slug(ch)
        out["orders_" + s] = ch_orders[ch].reindex(out.index, fill_value=0) if ch in ch_orders else 0
        out["monetary_" + s] = ch_money[ch].reindex(out.index, fill_value=0.0) if ch in ch_money else 0.0
        ev_ch = ch_events[ch].reindex(out.index, fill_value=0) if ch in ch_events else 0
        out["event_share_" + s] = ev_ch / out.events

    views = before[(before.type == "view")]
    item_views = views[views.item_id != ""]
    carts = before[(before.type == "add_to_cart") & (before.item_id != "")]
    last_item_buy = buys[buys.item_id != ""].groupby(["customer_key", "item_id"]).ts_ms.max().rename("last_buy")
    for what in ("views", "cart_adds", "browse_without_buy", "cart_abandon"):
        for w in windows:
            out[f"{what}_{w}d"] = 0.0
    for w in windows:
        start = T - w * DAY_MS
        v = item_views[item_views.ts_ms > start]
        out[f"views_{w}d"] = v.groupby("customer_key").size().reindex(out.index, fill_value=0).astype(float)
        first_view = v.groupby(["customer_key", "item_id"]).ts_ms.min().rename("first_view")
        fv = first_view.to_frame().join(last_item_buy, how="left")
        unbought = fv[~(fv.last_buy >= fv.first_view)]
        out[f"browse_without_buy_{w}d"] = (unbought.groupby(level=0).size().reindex(out.index, fill_value=0)
                                           .astype(float))
        c = carts[carts.ts_ms > start]
        out[f"cart_adds_{w}d"] = c.groupby("customer_key").size().reindex(out.index, fill_value=0).astype(float)
        cj = c.join(last_item_buy, on=["customer_key", "item_id"])
        ab = cj[~(cj.last_buy >= cj.ts_ms)]
        out[f"cart_abandon_{w}d"] = ab.groupby("customer_key").size().reindex(out.index, fill_value=0).astype(float)
    vj = item_views.join(last_item_buy, on=["customer_key", "item_id"])
    latest_unbought = vj[~(vj.last_buy >= vj.ts_ms)].groupby("customer_key").ts_ms.max()
    out["days_since_unbought_view"] = (T - latest_unbought) / DAY_MS

    all_views = views.groupby("customer_key").size().reindex(out.index, fill_value=0)
    cat_spend = buys.groupby(["customer_key", "category"]).amount.sum().unstack(fill_value=0.0)
    cat_views = views.groupby(["customer_key", "category"]).size().unstack(fill_value=0)
    for cat in top_cats:
        s = slug(cat)
        sp = cat_spend[cat].reindex(out.index, fill_value=0.0) if cat in cat_spend else 0.0
        vw = cat_views[cat].reindex(out.index, fill_value=0) if cat in cat_views else 0
        out["spend_share_" + s] = np.where(out.gross_sales > 0, sp / out.gross_sales.where(out.gross_sales > 0), 0.0)
        out["view_share_" + s] = np.where(all_views > 0, vw / all_views.where(all_views > 0), 0.0)

    later = ev[(ev.type == "purchase") & (ev.ts_ms > T) & (ev.ts_ms <= T + horizon_ms)]
    out["label"] = out.index.isin(later.customer_key.unique()).astype(int)
    out["cutoff_ms"] = T
    return out.reset_index()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("events")
    ap.add_argument("--cutoff", required=True)
    ap.add_argument("--horizon-days", type=float, default=90)
    ap.add_argument("--top-categories", type=int, default=5)
    ap.add_argument("--windows", default="1,7,30")
    ap.add_argument("--channels", default="web,app,miniprogram,store,social,email,sms,kiosk,callcenter",
                    help="the ingest config's channel order")
    ap.add_argument("--out")
    ap.add_argument("--compare")
    a = ap.parse_args()
    wall0, cpu0 = time.perf_counter(), time.process_time()
    ev = pd.read_csv(a.events, dtype={"customer_key": str, "channel": str, "type": str, "item_id": str,
                                      "order_id": str, "category": str}, keep_default_na=False,
                     na_values={"amount": [""]})
    read_s, read_cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    ev["amount"] = ev.amount.fillna(0.0)
    # An order is its order_id; a purchase without one is an order by itself.
    ev["order_key"] = np.where(ev.order_id != "", ev.order_id, "#" + ev.index.astype(str))
    cutoffs = [int(pd.Timestamp(c, tz="UTC").value // 1_000_000) for c in a.cutoff.split(",")]
    horizon_ms = int(a.horizon_days * DAY_MS)
    windows = [int(w) for w in a.windows.split(",")]
    latest = max(cutoffs)
    seen = set(ev.loc[ev.ts_ms < latest, "channel"].unique())
    channels = [c for c in a.channels.split(",") if c in seen] + sorted(seen - set(a.channels.split(",")))
    early = ev[(ev.ts_ms < min(cutoffs)) & ev.type.isin(["view", "add_to_cart", "purchase"]) & (ev.category != "")]
    counts = early.groupby("category").size().reset_index(name="n").sort_values(["n", "category"],
                                                                                 ascending=[False, True])
    top_cats = list(counts.category[: a.top_categories])
    table = pd.concat([features_at(ev, T, horizon_ms, channels, top_cats, windows) for T in cutoffs],
                      ignore_index=True)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    if a.out:
        table.to_csv(a.out, index=False)
    result = {"rows": int(len(table)), "positives": int(table.label.sum()), "columns": len(table.columns) - 3,
              "events": int(len(ev)), "read_seconds": read_s, "read_cpu_seconds": read_cpu, "wall_seconds": wall, "cpu_seconds": cpu,
              "top_categories": top_cats, "channels": channels}
    if a.compare:
        omni = pd.read_csv(a.compare, dtype={"customer_key": str}, keep_default_na=True)
        omni["cutoff_ms"] = pd.to_datetime(omni.cutoff, utc=True).astype("int64") // 1_000_000
        m = omni.merge(table, on=["customer_key", "cutoff_ms"], how="outer", suffixes=("_omni", "_pandas"),
                       indicator=True)
        result["rows_only_in_omni"] = int((m._merge == "left_only").sum())
        result["rows_only_in_pandas"] = int((m._merge == "right_only").sum())
        both = m[m._merge == "both"]
        checked, mismatches = {}, {}
        for col in [c for c in table.columns if c not in ("customer_key", "cutoff_ms")]:
            if col + "_omni" not in both:
                mismatches[col] = "missing in omni"
                continue
            x = both[col + "_omni"].astype(float).to_numpy()
            y = both[col + "_pandas"].astype(float).to_numpy()
            same_nan = np.isnan(x) == np.isnan(y)
            close = np.isclose(x, y, rtol=1e-4, atol=1e-4) | (np.isnan(x) & np.isnan(y))
            bad = int((~(same_nan & close)).sum())
            checked[col] = bad
            if bad:
                i = np.where(~(same_nan & close))[0][0]
                mismatches[col] = {"rows": bad, "example": [str(both.customer_key.iloc[i]), float(x[i]), float(y[i])]}
        result["columns_compared"] = len(checked)
        result["cells_compared"] = int(len(both) * len(checked))
        result["mismatching_columns"] = mismatches
        result["agree"] = (not mismatches and result["rows_only_in_omni"] == 0 and result["rows_only_in_pandas"] == 0)
    json.dump(result, sys.stdout, ensure_ascii=False)
    print()


if __name__ == "__main__":
    main()
