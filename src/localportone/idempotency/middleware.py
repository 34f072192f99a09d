"""``Idempotency-Key`` on POST/PUT/PATCH/DELETE (see docs/idempotency.md).

A pure ASGI middleware: a request without the header (and every GET) passes straight through, unbuffered. With
the header, the caller is authenticated to find whose key it is (a merchant's keys never meet another's), the
key is claimed in the database, the request runs, and its answer is stored before it is sent, so a retry that
arrives right after the answer is replayed rather than refused. 5xx answers are not stored: the client may retry.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from localportone.idempotency import keys
from localportone.idempotency.service import Claim, claim, complete, release
from localportone.kernel.uow import Transactions
from localportone.wire.errors import PortOneError

log = logging.getLogger("localportone.idempotency")

HEADER = b"idempotency-key"
#: Set on a replayed answer.
REPLAYED_HEADER = b"idempotent-replayed"
OUTSTANDING = "IDEMPOTENCY_OUTSTANDING_REQUEST"


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in keys.METHODS:
            await self.app(scope, receive, send)
            return
        raw_key = _header(scope, HEADER)
        if raw_key is None:
            await self.app(scope, receive, send)
            return
        await _Idempotent(self.app, scope, receive, send).run(raw_key)


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None


async def _send_json(send: Send, status: int, body: dict[str, Any]) -> None:
    payload = orjson.dumps(body)
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode()),
    ]})
    await send({"type": "http.response.body", "body": payload})


class _Idempotent:
    """One request that carries an ``Idempotency-Key``."""

    def __init__(self, app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
        self.app, self.scope, self.receive, self.send = app, scope, receive, send
        self.body = b""
        self.body_sent = False

    async def run(self, raw_key: bytes) -> None:
        try:
            key = keys.parse_key(raw_key)
        except keys.InvalidKey as exc:
            await _send_json(self.send, 400, {"type": "INVALID_REQUEST", "message": str(exc)})
            return
        if not await self._read_body():
            return  # the client went away
        state = self.scope["app"].state
        tx: Transactions = state.transactions
        merchant = await self._merchant(tx, state.authenticator)
        if merchant is None:  # unauthenticated: the app answers 401 (nothing to remember)
            await self.app(self.scope, self._replay_receive, self.send)
            return
        path = self.scope.get("raw_path") or self.scope["path"].encode()
        request_hash = keys.fingerprint(self.scope["method"], bytes(path).decode("latin-1"),
                                        self.scope.get("query_string", b""), self.body)
        claimed = await claim(tx, merchant, key, request_hash)
        if claimed.verdict is keys.Verdict.REPLAY:
            await self._replay(claimed)
        elif claimed.verdict is keys.Verdict.OUTSTANDING:
            await _send_json(self.send, 409, {"type": OUTSTANDING,
                                              "message": "a request with this Idempotency-Key is still in progress"})
        elif claimed.verdict is keys.Verdict.MISMATCH:
            await _send_json(self.send, 400, {"type": "INVALID_REQUEST", "message":
                                              "this Idempotency-Key was used for a different request"})
        else:
            await self._run_and_store(tx, claimed)

    async def _read_body(self) -> bool:
        chunks: list[bytes] = []
        while True:
            message = await self.receive()
            if message["type"] == "http.disconnect":
                return False
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                self.body = b"".join(chunks)
                return True

    async def _replay_receive(self) -> Message:
        if not self.body_sent:
            self.body_sent = True
            return {"type": "http.request", "body": self.body, "more_body": False}
        return await self.receive()

    async def _merchant(self, tx: Transactions, authenticator: Any) -> str | None:
        authorization = _header(self.scope, b"authorization")
        try:
            async with tx.begin(write=False) as uow:
                principal = await authenticator.authenticate(
                    uow, authorization.decode("latin-1") if authorization is not None else None
                )
        except PortOneError:
            return None
        merchant: str = principal.merchant_id
        return merchant

    async def _replay(self, claimed: Claim) -> None:
        body = claimed.body or b""
        headers = [(b"content-length", str(len(body)).encode()), (REPLAYED_HEADER, b"true")]
        if claimed.content_type:
            headers.append((b"content-type", claimed.content_type.encode("latin-1")))
        await self.send({"type": "http.response.start", "status": claimed.status or 200, "headers": headers})
        await self.send({"type": "http.response.body", "body": body})

    async def _run_and_store(self, tx: Transactions, claimed: Claim) -> None:
        start: Message | None = None
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            else:  # pragma: no cover - trailers, pushes: not used by this app
                await self.send(message)

        try:
            await self.app(self.scope, self._replay_receive, capture)
        except BaseException:
            await _quietly(release(tx, claimed))
            raise
        if start is None:  # pragma: no cover - the app always answers
            await _quietly(release(tx, claimed))
            return
        body = b"".join(chunks)
        status = int(start["status"])
        if status >= 500:
            await _quietly(release(tx, claimed))
        else:
            content_type = None
            for name, value in start.get("headers", []):
                if bytes(name).lower() == b"content-type":
                    content_type = bytes(value).decode("latin-1")
            await _quietly(complete(tx, claimed, status, content_type, body))
        await self.send(start)
        await self.send({"type": "http.response.body", "body": body})


async def _quietly(operation: Any) -> None:
    """Storing or releasing a claim must not hide the request's own answer; a leftover claim ends with its lease."""
    try:
        await operation
    except Exception:
        log.exception("could not store or release an idempotency key")
