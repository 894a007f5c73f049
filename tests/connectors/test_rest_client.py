"""The agencies' pooled HTTP client keeps no cookie from one call to the next."""

from __future__ import annotations

import asyncio

import httpx

from adapters.rest_client import pooled_client


def test_a_cookie_an_agency_sets_is_never_sent_back() -> None:
    seen: list[str | None] = []

    def agency(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("cookie"))
        return httpx.Response(200, headers={"set-cookie": "SESSION=abc; Path=/"}, text="ok")

    async def two_calls() -> None:
        client = pooled_client("http://agency.test", timeout_s=1, connect_timeout_s=1, max_connections=2)
        client._transport = httpx.MockTransport(agency)  # the pool's settings, a transport that answers here
        async with client:
            for _ in range(2):
                assert (await client.post("/op", content=b"x")).status_code == 200
            assert not client.cookies

    asyncio.run(two_calls())
    assert seen == [None, None]
