"""Signed envelopes: what the hub's sign and verify paths cost next to the raw cryptography they wrap.

    .venv/bin/python bench/bench_envelope.py [--seconds N] [--rounds N] [--body-elements N]

A sandbox PKI is made in a temporary directory (``init_pki`` with the sandbox agencies), one realistic
envelope is built (a judgment-like business document in its own namespace, Vietnamese text), and for
RSA-2048 (agency ``court``) and ECDSA P-256 (agency ``bank-970436``) every path below is timed in the
same run, interleaved round by round, so the ratios compare numbers taken under the same conditions:

- hub sign: ``EnvelopeSigner.sign_bytes`` (signxml, then serialisation to bytes);
- hub verify: ``EnvelopeVerifier.verify`` (hardened parse, envelope XSD, shape checks, trust store,
  signxml, header/window checks, canonical hashes);
- raw sign floor: exclusive C14N of the envelope + SHA-256 + C14N of a SignedInfo + the private-key
  signature with ``cryptography``: the least any enveloped XML-DSig signer has to do;
- raw verify floor: lxml parse + C14N of SignedInfo + public-key verify + C14N of the envelope without
  its signature + SHA-256 compared with DigestValue;
- PEM reload (read + ``load_pem_private_key`` + sign) against a key object loaded once;
- signxml's sign and verify as the hub runs them (its tree copies made in memory, ``adapters.dsig_copies``)
  next to signxml as released (every copy serialised and parsed again);
- detached JWS sign and verify (``adapters.jws_envelope``) against the raw signature of the same input;
- where the time goes: the hub verify and sign paths replayed step by step (mirroring
  ``EnvelopeVerifier.verify`` and ``EnvelopeSigner.sign_bytes``), each step timed inside the sequence,
  with signxml's internal tree copies (its ``_fromstring`` / ``_tostring``) counted and timed through a
  subclass; next to each step, the same step looped on its own ("alone"), which reads lower because
  a hot loop keeps its code and data in cache.

Every call is timed on its own with ``time.perf_counter_ns``; a case's figure is the median over all
its calls in all rounds, and "spread" is (max - min) / median of the per-round medians. Garbage
collection is off while a batch runs. Nothing here asserts on timing; the script only checks once,
before timing, that the raw floors compute the same digest and accept the same signature as the hub.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import gc
import hashlib
import importlib.metadata
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.backends.openssl import backend as openssl_backend
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from lxml import etree
from signxml import XMLSigner, XMLVerifier

from adapters.dsig_copies import InMemorySigner, InMemoryVerifier
from adapters.envelope import (
    DS,
    NS,
    EnvelopeFields,
    EnvelopeSigner,
    EnvelopeVerifier,
    build_envelope,
    canonical_hash,
    check_window,
    read_header,
)
from adapters.jws_envelope import JwsSigner, JwsVerifier
from adapters.pki import PrivateKey, fingerprint
from adapters.trust_store import TrustStore
from adapters.xml_hardened import parse_xml
from hub.agency_ids import sandbox_agencies
from hub.trust.pki_init import init_pki

JUDGMENT_NS = "urn:example:court:judgment:1"
ALGORITHMS = (("RSA-2048", "court"), ("ECDSA P-256", "bank-970436"))

# The fixed part of the judgment: (parent, tag, text); parent None is the document root.
_FIXED: tuple[tuple[str | None, str, str | None], ...] = (
    (None, "SoBanAn", "12/2024/DS-ST"),
    (None, "NgayTuyenAn", "2024-03-15"),
    (None, "ToaAn", "Tòa án nhân dân quận Hoàn Kiếm, thành phố Hà Nội"),
    (None, "ThamPhanChuToa", "Trần Thị Thu Hương"),
    (None, "ThuKyPhienToa", "Phạm Minh Đức"),
    (None, "LoaiVuViec", "Tranh chấp hợp đồng vay tài sản"),
    (None, "NguyenDon", None),
    ("NguyenDon", "HoVaTen", "Nguyễn Văn Hoà"),
    ("NguyenDon", "SoDinhDanh", "001084000123"),
    ("NguyenDon", "DiaChi", "Số 18 phố Hàng Bài, phường Tràng Tiền, quận Hoàn Kiếm, Hà Nội"),
    (None, "BiDon", None),
    ("BiDon", "HoVaTen", "Lê Thị Ngọc Ánh"),
    ("BiDon", "SoDinhDanh", "079190004567"),
    ("BiDon", "DiaChi", "Số 245 đường Nguyễn Trãi, phường Thượng Đình, quận Thanh Xuân, Hà Nội"),
    (None, "SoTienPhaiTra", "350000000"),
    (None, "AnPhi", "17500000"),
    (None, "QuyetDinh", None),
)
_PARAGRAPHS = (
    "Buộc bị đơn phải trả cho nguyên đơn số tiền nợ gốc là 350.000.000 đồng (ba trăm năm mươi triệu đồng).",
    "Kể từ ngày bản án có hiệu lực pháp luật và người được thi hành án có đơn yêu cầu thi hành án, "
    "nếu người phải thi hành án chậm trả tiền thì phải chịu lãi theo quy định tại Điều 357 Bộ luật Dân sự.",
    "Bị đơn phải chịu án phí dân sự sơ thẩm là 17.500.000 đồng; hoàn trả cho nguyên đơn tiền tạm ứng án phí "
    "đã nộp theo biên lai thu số 0001234 ngày 10 tháng 01 năm 2024 của Chi cục Thi hành án dân sự.",
    "Trường hợp bản án được thi hành theo quy định tại Điều 2 Luật Thi hành án dân sự thì người được thi hành "
    "án, người phải thi hành án có quyền thỏa thuận thi hành án, quyền yêu cầu thi hành án, tự nguyện thi hành án.",
    "Các đương sự có quyền kháng cáo bản án trong thời hạn 15 ngày kể từ ngày tuyên án; đương sự vắng mặt "
    "có quyền kháng cáo trong thời hạn 15 ngày kể từ ngày nhận được bản án hoặc bản án được niêm yết.",
)


def judgment_document(elements: int) -> etree._Element:
    """A judgment of exactly ``elements`` elements (root included): fixed fields, then decision items."""
    doc = etree.Element(f"{{{JUDGMENT_NS}}}BanAn", nsmap={"ba": JUDGMENT_NS})
    by_name: dict[str, etree._Element] = {}
    for parent, tag, text in _FIXED:
        el = etree.SubElement(by_name[parent] if parent else doc, f"{{{JUDGMENT_NS}}}{tag}")
        el.text = text
        if parent is None:
            by_name[tag] = el
    for i in range(elements - 1 - len(_FIXED)):
        item = etree.SubElement(by_name["QuyetDinh"], f"{{{JUDGMENT_NS}}}Muc")
        item.text = f"{i + 1}. {_PARAGRAPHS[i % len(_PARAGRAPHS)]}"
    return doc


def judgment_json(doc: etree._Element) -> bytes:
    """The same document as the JSON body a detached JWS would travel beside."""

    def to_obj(el: etree._Element) -> object:
        if len(el) == 0:
            return el.text
        children = [(etree.QName(c).localname, to_obj(c)) for c in el]
        if all(name == "Muc" for name, _ in children):
            return [value for _, value in children]
        return dict(children)

    return json.dumps(to_obj(doc), ensure_ascii=False, separators=(",", ":")).encode()


def header_for(agency: str) -> EnvelopeFields:
    now = dt.datetime.now(dt.UTC)
    return EnvelopeFields(message_id=f"msg-{uuid.uuid4()}", from_agency=agency, to_agency="hub",
                          service="judgments", operation="SubmitJudgment", created=now,
                          expires=now + dt.timedelta(hours=2), case_ref="THADS-82-2024-0001",
                          officer="Lê Văn Tám", purpose="Thụ lý bản án để tổ chức thi hành án")


# --- measurement -------------------------------------------------------------------------------------


@dataclass
class Case:
    algo: str
    key: str
    label: str
    fn: Callable[[], object]
    per_round: int = 1
    samples: list[int] = field(default_factory=list)
    round_medians: list[float] = field(default_factory=list)
    # For a sequence case: nanoseconds per stage, one entry per call (the warm-up's are dropped).
    stage_ns: dict[str, list[int]] = field(default_factory=dict)

    @property
    def median_us(self) -> float:
        return statistics.median(self.samples) / 1000

    @property
    def spread(self) -> float:
        med = statistics.median(self.round_medians)
        return (max(self.round_medians) - min(self.round_medians)) / med if med else 0.0


def _batch(fn: Callable[[], object], n: int) -> list[int]:
    clock = time.perf_counter_ns
    out = []
    gc.collect()
    gc.disable()
    try:
        for _ in range(n):
            t0 = clock()
            fn()
            out.append(clock() - t0)
    finally:
        gc.enable()
    return out


def run_cases(cases: list[Case], seconds: float, rounds: int) -> None:
    """Warm each case up, size its batch to ``seconds / rounds``, then run the rounds interleaved."""
    per_round_ns = seconds / rounds * 1e9
    for case in cases:
        warm = _batch(case.fn, 3)
        deadline = time.perf_counter_ns() + int(min(0.15, seconds / 5) * 1e9)
        while time.perf_counter_ns() < deadline:
            warm += _batch(case.fn, 5)
        case.per_round = max(5, int(per_round_ns / statistics.median(warm)))
        case.stage_ns.clear()
    for r in range(rounds):
        # A different order each round so no case always runs right after the same neighbour.
        order = cases[r % len(cases):] + cases[:r % len(cases)]
        for case in order:
            got = _batch(case.fn, case.per_round)
            case.samples += got
            case.round_medians.append(statistics.median(got))


# --- the paths ---------------------------------------------------------------------------------------


def _sign_raw(key: PrivateKey, data: bytes) -> bytes:
    if isinstance(key, rsa.RSAPrivateKey):
        return key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    return key.sign(data, ec.ECDSA(hashes.SHA256()))


def _verify_raw(public: object, signature: bytes, data: bytes) -> None:
    if isinstance(public, rsa.RSAPublicKey):
        public.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
    elif isinstance(public, ec.EllipticCurvePublicKey):
        public.verify(signature, data, ec.ECDSA(hashes.SHA256()))
    else:
        raise TypeError(type(public))


def _der_from_xmldsig(value: bytes) -> bytes:
    """XML-DSig carries an ECDSA signature as r||s; cryptography wants it DER-encoded."""
    return encode_dss_signature(int.from_bytes(value[:32], "big"), int.from_bytes(value[32:], "big"))


class _CopyClock:
    """Counts and times signxml's own tree copies (``_fromstring`` / ``_tostring``) inside one call."""

    def __init__(self) -> None:
        self.ns = 0
        self.parses = 0
        self.serialisations = 0

    def start(self) -> None:
        self.ns = self.parses = self.serialisations = 0


