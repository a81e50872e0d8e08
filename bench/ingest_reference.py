#!/usr/bin/python3
"""The import a data team would otherwise write, doing the same work as `omni import`.

jsonl:         json.loads per line, the same validation (required fields, channel and type lists,
               timestamps, numbers), E.164 / lower-case normalisation, keyed BLAKE2b of phone and
               e-mail (hashlib), insert-or-ignore on a unique event_id, 50,000-row transactions.
online-retail: pandas.read_csv of the UCI Online Retail CSV, vectorised mapping to the canonical
               event (refunds, guests, derived event ids), then the same executemany.

Run with Debian's /usr/bin/python3 (python3-pandas). Prints one JSON line: records, accepted,
rejected, seconds, records_per_second, cpu_seconds
(user + system, robust to a loaded machine), peak_rss_mib.
"""
import hashlib
import json
import os
import re
import resource
import sqlite3
import sys
import time
from datetime import datetime, timezone

CHANNELS = {"web", "app", "miniprogram", "store", "social", "email", "sms", "kiosk", "callcenter"}
TYPES = {"view", "search", "add_to_cart", "purchase", "refund", "click", "impression", "open",
         "coupon_redeem", "store_visit", "signup", "consent"}
ID_TYPES = {"customer_id", "member_card", "phone", "email", "social_id", "device_id", "cookie_id"}
KEY = bytes(range(32))
SCHEMA = """
CREATE TABLE IF NOT EXISTS events(seq INTEGER PRIMARY KEY, event_id TEXT NOT NULL UNIQUE, ts_ms INTEGER,
  tz_offset_min INTEGER, channel TEXT, type TEXT, identities TEXT, item_id TEXT, quantity REAL, price REAL,
  currency TEXT, order_id TEXT, store_id TEXT, campaign_id TEXT, properties TEXT);
CREATE INDEX IF NOT EXISTS events_ts ON events(ts_ms);
"""
INSERT = ("INSERT OR IGNORE INTO events(event_id,ts_ms,tz_offset_min,channel,type,identities,item_id,"
          "quantity,price,currency,order_id,store_id,campaign_id,properties) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)")
NON_DIGIT = re.compile(r"[^0-9+]")


def keyed(kind, value):
    return hashlib.blake2b((kind + "\0" + value).encode(), key=KEY, digest_size=16).hexdigest()


def phone_e164(raw):
    s = NON_DIGIT.sub("", raw)
    if s.startswith("+"):
        s = s[1:]
    elif s.startswith("00"):
        s = s[2:]
    elif len(s) == 11 and s.startswith("1"):
        s = "86" + s
    if not s.isdigit() or not 8 <= len(s) <= 15:
        raise ValueError("phone")
    return "+" + s


