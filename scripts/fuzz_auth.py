"""schemathesis hooks for scripts/fuzz.sh: the fuzzer's credential, an access token that is replaced as soon as a
fuzzed request ends its session.

Fuzzed requests end the fuzzer's own credential all the time: `POST /v1/auth/logout`, and `GET /v1/sessions`
followed by `DELETE /v1/sessions/{id}`, revoke its session. (An API key fares no better: `GET /v1/api-keys` then
`DELETE /v1/api-keys/{id}` deletes it, and the dead key's failures trip the bad-key throttle for 127.0.0.1.)
Without a new token, every request after that would test nothing but the 401.

schemathesis replays a request after a 401 with a fresh token, but only in the examples, coverage and fuzzing
phases; the stateful phase sends each step once. So `after_call` watches for the one 401 that means "this
token's session is gone" on the token in use, and the next request of any phase logs in again.

Fuzzed logins with wrong passwords soon make the login throttle refuse 127.0.0.1, so this logs in from 127.0.0.2
(on Linux the whole 127.0.0.0/8 is loopback), which the engine counts apart.
"""

import http.client
import json
import os
import threading
import urllib.parse

import schemathesis

API = urllib.parse.urlsplit(os.environ["SYNDIC_FUZZ_API"])
USERNAME = os.environ["SYNDIC_FUZZ_USERNAME"]
PASSWORD = os.environ["SYNDIC_FUZZ_PASSWORD"]
SOURCE_ADDRESS = ("127.0.0.2", 0)


def _login():
    connection = http.client.HTTPConnection(API.hostname, API.port, timeout=30, source_address=SOURCE_ADDRESS)
    body = json.dumps({"identifier": USERNAME, "password": PASSWORD})
    try:
        connection.request("POST", "/v1/auth/login", body=body, headers={"content-type": "application/json"})
        response = connection.getresponse()
        payload = response.read()
    finally:
        connection.close()
    if response.status != 200:
        raise RuntimeError(f"the fuzzer's login answered {response.status}: {payload[:300]!r}")
    return json.loads(payload)["access_token"]


SESSION_ENDED = "the session has ended"


class _Credential:
    """The fuzzer's current access token, and whether the engine has said its session is gone."""

    def __init__(self):
        self.lock = threading.Lock()
        self.token = None
        self.ended = False

    def current(self):
        with self.lock:
            if self.token is None or self.ended:
                self.token = _login()
                self.ended = False
            return self.token

    def note_ended(self, token):
        with self.lock:
            if token == self.token:
                self.ended = True


CREDENTIAL = _Credential()


# No caching in schemathesis (an interval of 0): `get` runs before every request and answers from CREDENTIAL.
@schemathesis.auth(refresh_interval=0, retry_on=[401])
class FuzzerAccessToken:
    def get(self, case, context):
        return CREDENTIAL.current()

    def set(self, case, data, context):
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Bearer {data}"


@schemathesis.hook
def after_call(context, case, response):
    if response.status_code != 401 or SESSION_ENDED not in response.text_lossy():
        return
    authorization = (case.headers or {}).get("Authorization", "")
    if authorization.startswith("Bearer "):
        CREDENTIAL.note_ended(authorization.removeprefix("Bearer "))