def _timed(base: type[XMLSigner] | type[XMLVerifier], clock: _CopyClock) -> type:
    class Timed(base):  # type: ignore[valid-type, misc]
        def _fromstring(self, xml_string: bytes, **kwargs: object) -> etree._Element:
            t0 = time.perf_counter_ns()
            try:
                return super()._fromstring(xml_string, **kwargs)
            finally:
                clock.ns += time.perf_counter_ns() - t0
                clock.parses += 1

        def _tostring(self, xml_node: etree._Element, **kwargs: object) -> bytes:
            t0 = time.perf_counter_ns()
            try:
                return super()._tostring(xml_node, **kwargs)
            finally:
                clock.ns += time.perf_counter_ns() - t0
                clock.serialisations += 1

    return Timed


def build_cases(algo: str, agency: str, key_dir: Path, trust: TrustStore, verifier: EnvelopeVerifier,
                body_elements: int) -> tuple[list[Case], dict[str, object]]:
    signer = EnvelopeSigner.from_key_dir(key_dir, agency)
    key, cert = signer.key, signer.cert
    public = cert.public_key()
    envelope = build_envelope(header_for(agency), judgment_document(body_elements))
    signed = signer.sign_bytes(envelope)
    verifier.verify(signed, expected_to="hub")  # the hub accepts it before anything is timed

    # The SignedInfo the hub produced: the floors canonicalise an element of exactly this size.
    signed_root = etree.fromstring(signed)
    si_template = signed_root.find(f"{{{DS}}}Signature/{{{DS}}}SignedInfo")
    digest_el = si_template.find(f".//{{{DS}}}DigestValue")
    hub_digest = digest_el.text

    def sign_floor() -> bytes:
        digest = hashlib.sha256(etree.tostring(envelope, method="c14n", exclusive=True)).digest()
        digest_el.text = base64.b64encode(digest).decode()
        si_c14n = etree.tostring(si_template, method="c14n", exclusive=True)
        return _sign_raw(key, si_c14n)

    plain_parser = etree.XMLParser(resolve_entities=False, no_network=True)

    def verify_floor() -> None:
        root = etree.fromstring(signed, plain_parser)
        sig = root[-1]
        si = sig[0]
        value = base64.b64decode(sig.find(f"{{{DS}}}SignatureValue").text)
        if isinstance(public, ec.EllipticCurvePublicKey):
            value = _der_from_xmldsig(value)
        _verify_raw(public, value, etree.tostring(si, method="c14n", exclusive=True))
        expected = si.find(f".//{{{DS}}}DigestValue").text
        root.remove(sig)
        digest = hashlib.sha256(etree.tostring(root, method="c14n", exclusive=True)).digest()
        if base64.b64encode(digest).decode() != expected:
            raise RuntimeError("digest mismatch")

    # Sanity, once: the sign floor computes the digest signxml put in the envelope, and the verify floor
    # accepts the hub's signature, so the floors do the same cryptographic work as the hub paths.
    sign_floor()
    if digest_el.text != hub_digest:
        raise RuntimeError(f"{algo}: the sign floor's digest differs from the hub's")
    digest_el.text = hub_digest
    verify_floor()

    si_bytes = etree.tostring(si_template, method="c14n", exclusive=True)
    si_signature = _sign_raw(key, si_bytes)
    pem_path = key_dir / f"{agency}.key"

    def pem_reload_sign() -> bytes:
        reloaded = serialization.load_pem_private_key(pem_path.read_bytes(), password=None)
        return _sign_raw(reloaded, si_bytes)  # type: ignore[arg-type]

    # JWS: the same document as JSON, detached; raw signature over the very signing input JWS signs.
    fields = header_for(agency)
    payload = judgment_json(judgment_document(body_elements))
    jws_signer = JwsSigner(key, cert)
    jws_verifier = JwsVerifier(trust)
    token = jws_signer.sign(fields, payload)
    jws_verifier.verify(token, payload)
    b64_payload = base64.urlsafe_b64encode(payload).rstrip(b"=")
    signing_input = token.split(".")[0].encode() + b"." + b64_payload
    jws_raw_sig = _sign_raw(key, signing_input)

    # Steps of the hub verify path looped alone (inputs prepared once, outside the timing).
    parsed = parse_xml(signed)
    cert_in_doc, claimed = verifier._vet_shape(parsed)
    now = dt.datetime.now(dt.UTC)
    signed_xml = InMemoryVerifier().verify(parsed, x509_cert=cert_in_doc, expect_config=verifier._config).signed_xml

    def signxml_verify() -> object:
        return InMemoryVerifier().verify(parsed, x509_cert=cert_in_doc, expect_config=verifier._config)

    def stock_verify() -> object:  # signxml as released: every tree copy serialised and parsed again
        return XMLVerifier().verify(parsed, x509_cert=cert_in_doc, expect_config=verifier._config)

    stock_signer = XMLSigner(signature_algorithm=signer._signer.sign_alg, digest_algorithm=signer._signer.digest_alg,
                             c14n_algorithm=signer._signer.c14n_alg)

    def stock_sign() -> object:
        return stock_signer.sign(envelope, key=key, cert=[cert])

    def tail(signed_xml: etree._Element = signed_xml, root: etree._Element = parsed,
             cert: x509.Certificate = cert_in_doc) -> object:
        header = read_header(signed_xml)
        check_window(header, dt.datetime.now(dt.UTC), verifier.clock_skew)
        body = signed_xml.find(f"{{{NS}}}Body")[0]
        return fingerprint(cert), canonical_hash(body), canonical_hash(root)

    sig_copy = etree.fromstring(etree.tostring(parsed[-1]))

    # The hub verify path again, step by step as EnvelopeVerifier.verify takes them, each step timed
    # inside the sequence: a step looped on its own keeps its code and data in cache and looks cheaper.
    copies = _CopyClock()
    timed_verifier = _timed(InMemoryVerifier, copies)
    verify_stages: dict[str, list[int]] = {}

    def verify_sequence() -> object:
        clock = time.perf_counter_ns
        copies.start()
        t0 = clock()
        root = parse_xml(signed)
        t1 = clock()
        verifier.schema.validate(root)
        t2 = clock()
        cert, claimed = verifier._vet_shape(root)
        t3 = clock()
        verifier.trust.check(cert, claimed, dt.datetime.now(dt.UTC))
        t4 = clock()
        result = timed_verifier().verify(root, x509_cert=cert, expect_config=verifier._config)
        t5 = clock()
        out = tail(result.signed_xml, root, cert)
        t6 = clock()
        for name, ns in (("parse", t1 - t0), ("xsd", t2 - t1), ("shape", t3 - t2), ("trust", t4 - t3),
                         ("signxml", t5 - t4), ("signxml_copies", copies.ns), ("tail", t6 - t5)):
            verify_stages.setdefault(name, []).append(ns)
        verify_stages.setdefault("copy_counts", []).append(copies.parses * 1000 + copies.serialisations)
        return out

    sign_copies = _CopyClock()
    timed_signer = _timed(InMemorySigner, sign_copies)(
        signature_algorithm=signer._signer.sign_alg, digest_algorithm=signer._signer.digest_alg,
        c14n_algorithm=signer._signer.c14n_alg)

    def sign_sequence() -> bytes:
        clock = time.perf_counter_ns
        sign_copies.start()
        t0 = clock()
        el = timed_signer.sign(envelope, key=key, cert=[cert])
        t1 = clock()
        out = etree.tostring(el, xml_declaration=True, encoding="UTF-8")
        t2 = clock()
        for name, ns in (("signxml", t1 - t0), ("signxml_copies", sign_copies.ns), ("serialise", t2 - t1)):
            sign_stages.setdefault(name, []).append(ns)
        sign_stages.setdefault("copy_counts", []).append(sign_copies.parses * 1000 + sign_copies.serialisations)
        return out

    sign_stages: dict[str, list[int]] = {}
    if verify_sequence() is None or etree.fromstring(sign_sequence()).find(f"{{{DS}}}Signature") is None:
        raise RuntimeError("the instrumented sequences do not run")

    c = [
        Case(algo, "hub_sign", "hub sign: EnvelopeSigner.sign_bytes", lambda: signer.sign_bytes(envelope)),
        Case(algo, "floor_sign", "raw sign floor: c14n+sha256+c14n(SignedInfo)+sign", sign_floor),
        Case(algo, "hub_verify", "hub verify: EnvelopeVerifier.verify", lambda: verifier.verify(signed,
                                                                                            expected_to="hub")),
        Case(algo, "floor_verify", "raw verify floor: parse+c14n+sha256+verify", verify_floor),
        Case(algo, "pem_sign", "PEM reload per call: read+load_pem+sign", pem_reload_sign),
        Case(algo, "once_sign", "key loaded once: sign(SignedInfo)", lambda: _sign_raw(key, si_bytes)),
        Case(algo, "once_verify", "public key: verify(SignedInfo)", lambda: _verify_raw(
            public, si_signature, si_bytes)),
        Case(algo, "jws_sign", "JWS detached sign: JwsSigner.sign", lambda: jws_signer.sign(fields, payload)),
        Case(algo, "jws_raw_sign", "raw sign of the JWS signing input", lambda: _sign_raw(key, signing_input)),
        Case(algo, "jws_verify", "JWS detached verify: JwsVerifier.verify", lambda: jws_verifier.verify(
            token, payload)),
        Case(algo, "jws_raw_verify", "raw verify of the JWS signing input", lambda: _verify_raw(
            public, jws_raw_sig, signing_input)),
        Case(algo, "seq_verify", "hub verify path, step by step", verify_sequence, stage_ns=verify_stages),
        Case(algo, "seq_sign", "hub sign path, step by step", sign_sequence, stage_ns=sign_stages),
        Case(algo, "parse", "", lambda: parse_xml(signed)),
        Case(algo, "xsd", "", lambda: verifier.schema.validate(parsed)),
        Case(algo, "shape", "", lambda: verifier._vet_shape(parsed)),
        Case(algo, "trust", "", lambda: verifier.trust.check(cert_in_doc, claimed, now)),
        Case(algo, "signxml_sign", "signxml sign, copies in memory (the hub's)", lambda: signer.sign(envelope)),
        Case(algo, "stock_sign", "signxml sign as released (copies via bytes)", stock_sign),
        Case(algo, "signxml_verify", "signxml verify, copies in memory (the hub's)", signxml_verify),
        Case(algo, "stock_verify", "signxml verify as released (copies via bytes)", stock_verify),
        Case(algo, "signxml_schema", "", lambda: XMLVerifier().validate_schema(sig_copy)),
        Case(algo, "tail", "", tail),
    ]
    facts = {"envelope_bytes": len(signed), "jws_payload_bytes": len(payload), "jws_token_bytes": len(token)}
    return c, facts