def parse_ts(v):
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return int(v if v >= 1e11 else v * 1000), 0
    dt = datetime.fromisoformat(v)
    if dt.tzinfo is None:
        raise ValueError("ts")
    return int(dt.timestamp() * 1000), int(dt.utcoffset().total_seconds() // 60)


def number(v):
    if v is None:
        return None
    if isinstance(v, bool):
        raise ValueError("number")
    f = float(v)
    if f != f or f in (float("inf"), float("-inf")):
        raise ValueError("number")
    return f


def convert(line):
    if len(line) > 65536:
        raise ValueError("oversized_record")
    e = json.loads(line)
    if not isinstance(e, dict):
        raise ValueError("invalid_json")
    eid = e.get("event_id")
    if not isinstance(eid, str) or not eid:
        raise ValueError("missing_field")
    ts_ms, off = parse_ts(e["ts"])
    if e.get("channel") not in CHANNELS:
        raise ValueError("unknown_channel")
    if e.get("type") not in TYPES and not str(e.get("type", "")).startswith("custom:"):
        raise ValueError("unknown_event_type")
    ids = e.get("identities")
    if not isinstance(ids, dict) or not ids:
        raise ValueError("missing_identities")
    out = {}
    for k, v in ids.items():
        if k not in ID_TYPES:
            raise ValueError("invalid_identity")
        v = str(v).strip()
        if k == "phone":
            v = keyed(k, phone_e164(v))
        elif k == "email":
            v = v.lower()
            if v.count("@") != 1:
                raise ValueError("invalid_identity")
            v = keyed(k, v)
        out[k] = v
    q, p = number(e.get("quantity")), number(e.get("price"))
    if e["type"] == "purchase" and q is not None and q < 0:
        raise ValueError("negative_quantity")
    if p is not None and p < 0:  # omni's rule too: a price is never negative (refunds carry type "refund")
        raise ValueError("negative_price")
    props = e.get("properties")
    return (eid, ts_ms, off, e["channel"], e["type"], json.dumps(out, separators=(",", ":")),
            e.get("item_id"), q, p, e.get("currency"), e.get("order_id"), e.get("store_id"),
            e.get("campaign_id"), json.dumps(props, separators=(",", ":")) if props is not None else None)


def open_db(path):
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.executescript(SCHEMA)
    return db


def write(db, rows):
    db.execute("BEGIN")
    before = db.total_changes
    db.executemany(INSERT, rows)
    db.execute("COMMIT")
    return db.total_changes - before


def import_jsonl(path, db):
    records = accepted = rejected = 0
    rows = []
    with open(path, "rb") as f:
        for raw in f:
            records += 1
            try:
                rows.append(convert(raw.decode("utf-8").rstrip("\r\n")))
            except Exception:  # noqa: BLE001 - every failure is a rejected record
                rejected += 1
            if len(rows) >= 50000:
                accepted += write(db, rows)
                rows = []
    if rows:
        accepted += write(db, rows)
    return records, accepted, rejected


def import_online_retail(path, db):
    import pandas as pd
    df = pd.read_csv(path, dtype={"InvoiceNo": str, "StockCode": str, "Description": str,
                                  "CustomerID": "Int64", "Country": str}, keep_default_na=False,
                     na_values={"CustomerID": [""]})
    records = len(df)
    ts = pd.to_datetime(df["InvoiceDate"], format="%Y-%m-%d %H:%M:%S", errors="coerce")
    bad = ts.isna() | (df["UnitPrice"] < 0)
    df = df[~bad]
    ts = ts[~bad]
    refund = df["InvoiceNo"].str.startswith("C")
    guest = df["CustomerID"].isna()
    raw_hash = pd.util.hash_pandas_object(df, index=False).astype("uint64").map("{:016x}".format)
    event_id = "online-retail:" + df["InvoiceNo"] + ":" + df["StockCode"] + ":" + raw_hash
    ident = ("{\"customer_id\":\"" + df["CustomerID"].astype(str) + "\"}").where(
        ~guest, "{\"cookie_id\":\"guest-invoice:" + df["InvoiceNo"] + "\"}")
    etype = pd.Series("purchase", index=df.index).where(~refund, "refund")
    props = "{\"country\":\"" + df["Country"] + "\"}"
    rows = list(zip(event_id, (ts.astype("int64") // 1_000_000).tolist(), [0] * len(df),
                    ["web"] * len(df), etype, ident, df["StockCode"], df["Quantity"].abs().astype(float),
                    df["UnitPrice"].astype(float), ["GBP"] * len(df), df["InvoiceNo"], [None] * len(df),
                    [None] * len(df), props))
    accepted = 0
    for i in range(0, len(rows), 50000):
        accepted += write(db, rows[i:i + 50000])
    return records, accepted, int(bad.sum())


def main():
    kind, path, db_path = sys.argv[1], sys.argv[2], sys.argv[3]
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(db_path + suffix):
            os.remove(db_path + suffix)
    db = open_db(db_path)
    start = time.perf_counter()
    records, accepted, rejected = (import_jsonl if kind == "jsonl" else import_online_retail)(path, db)
    secs = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_SELF)
    rss = usage.ru_maxrss / 1024
    cpu = usage.ru_utime + usage.ru_stime
    print(json.dumps({"reference": kind, "records": records, "accepted": accepted, "rejected": rejected,
                      "seconds": round(secs, 3), "records_per_second": round(records / secs),
                      "cpu_seconds": round(cpu, 3), "peak_rss_mib": round(rss, 1)}))


if __name__ == "__main__":
    main()
