"""The reader's flow through a client generated from openapi.yaml: register, log in, subscribe to a feed served
on 127.0.0.1, wait for its article, mark it read and check that it reads back as read.

scripts/fuzz.sh generates the client package (`syndic_client`) into a temp dir on PYTHONPATH and runs this
against a live engine. Any step that does not go as the contract says raises, and the exit status is non-zero.
"""

import argparse
import http.server
import pathlib
import threading
import time
import uuid

from syndic_client import AuthenticatedClient, Client
from syndic_client.api.articles import get_article, list_articles, update_article
from syndic_client.api.auth import login, register
from syndic_client.api.feeds import get_feed, subscribe
from syndic_client.models import (
    ArticlePatchRequest,
    LoginRequest,
    ReadStatus,
    RegisterRequest,
    SubscribeRequest,
    SubscribeStatus,
)

FEED = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel>
  <title>Client flow</title><link>http://127.0.0.1/</link><description>one article</description>
  <item>
    <title>{title}</title><link>http://127.0.0.1/articles/1</link><guid>{guid}</guid>
    <pubDate>Mon, 02 Jan 2006 15:04:05 GMT</pubDate><description>Hello from the client flow.</description>
  </item>
</channel></rss>
"""

# Bounded: the first poll of a new feed starts at once, so this is far more than it needs.
WAIT_ATTEMPTS = 120
WAIT_STEP_SECONDS = 0.5


def expect(response, status):
    """The parsed body of a response that must have `status`."""
    if response.status_code != status:
        raise AssertionError(f"expected {status}, got {response.status_code}: {response.content!r}")
    return response.parsed


def serve_feed(directory: pathlib.Path, title: str) -> str:
    """Serves one RSS file on 127.0.0.1 (an ephemeral port) from a thread; returns its URL."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "feed.xml").write_text(FEED.format(title=title, guid=uuid.uuid4()), encoding="utf-8")

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(directory), **kwargs)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}/feed.xml"


def main() -> None:
    arguments = argparse.ArgumentParser(description=__doc__)
    arguments.add_argument("--api", required=True, help="the engine's base URL")
    arguments.add_argument("--feed-dir", required=True, type=pathlib.Path, help="where to write the feed file")
    options = arguments.parse_args()

    name = f"reader{uuid.uuid4().hex[:8]}"
    password = "a long enough password"
    anonymous = Client(base_url=options.api, raise_on_unexpected_status=False)
    user = expect(
        register.sync_detailed(
            client=anonymous,
            body=RegisterRequest(username=name, email=f"{name}@example.com", password=password),
        ),
        201,
    )
    assert user.username == name, user
    token = expect(login.sync_detailed(client=anonymous, body=LoginRequest(identifier=name, password=password)), 200)
    client = AuthenticatedClient(base_url=options.api, token=token.access_token, raise_on_unexpected_status=False)
    print(f"registered and logged in as {name}")

    title = f"Article {uuid.uuid4().hex[:8]}"
    feed_url = serve_feed(options.feed_dir, title)
    results = expect(subscribe.sync_detailed(client=client, body=SubscribeRequest(urls=[feed_url])), 202).results
    assert len(results) == 1 and results[0].status != SubscribeStatus.INVALID, results
    feed_id = results[0].feed_id
    assert expect(get_feed.sync_detailed(feed_id, client=client), 200).url.startswith("http://127.0.0.1:")
    print(f"subscribed to {feed_url} as feed {feed_id}")

    article = None
    for _ in range(WAIT_ATTEMPTS):
        page = expect(list_articles.sync_detailed(client=client, feed_id=feed_id), 200)
        if page.articles:
            article = page.articles[0]
            break
        time.sleep(WAIT_STEP_SECONDS)
    if article is None:
        raise AssertionError(f"no article from feed {feed_id} after {WAIT_ATTEMPTS * WAIT_STEP_SECONDS:.0f}s")
    assert article.title == title and article.read is False, article
    print(f"article {article.id} arrived unread")

    marked = expect(update_article.sync_detailed(article.id, client=client, body=ArticlePatchRequest(read=True)), 200)
    assert marked.read is True, marked
    assert expect(get_article.sync_detailed(article.id, client=client), 200).read is True
    read_ids = [a.id for a in expect(list_articles.sync_detailed(client=client, status=ReadStatus.READ), 200).articles]
    unread_ids = [a.id for a in expect(list_articles.sync_detailed(client=client, status=ReadStatus.UNREAD), 200).articles]
    assert article.id in read_ids and article.id not in unread_ids, (read_ids, unread_ids)
    print(f"article {article.id} reads back as read: the generated client's flow passed")


if __name__ == "__main__":
    main()