# --- report ------------------------------------------------------------------------------------------


def _versions() -> list[str]:
    def v(name: str) -> str:
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            return "?"

    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    libxml2 = ".".join(map(str, etree.LIBXML_VERSION))
    return [
        f"machine: nproc={usable} (cpu_count={os.cpu_count()}), {cpu}, {platform.system()} {platform.machine()}",
        f"python {platform.python_version()} ({platform.python_implementation()}), lxml {v('lxml')} "
        f"(libxml2 {libxml2}), signxml {v('signxml')}, cryptography {v('cryptography')} "
        f"({openssl_backend.openssl_version_text()}), joserfc {v('joserfc')}",
    ]


_ROWS = ("hub_sign", "floor_sign", "hub_verify", "floor_verify", "signxml_sign", "stock_sign", "signxml_verify",
         "stock_verify", "pem_sign", "once_sign", "once_verify", "jws_sign", "jws_raw_sign", "jws_verify",
         "jws_raw_verify")
# (stage key in the sequence or None, case timed alone or None, label)
_VERIFY_STAGES = (
    ("parse", "parse", "  1 hardened parse_xml (2 passes, limits)"),
    ("xsd", "xsd", "  2 envelope XSD validation"),
    ("shape", "shape", "  3 shape checks + KeyInfo certificate load"),
    ("trust", "trust", "  4 trust store: chain to CA, validity, pin"),
    ("signxml", "signxml_verify", "  5 signxml XMLVerifier.verify"),
    ("signxml_copies", None, "      of which its {copies}"),
    (None, "signxml_schema", "      its XML-DSig schema check"),
    ("tail", "tail", "  6 header, window, fingerprint, 2 canonical hashes"),
)
_SIGN_STAGES = (
    ("signxml", None, "  signxml XMLSigner.sign"),
    ("signxml_copies", None, "      of which its {copies}"),
    ("serialise", None, "  serialisation to bytes"),
)
_RATIOS = (
    ("hub_sign", "floor_sign", "hub sign / raw sign floor",
     "what signxml + serialisation cost beyond c14n, digest and the key operation"),
    ("hub_verify", "floor_verify", "hub verify / raw verify floor",
     "what hardening, XSD, shape + trust checks and signxml cost beyond parse, c14n, digest, key op"),
    ("stock_sign", "signxml_sign", "signxml sign: as released / in memory",
     "what signxml's serialise-and-parse tree copies cost (adapters/dsig_copies.py copies in memory)"),
    ("stock_verify", "signxml_verify", "signxml verify: as released / in memory",
     "the same for verification: the envelope copied twice and the Signature once"),
    ("pem_sign", "once_sign", "PEM reload / loaded once",
     "why EnvelopeSigner and load_key keep the key object instead of parsing the PEM per message"),
    ("jws_sign", "jws_raw_sign", "JWS sign / raw sign", "joserfc's overhead over the bare signature"),
    ("jws_verify", "jws_raw_verify", "JWS verify / raw verify",
     "x5c parse + trust store + joserfc over the bare verification"),
)


