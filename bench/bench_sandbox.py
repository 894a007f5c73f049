"""Signed look-ups per second the sandbox answers (faults off), next to its own crypto cost in the same run.

    .venv/bin/python bench/bench_sandbox.py [--seconds S] [--concurrency C] [--rounds R]

The sandbox runs as it does for testers (`create_sandbox_app` under uvicorn, one process); a client in
this process sends signed land-registry look-ups (SOAP 1.2, hub-signed envelope) over HTTP keep-alive.
Per answer the sandbox verifies the hub's signature and signs its answer; the same two operations are
timed here on one core, so "sandbox answers / crypto floor" says how close the mock comes to the bound
its cryptography sets. The target from the Sandbox II issue: at least 300 signed look-ups per second on
this 2-core machine, so the sandbox never bounds the hub's benchmarks.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
from lxml import etree

from adapters import soap_envelope
from adapters.envelope import EnvelopeFields, EnvelopeSigner, EnvelopeVerifier, build_envelope
from adapters.trust_store import TrustStore
from hub.agency_ids import sandbox_agencies
from hub.trust.pki_init import init_pki

LAND_NS = "urn:vn:gov:tnmt:dangkydatdai:1"
SEED, CITIZENS = 2026, 10_000


def _serve(key_dir: str, port: int) -> None:
    import uvicorn

    from sandbox_mocks.app import create_sandbox_app
    from sandbox_mocks.config import SandboxConfig

    app = create_sandbox_app(SandboxConfig(key_dir=Path(key_dir), port=port, seed=SEED, citizens=CITIZENS))
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="error", access_log=False)


def _request(signer: EnvelopeSigner, person_id: str) -> bytes:
    now = dt.datetime.now(dt.UTC)
    header = EnvelopeFields(message_id=str(uuid.uuid4()), from_agency="hub", to_agency="land", service="land",
                            operation="TraCuuThuaDatTheoChuSoHuu", created=now, expires=now + dt.timedelta(minutes=30),
                            case_ref="BENCH-1", officer="bench", purpose="benchmark")
    body = etree.Element(f"{{{LAND_NS}}}TraCuuThuaDatTheoChuSoHuu", nsmap={"dd": LAND_NS})
    etree.SubElement(body, f"{{{LAND_NS}}}SoDinhDanh").text = person_id
    return soap_envelope.wrap(signer.sign(build_envelope(header, body)))


async def _load(url: str, requests: list[bytes], seconds: float, concurrency: int) -> tuple[int, int]:
    done = errors = 0
    stop = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        async def worker(k: int) -> None:
            nonlocal done, errors
            i = k
            while time.perf_counter() < stop:
                r = await client.post(url, content=requests[i % len(requests)],
                                      headers={"content-type": soap_envelope.CONTENT_TYPE})
                if r.status_code == 200:
                    done += 1
                else:
                    errors += 1
                i += concurrency
        await asyncio.gather(*(worker(k) for k in range(concurrency)))
    return done, errors


def _crypto_floor(key_dir: Path, request: bytes, answer: bytes, n: int = 200) -> float:
    """Median seconds for what the sandbox must do per answer: verify the request, sign the answer."""
    verifier = EnvelopeVerifier(TrustStore.load(key_dir))
    land = EnvelopeSigner.from_key_dir(key_dir, "land")
    req_env = etree.tostring(soap_envelope.unwrap(request))
    answer_body = EnvelopeVerifier(TrustStore.load(key_dir)).verify(etree.tostring(soap_envelope.unwrap(answer))).body
    times = []
    for _ in range(n):
        t = time.perf_counter()
        verified = verifier.verify(req_env)
        land.sign(build_envelope(verified.header, answer_body))
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    key_dir = Path(tempfile.mkdtemp()) / "pki"
    init_pki(key_dir, sandbox_agencies())
    port = 18100 + os.getpid() % 1000
    server = multiprocessing.get_context("spawn").Process(target=_serve, args=(str(key_dir), port), daemon=True)
    server.start()
    url = f"http://127.0.0.1:{port}/land"
    for _ in range(200):
        try:
            httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
            break
        except httpx.HTTPError:
            time.sleep(0.1)
    from sandbox_mocks.seed.world import build_world

    world = build_world(seed=SEED, citizens=CITIZENS)
    owners = [c.person_id for c in world.citizens if world.parcels_of(c.person_id)][:500]
    hub = EnvelopeSigner.from_key_dir(key_dir, "hub")
    requests = [_request(hub, p) for p in owners]
    first = httpx.post(url, content=requests[0], headers={"content-type": soap_envelope.CONTENT_TYPE})
    assert first.status_code == 200, first.text
    rates = []
    for _ in range(args.rounds):
        done, errors = asyncio.run(_load(url, requests, args.seconds, args.concurrency))
        rates.append(done / args.seconds)
        assert errors == 0, f"{errors} errors"
    floor = _crypto_floor(key_dir, requests[0], first.content)
    server.terminate()
    rate = statistics.median(rates)
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}; sandbox in 1 uvicorn process, "
          f"client in another, {args.concurrency} concurrent keep-alive connections, {args.rounds} rounds of "
          f"{args.seconds:.0f} s, world {CITIZENS} citizens")
    print(f"signed land look-ups answered: {rate:,.0f}/s (median of {', '.join(f'{r:,.0f}' for r in rates)})")
    print(f"sandbox crypto floor per answer (verify request + sign answer, one core): {floor * 1e6:,.0f} µs "
          f"= {1 / floor:,.0f}/s")
    print(f"answered / crypto floor: {rate * floor:.2f}  (1.00 = the sandbox does nothing but its cryptography)")
    print(f"target >= 300/s: {'met' if rate >= 300 else 'NOT met'}")


if __name__ == "__main__":
    main()
