#!/usr/bin/env python3
"""Writes expected.tsv for a feed corpus: what feedparser makes of every feed file in it.

Usage: scripts/feed_corpus_expected.py CORPUS_DIR

Runs itself under a pinned feedparser in .venv-corpus (created on first use, gitignored). Every regular file
under CORPUS_DIR except expected.tsv and *.md/*.txt notes is one feed. Each row of CORPUS_DIR/expected.tsv is:

    path (relative to CORPUS_DIR)  TAB  entry count  TAB  well_formed | bozo  TAB  feed version

The Rust corpus test (actors/tests/feed_corpus.rs) reads this file; it needs no Python.
"""

import os
import subprocess
import sys
from pathlib import Path

FEEDPARSER = "feedparser==6.0.14"
REPOSITORY = Path(__file__).resolve().parent.parent
VENV = REPOSITORY / ".venv-corpus"
NOT_FEEDS = {".md", ".txt", ".tsv"}


def ensure_venv() -> None:
    """Re-runs this script under the venv's Python, creating the venv first if needed."""
    python = VENV / "bin" / "python"
    if Path(sys.prefix).resolve() == VENV.resolve():
        return
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", FEEDPARSER], check=True)
    os.execv(str(python), [str(python), __file__, *sys.argv[1:]])


def feed_files(corpus: Path):
    for path in sorted(corpus.rglob("*")):
        if path.is_file() and path.suffix not in NOT_FEEDS and not path.name.startswith("."):
            yield path


def headers_for(document: bytes) -> dict:
    """The Content-Type a server would send: feedparser reads JSON Feed only when the headers say JSON."""
    start = document.lstrip(b"\xef\xbb\xbf \t\r\n")
    if start.startswith(b"{"):
        return {"content-type": "application/feed+json"}
    return {}


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    ensure_venv()
    import feedparser  # noqa: E402 (only importable inside the venv)

    corpus = Path(sys.argv[1]).resolve()
    rows = []
    for path in feed_files(corpus):
        # Bytes, not a path or URL: feedparser must not guess from a file name or fetch anything.
        document = path.read_bytes()
        parsed = feedparser.parse(document, response_headers=headers_for(document))
        state = "bozo" if parsed.get("bozo") else "well_formed"
        version = parsed.get("version") or ""
        rows.append(f"{path.relative_to(corpus)}\t{len(parsed.entries)}\t{state}\t{version}\n")
    (corpus / "expected.tsv").write_text("".join(rows), encoding="utf-8")
    with_entries = sum(1 for row in rows if row.split("\t")[1] != "0")
    print(f"{len(rows)} feeds, {with_entries} with entries, feedparser {feedparser.__version__}: {corpus}/expected.tsv")
    return 0


if __name__ == "__main__":
    sys.exit(main())
