#!/usr/bin/env python3
"""Writes a GeoJSON FeatureCollection of P points, deterministically, a feature at a time.

Usage: gen-points.py P > points.geojson
Each feature is shaped as tests/it/scale.rs writes them: id "p{i}", a Point on a 0.1-degree grid
3600 points wide (from -180, -60), properties {"name": "well {i}"}.
"""
import json
import sys


def main():
    p = int(sys.argv[1])
    out = sys.stdout
    out.write('{"type":"FeatureCollection","features":[')
    for i in range(p):
        lon, lat = (i % 3600) / 10 - 180, (i // 3600) / 10 - 60
        feature = {
            "type": "Feature",
            "id": f"p{i}",
            "geometry": {"type": "Point", "coordinates": [lon, lat]},
            "properties": {"name": f"well {i}"},
        }
        if i:
            out.write(",")
        out.write(json.dumps(feature, separators=(",", ":")))
    out.write("]}\n")


if __name__ == "__main__":
    main()
