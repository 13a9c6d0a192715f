"""The map page over a basemap: a PMTiles archive of PIL-drawn tiles, written by protomaps'
Python writer, carried to this store by a sync, drawn from the local server only."""

import importlib
import subprocess
import sys
from pathlib import Path

from conftest import login, missing, requested_urls, shot, wait_for

MAKE_PMTILES = Path(__file__).resolve().parents[1] / "python" / "make_pmtiles.py"


def needed(module):
    """The Python module, or a skip (a failure under CI=true) naming what to install."""
    try:
        return importlib.import_module(module)
    except ImportError:
        missing(f"the Python module {module} is needed (pip install -r tests/python/requirements.txt)")


def draw_tiles(folder):
    """Tiles of zooms 0 to 2, each a colour and its z/x/y in large letters."""
    image = needed("PIL.Image")
    draw = needed("PIL.ImageDraw")
    tiles = []
    for z in range(3):
        for x in range(2 ** z):
            for y in range(2 ** z):
                tile = image.new("RGB", (256, 256), (120 + 40 * x, 180 - 20 * y, 140 + 30 * z))
                pen = draw.Draw(tile)
                pen.rectangle([0, 0, 255, 255], outline=(60, 60, 60), width=2)
                pen.text((20, 20), f"{z}/{x}/{y}", fill=(0, 0, 0), font_size=40)
                path = folder / f"{z}-{x}-{y}.png"
                tile.save(path)
                tiles.append(f"{z}/{x}/{y}={path}")
    return tiles


def test_the_map_shows_a_synced_basemap_from_the_local_server(store, other_store, ui, browser, tmp_path):
    needed("pmtiles")
    archive = tmp_path / "area.pmtiles"
    subprocess.run([sys.executable, MAKE_PMTILES, archive, "© drawn for the test", *draw_tiles(tmp_path)],
                   check=True)
    other_store.run("map", "basemap", "add", archive)
    stick = tmp_path / "stick"
    stick.mkdir()
    other_store.run("sync", stick)
    store.run("sync", stick)
    login(browser, ui, "/map")
    loaded = ("return [...document.querySelectorAll('.leaflet-tile-pane img')]"
              ".filter(i => i.src.includes('/api/map/tiles/') && i.complete && i.naturalWidth === 256).length")
    wait_for(browser, lambda d: d.execute_script(loaded) >= 4, "basemap tiles drawn")
    wait_for(browser, lambda d: "drawn for the test" in d.find_element("id", "map-basemap").text,
             "the archive's attribution")
    urls = requested_urls(browser)
    assert any("/api/map/tiles/" in url for url in urls), urls
    others = [url for url in urls if not url.startswith(ui.origin) and not url.startswith("data:")]
    assert others == [], others
    shot(browser, "map-basemap")
    browser.set_window_size(390, 844)
    wait_for(browser, lambda d: d.execute_script(loaded) >= 1, "tiles at phone width")
    shot(browser, "map-basemap-phone")
