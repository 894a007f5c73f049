"""A case system's webhook endpoint, run as its own process by the end-to-end test:

    python -m tests.inbound.subscriber --port 9000 --out deliveries.jsonl --fail-share 0.1

It fails a share of all delivery attempts (503, drawn from a seeded generator), checks the hub's detached
JWS on every delivery it keeps, drops a repeat by its delivery id, and appends one JSON line per delivery
it kept: the test reads that file."""

from __future__ import annotations

import argparse
import json
import random
import threading
from pathlib import Path

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import Response

from adapters.jws_envelope import JwsVerifier
from adapters.trust_store import TrustStore


def build(out: Path, fail_share: float, seed: int, key_dir: Path) -> FastAPI:
    app = FastAPI()
    verifier = JwsVerifier(TrustStore.load(key_dir))
    rng = random.Random(seed)
    lock = threading.Lock()
    kept: set[str] = set()

    @app.post("/hook")
    async def hook(request: Request) -> Response:
        body = await request.body()
        delivery = request.headers["x-thads-delivery-id"]
        with lock:
            if rng.random() < fail_share:
                return Response(status_code=503)
            verifier.verify(request.headers["x-jws-signature"], body)
            if delivery in kept:
                return Response(status_code=204)
            kept.add(delivery)
            payload = json.loads(body)
            with out.open("a", encoding="utf-8") as f:
                f.write(json.dumps({"delivery_id": delivery, "intake_id": payload["intake"]["id"],
                                    "number": payload["intake"]["judgment"]["number"]["text"]}) + "\n")
        return Response(status_code=204)

    @app.get("/health")
    async def health() -> dict[str, int]:
        return {"kept": len(kept)}

    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--key-dir", type=Path, required=True)
    parser.add_argument("--fail-share", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    uvicorn.run(build(args.out, args.fail_share, args.seed, args.key_dir), host="127.0.0.1", port=args.port,
                log_level="warning")


if __name__ == "__main__":
    main()
