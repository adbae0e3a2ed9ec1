#!/usr/bin/env python3
"""Comparison with Python `reader` (lemon24/reader): polls the same feed farm as `syndic-loadtest`.

Start the farm first, e.g. `cargo run --release -p syndic-loadtest -- --feeds 1000 --farm-only --farm-port 9900`,
then run
`python scripts/reader_compare.py http://127.0.0.1:9900`. The script adds every farm URL to a fresh reader
database in a temp dir, runs `update_feeds_iter(workers=8, scheduled=False)` (cold), asks the farm to move its
changing feeds on (POST /advance, as the syndic harness does between its rounds), runs it again (warm), and prints
for each round what the harness prints for syndic: the time until every healthy feed was updated (the last
successful result), with feeds/s over the healthy feeds, and the time until every feed, the broken ones too,
had its result.

Needs `pip install reader sgmllib3k` (tested with reader 3.26 on Python 3.11; its vendored feedparser imports
sgmllib). The farm must be on a loopback address.
"""

import argparse
import ipaddress
import json
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

from reader import make_reader


def loopback_only(farm: str) -> str:
    host = urllib.parse.urlsplit(farm).hostname or ""
    if host != "localhost" and not ipaddress.ip_address(host).is_loopback:
        sys.exit(f"refusing a non-loopback farm: {farm}")
    return farm.rstrip("/")


def timed_update(reader, workers: int) -> dict:
    started = time.perf_counter()
    healthy_done = 0.0
    healthy = failed = 0
    # scheduled=False: poll every feed now, as syndic's warm round does (reader 3.x otherwise skips feeds that
    # are not due yet, which would make the warm round a no-op).
    for result in reader.update_feeds_iter(workers=workers, scheduled=False):
        if isinstance(result.value, Exception):
            failed += 1
        else:
            healthy += 1
            healthy_done = time.perf_counter() - started
    return {
        "seconds": healthy_done,
        "all_feeds_seconds": time.perf_counter() - started,
        "healthy_feeds": healthy,
        "feeds_per_second": healthy / healthy_done if healthy_done else 0.0,
        "failed_feeds": failed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("farm", help="the farm's base URL, e.g. http://127.0.0.1:9900")
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--json", help="write the figures to this file")
    args = parser.parse_args()
    farm = loopback_only(args.farm)
    with urllib.request.urlopen(f"{farm}/feeds.txt") as response:
        urls = response.read().decode().split()
    with tempfile.TemporaryDirectory(prefix="reader-compare-") as directory:
        reader = make_reader(str(Path(directory) / "reader.sqlite"))
        for url in urls:
            reader.add_feed(url)
        cold = timed_update(reader, args.workers)
        cold_entries = reader.get_entry_counts().total
        urllib.request.urlopen(urllib.request.Request(f"{farm}/advance", method="POST")).read()
        warm = timed_update(reader, args.workers)
        warm_entries = reader.get_entry_counts().total - cold_entries
        broken = sum(1 for feed in reader.get_feeds() if feed.last_exception is not None)
        reader.close()
    cold["entries_stored"] = cold_entries
    warm["entries_stored"] = warm_entries
    figures = {
        "feeds": len(urls),
        "workers": args.workers,
        "cold": cold,
        "warm": warm,
        "feeds_with_errors": broken,
    }
    print(f"reader: {len(urls)} feeds, {args.workers} workers")
    for name, round_ in (("cold", cold), ("warm", warm)):
        print(
            f"{name}: {round_['seconds']:.2f} s: {round_['healthy_feeds']} feeds, "
            f"{round_['feeds_per_second']:.0f} feeds/s; {round_['entries_stored']} entries; "
            f"broken ones too by {round_['all_feeds_seconds']:.2f} s"
        )
    print(f"feeds with errors after the warm round: {broken}")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
