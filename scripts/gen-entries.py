#!/usr/bin/env python3
"""Writes N JSON lines of about 100 bytes each (field observations), deterministically.

Usage: gen-entries.py N [--kv] > entries.jsonl
With --kv each line is a key/value put {"k": KEY, "v": OBSERVATION} over N/5 distinct keys.
"""
import json
import random
import sys

KINDS = ["tree", "well", "road", "school", "clinic", "bridge", "market", "farm"]
WORDS = "dry wet new old broken fixed open closed small large north south east west".split()

def main():
    n = int(sys.argv[1])
    as_kv = "--kv" in sys.argv[2:]
    rng = random.Random(42)
    out = sys.stdout
    for i in range(n):
        doc = {
            "id": f"obs-{i:07d}",
            "type": rng.choice(KINDS),
            "lat": round(rng.uniform(-10, 10), 5),
            "lon": round(rng.uniform(30, 40), 5),
            "note": " ".join(rng.choice(WORDS) for _ in range(3)),
            "n": rng.randrange(1000),
        }
        if as_kv:
            doc = {"k": f"site-{rng.randrange(max(1, n // 5))}", "v": doc}
        out.write(json.dumps(doc, separators=(",", ":")))
        out.write("\n")

if __name__ == "__main__":
    main()