def _copies_label(case: Case) -> str:
    counts = statistics.median(case.stage_ns["copy_counts"])
    return f"{int(counts // 1000)} copies/parses, {int(counts % 1000)} in memory"


def report(cases: list[Case], facts: dict[str, dict[str, object]], args: argparse.Namespace) -> str:
    by = {(c.algo, c.key): c for c in cases}
    algos = [a for a, _ in ALGORITHMS]
    lw = 52
    out: list[str] = []
    head = f"{'path':<{lw}}" + "".join(f" | {a + ' µs':>14} {'ops/s':>8} {'spread':>6}" for a in algos)
    rule = "-" * len(head)

    def row(key: str) -> str:
        cells = ""
        for a in algos:
            c = by[(a, key)]
            cells += f" | {c.median_us:>14,.1f} {1e6 / c.median_us:>8,.0f} {c.spread:>6.0%}"
        return f"{by[(algos[0], key)].label:<{lw}}" + cells

    def stage_rows(seq_key: str, stages: tuple[tuple[str | None, str | None, str], ...]) -> list[str]:
        first = by[(algos[0], seq_key)].label
        rows = [f"{first:<{lw}}" + "".join(f" | {by[(a, seq_key)].median_us:>14,.1f} {'-':>8} {1:>6.0%}"
                                           for a in algos)]
        for stage, alone, label in stages:
            label = label.format(copies=_copies_label(by[(algos[0], seq_key)]))
            cells = ""
            for a in algos:
                seq = by[(a, seq_key)]
                total = seq.median_us
                in_seq = statistics.median(seq.stage_ns[stage]) / 1000 if stage else None
                alone_us = by[(a, alone)].median_us if alone else None
                cells += " | " + (f"{in_seq:>14,.1f}" if in_seq is not None else f"{'-':>14}")
                cells += f" {alone_us:>8,.1f}" if alone_us is not None else f" {'-':>8}"
                cells += f" {in_seq / total:>6.0%}" if in_seq is not None else f" {'':>6}"
            rows.append(f"{label:<{lw}}" + cells)
        return rows

    out += [head, rule, *(row(k) for k in _ROWS), rule]
    sub = f"{'where the time goes':<{lw}}" + "".join(f" | {'in sequence µs':>14} {'alone µs':>8} {'share':>6}"
                                                      for _ in algos)
    out += [sub, rule, *stage_rows("seq_verify", _VERIFY_STAGES), *stage_rows("seq_sign", _SIGN_STAGES)]
    out += [rule, f"{'ratio (same run, medians)':<{lw}}" + "".join(f" | {a:>30}" for a in algos)]
    for num, den, name, _ in _RATIOS:
        out.append(f"{name:<{lw}}" + "".join(
            f" | {by[(a, num)].median_us / by[(a, den)].median_us:>29.1f}x" for a in algos))
    out.append(rule)
    out += [f"- {name}: {meaning}" for _, _, name, meaning in _RATIOS]
    out += ["- where the time goes: each step timed inside the real sequence (share = of that sequence's median),"
            " and 'alone' = the same step looped on its own, which keeps it hot in cache and reads lower"]
    sizes = "; ".join(f"{a}: signed envelope {f['envelope_bytes']:,} B, JWS payload {f['jws_payload_bytes']:,} B"
                      for a, f in facts.items())
    out += [f"- body: {args.body_elements} elements of Vietnamese text; {sizes}",
            f"- {args.rounds} rounds x ~{args.seconds / args.rounds:.2f} s per path, interleaved; median of every "
            "call; spread = (max - min) / median of the round medians"]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--seconds", type=float, default=1.0,
                        help="measuring time per path and algorithm, split over the rounds (default 1.0)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds; medians are taken over all (default 5)")
    parser.add_argument("--body-elements", type=int, default=50,
                        help=f"elements in the business document, at least {len(_FIXED) + 1} (default 50)")
    args = parser.parse_args(argv)
    if args.body_elements < len(_FIXED) + 1:
        parser.error(f"--body-elements must be at least {len(_FIXED) + 1}")
    if args.seconds <= 0 or args.rounds < 1:
        parser.error("--seconds must be positive and --rounds at least 1")

    started = time.perf_counter()
    print(f"bench_envelope: {dt.datetime.now(dt.UTC).isoformat(timespec='seconds')}")
    for line in _versions():
        print(line)
    with tempfile.TemporaryDirectory(prefix="thads-bench-pki-") as tmp:
        key_dir = Path(tmp) / "keys"
        init_pki(key_dir, sandbox_agencies())
        trust = TrustStore.load(key_dir)
        verifier = EnvelopeVerifier(trust)
        cases: list[Case] = []
        facts: dict[str, dict[str, object]] = {}
        for algo, agency in ALGORITHMS:
            got, facts[algo] = build_cases(algo, agency, key_dir, trust, verifier, args.body_elements)
            cases += got
        print(f"timing {len(cases)} paths ({len(ALGORITHMS)} algorithms) ...", flush=True)
        run_cases(cases, args.seconds, args.rounds)
    print()
    print(report(cases, facts, args))
    print(f"\ntotal wall time {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
