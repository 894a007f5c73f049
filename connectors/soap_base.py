"""The life cycle every built-in SOAP connector shares: clients built once, closed once, a cheap health.

A subclass names its contract (``wsdl``, ``xsd``, ``binding``) and implements its operations; the
zeep client, the pooled httpx client and the compiled answer schema are built here, lazily and once.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import ClassVar

import httpx

from adapters.envelope import EnvelopeVerifier
from adapters.rest_client import pooled_client
from adapters.soap_client import SoapAgencyClient
from adapters.xsd import CompiledSchema
from hub.connector import Connector, ConnectorContext, Health


class SoapConnector(Connector):
    wsdl: ClassVar[Path]
    xsd: ClassVar[Path]
    binding: ClassVar[str]  # "{namespace}LocalName" of the WSDL binding

    def __init__(self, ctx: ConnectorContext) -> None:
        super().__init__(ctx)
        self._http: httpx.AsyncClient | None = None
        self._client: SoapAgencyClient | None = None
        self._schema: CompiledSchema | None = None
        self._start_lock = asyncio.Lock()

    def _configure_http(self, http: httpx.AsyncClient) -> None:
        """Hook for a connector that needs event hooks or headers on its pooled client."""

    async def start(self) -> None:
        async with self._start_lock:
            if self._client is not None:
                return
            config = self.ctx.config
            http = pooled_client(config.base_url, timeout_s=config.timeout_s,
                                 connect_timeout_s=config.connect_timeout_s, max_connections=config.concurrency)
            self._configure_http(http)
            try:
                # zeep reads the WSDL and its schemas from local files, synchronously: off the event loop.
                self._client = await asyncio.to_thread(
                    SoapAgencyClient, self.wsdl, agency_id=self.agency_id, address=config.base_url,
                    binding=self.binding, signer=self.ctx.xml_signer, verifier=EnvelopeVerifier(self.ctx.trust),
                    http=http, operation_timeout=config.timeout_s)
                self._schema = await asyncio.to_thread(CompiledSchema.load, self.xsd)
            except BaseException:
                await http.aclose()
                raise
            self._http = http

    async def aclose(self) -> None:
        client, http = self._client, self._http
        self._client, self._http = None, None
        if client is not None:
            client.transport.wsdl_client.close()
        if http is not None:
            await http.aclose()

    async def health(self) -> Health:
        """GET of the agency's WSDL (its contract URL): cheap, signs nothing, asks about no one."""
        await self.start()
        assert self._http is not None
        config = self.ctx.config
        url = config.wsdl or f"{config.base_url.rstrip('/')}?wsdl"
        try:
            breaker: str | None = (await self.ctx.guard.breaker.state()).value
        except Exception:  # Redis down: the agency may still be fine; say what is known
            breaker = None
        started = time.perf_counter()
        try:
            response = await self._http.get(url, timeout=min(config.timeout_s, 5.0))
        except httpx.HTTPError as exc:
            return Health(self.agency_id, False, f"{url}: {type(exc).__name__}", None, breaker)
        latency = int((time.perf_counter() - started) * 1000)
        marker = self.binding.rsplit("}", 1)[-1].encode()
        ok = response.status_code == 200 and marker in response.content
        detail = "contract served" if ok else f"{url}: HTTP {response.status_code}"
        return Health(self.agency_id, ok, detail, latency, breaker)
