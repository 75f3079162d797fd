#!/usr/bin/env python3
"""A small Safqa API client using only the standard library (urllib).

It lists your contacts (following the cursor pages) and creates one with an
Idempotency-Key, retrying once to show that the retry does not create a second.

    python manage.py create_api_token USERNAME --name "example client"
    SAFQA_TOKEN=sfq_… python examples/api_client.py [--base-url http://127.0.0.1:8000]

See docs/api.md for the whole API.
"""

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.request
import uuid


class ApiError(Exception):
    def __init__(self, status: int, body: dict):
        error = body.get("error", {}) if isinstance(body, dict) else {}
        super().__init__(f"{status} {error.get('code', '')}: {error.get('message', body)} {error.get('fields') or ''}")
        self.status = status
        self.body = body


class SafqaClient:
    def __init__(self, base_url: str, token: str, language: str = "en"):
        self.base_url = base_url.rstrip("/")
        self.headers = {
            "Authorization": f"Bearer {token}",
            "Accept": "application/json",
            "Accept-Language": language,
        }

    def request(self, method: str, path: str, body=None, headers=None, retries: int = 3):
        """Send one request; wait and retry on 429 (Retry-After) and on network errors."""
        url = path if path.startswith("http") else f"{self.base_url}{path}"
        data = None if body is None else json.dumps(body).encode()
        all_headers = {**self.headers, **(headers or {})}
        if data is not None:
            all_headers["Content-Type"] = "application/json"
        for attempt in range(retries + 1):
            request = urllib.request.Request(url, data=data, method=method, headers=all_headers)
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    raw = response.read()
                    return response.status, dict(response.headers), json.loads(raw) if raw else None
            except urllib.error.HTTPError as error:
                raw = error.read()
                payload = json.loads(raw) if raw else {}
                if error.code == 429 and attempt < retries:
                    time.sleep(int(error.headers.get("Retry-After", "1")))
                    continue
                raise ApiError(error.code, payload) from None
            except urllib.error.URLError:
                # The request may or may not have arrived: only safe because POSTs carry an Idempotency-Key.
                if attempt == retries:
                    raise
                time.sleep(2**attempt)
        raise RuntimeError("unreachable")

    def iterate(self, path: str, page_size: int = 100):
        """Every record of a list, following the cursor pages."""
        separator = "&" if "?" in path else "?"
        url = f"{path}{separator}page_size={page_size}"
        while url:
            _status, _headers, page = self.request("GET", url)
            yield from page["results"]
            url = page["next"]

    def create(self, path: str, body: dict, idempotency_key: str | None = None):
        key = idempotency_key or str(uuid.uuid4())
        return self.request("POST", path, body, headers={"Idempotency-Key": key})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base-url", default=os.environ.get("SAFQA_URL", "http://127.0.0.1:8000"))
    parser.add_argument("--token", default=os.environ.get("SAFQA_TOKEN"))
    parser.add_argument("--language", default="en", choices=["ar", "en"])
    args = parser.parse_args()
    if not args.token:
        parser.error("give a token with --token or SAFQA_TOKEN (python manage.py create_api_token USERNAME --name …)")
    client = SafqaClient(args.base_url, args.token, args.language)

    _status, _headers, me = client.request("GET", "/api/v1/me/")
    print(f"Signed in as {me['username']} ({me['role']})")

    contacts = list(client.iterate("/api/v1/contacts/"))
    print(f"{len(contacts)} contacts visible to you")
    for contact in contacts[:5]:
        print(f"  #{contact['id']} {contact['first_name']} {contact['last_name']} · version {contact['version']}")

    key = str(uuid.uuid4())
    body = {"first_name": "سارة", "last_name": "مثال", "email": f"example-{key[:8]}@example.com"}
    status, headers, created = client.create("/api/v1/contacts/", body, idempotency_key=key)
    print(f"Created contact #{created['id']} (HTTP {status}, ETag {headers.get('ETag')})")
    status, headers, again = client.create("/api/v1/contacts/", body, idempotency_key=key)
    replayed = headers.get("Idempotent-Replayed") == "true"
    print(f"Retried with the same Idempotency-Key: HTTP {status}, same contact #{again['id']}, replayed={replayed}")

    _status, headers, _updated = client.request(
        "PATCH",
        f"/api/v1/contacts/{created['id']}/",
        {"job_title": "Example"},
        headers={"If-Match": headers.get("ETag", '"1"')},
    )
    print(f"Updated with If-Match; new ETag {headers.get('ETag')}")
    try:
        client.request(
            "PATCH", f"/api/v1/contacts/{created['id']}/", {"job_title": "Stale"}, headers={"If-Match": '"1"'}
        )
    except ApiError as error:
        print(f"A stale If-Match is refused: {error}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
