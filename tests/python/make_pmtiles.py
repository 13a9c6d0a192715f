"""Writes a PMTiles v3 archive of PNG tiles with the `pmtiles` package (protomaps' writer).

Usage: make_pmtiles.py OUT.pmtiles ATTRIBUTION Z/X/Y=TILE.png ...
"""

import sys

from pmtiles.tile import Compression, TileType, zxy_to_tileid
from pmtiles.writer import Writer


def main(out, attribution, *tiles):
    with open(out, "wb") as f:
        writer = Writer(f)
        parsed = []
        for tile in tiles:
            zxy, path = tile.split("=", 1)
            z, x, y = (int(n) for n in zxy.split("/"))
            parsed.append((zxy_to_tileid(z, x, y), path))
        for tile_id, path in sorted(parsed):
            with open(path, "rb") as png:
                writer.write_tile(tile_id, png.read())
        writer.finalize(
            {
                "tile_type": TileType.PNG,
                "tile_compression": Compression.NONE,
                "min_lon_e7": -1800000000,
                "min_lat_e7": -850000000,
                "max_lon_e7": 1800000000,
                "max_lat_e7": 850000000,
                "center_zoom": 0,
                "center_lon_e7": 0,
                "center_lat_e7": 0,
            },
            {"attribution": attribution, "name": "test basemap"},
        )


if __name__ == "__main__":
    main(*sys.argv[1:])
