#!/usr/bin/env python3
"""Keep a local JSON copy of Safqa's contacts (or companies, or deals) in sync. Standard library only.

    python examples/sync_client.py --token sfq_... [--url http://127.0.0.1:8000]
        [--resource contacts|companies|deals] [--store var/contacts.json] [--watch SECONDS]

The first run does a full sync; every later run asks only for what changed since the
token saved in the store. A 410 answer (the token is older than the deletions Safqa
keeps) throws the copy away and syncs in full again. A token can be made with
`python manage.py create_api_token USERNAME --name sync-client`.
"""

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request


class TokenExpired(Exception):
    pass


def fetch(base_url: str, api_token: str, resource: str, since: str | None) -> dict:
    query = {"limit": "500"}
    if since:
        query["since"] = since
    url = f"{base_url}/api/v1/{resource}/changes/?{urllib.parse.urlencode(query)}"
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {api_token}", "Accept-Language": "en"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.load(response)
    except urllib.error.HTTPError as error:
        if error.code == 410:
            raise TokenExpired from None
        if error.code == 429:
            time.sleep(int(error.headers.get("Retry-After", "5")))
            return fetch(base_url, api_token, resource, since)
        detail = json.load(error).get("error", {})
        raise SystemExit(f"HTTP {error.code}: {detail.get('message')} {detail.get('fields') or ''}") from None


def load(path: str) -> dict:
    if os.path.exists(path):
        with open(path, encoding="utf-8") as file:
            return json.load(file)
    return {"token": None, "records": {}}


def save(path: str, store: dict) -> None:
    # Written to a temporary file, then renamed: an interrupted run never leaves half a copy.
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(f"{path}.tmp", "w", encoding="utf-8") as file:
        json.dump(store, file, ensure_ascii=False, indent=1)
    os.replace(f"{path}.tmp", path)


def sync(base_url: str, api_token: str, resource: str, path: str) -> tuple[int, int]:
    """Bring the copy up to date; returns (records received, deletions received)."""
    store = load(path)
    received = deleted = 0
    while True:
        try:
            page = fetch(base_url, api_token, resource, store["token"])
        except TokenExpired:
            print("Sync token expired: starting a full sync.", file=sys.stderr)
            store = {"token": None, "records": {}}
            continue
        for record in page["changes"]:
            store["records"][str(record["id"])] = record
        for tombstone in page["deleted"]:
            store["records"].pop(str(tombstone["id"]), None)
        received += len(page["changes"])
        deleted += len(page["deleted"])
        # The token is saved with the records it covers, page by page: a crash loses nothing.
        store["token"] = page["next_sync_token"]
        save(path, store)
        if not page["has_more"]:
            return received, deleted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("SAFQA_URL", "http://127.0.0.1:8000"))
    parser.add_argument("--token", default=os.environ.get("SAFQA_TOKEN"), help="personal API token (sfq_...)")
    parser.add_argument("--resource", choices=["contacts", "companies", "deals"], default="contacts")
    parser.add_argument("--store", help="JSON file of the local copy (default var/<resource>.json)")
    parser.add_argument("--watch", type=float, default=0, help="sync again every this many seconds")
    args = parser.parse_args()
    if not args.token:
        parser.error("give --token or set SAFQA_TOKEN")
    path = args.store or os.path.join("var", f"{args.resource}.json")
    while True:
        received, deleted = sync(args.url.rstrip("/"), args.token, args.resource, path)
        total = len(load(path)["records"])
        print(f"{args.resource}: {received} changed, {deleted} deleted, {total} in {path}")
        if not args.watch:
            return
        time.sleep(args.watch)


if __name__ == "__main__":
    main()
