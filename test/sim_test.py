#!/usr/bin/env python3
"""Tests of the Mono API simulator (test/mono_sim.py).

Starts the simulator as a subprocess on a free port and checks, over real
HTTP, that it serves doc/mono-api.md faithfully and that its
control endpoints behave as documented in test/SIMULATOR.md.

Run: python3 test/sim_test.py
"""

import http.client
import http.server
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SIM = os.path.join(HERE, "mono_sim.py")
SECRET = "sk_test_mono_pay"
WH_SECRET = "whsec_test_mono_pay"
CONNECT_SECRET = "sk_test_mono_pay_connect"
CONNECT_WH_SECRET = "whsec_test_mono_pay_connect"
APP_KEY = object()      # call(): the key of the path's app
PHONE = "2348012345678"
PHONE2 = "2348098765432"

PORT = None
PROC = None


def start_sim(*extra):
    """Start a simulator subprocess; returns (process, port)."""
    d = tempfile.mkdtemp(prefix="mono_sim_test_")
    port_file = os.path.join(d, "port")
    proc = subprocess.Popen([sys.executable, SIM, "--port", "0", "--port-file", port_file] + list(extra),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 10
    while time.time() < deadline:
        if os.path.exists(port_file):
            with open(port_file) as f:
                text = f.read()
            if text.endswith("\n"):
                return proc, int(text)
        if proc.poll() is not None:
            raise RuntimeError("simulator died: " + proc.stderr.read())
        time.sleep(0.02)
    proc.kill()
    raise RuntimeError("simulator did not write its port file")


def stop_sim(proc):
    """Stop a simulator with SIGTERM and return its exit code."""
    proc.send_signal(signal.SIGTERM)
    try:
        rc = proc.wait(timeout=5)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stdout.close()
        proc.stderr.close()
    return rc


def setUpModule():
    """Start the shared simulator."""
    global PROC, PORT
    PROC, PORT = start_sim()


def tearDownModule():
    """Stop the shared simulator."""
    stop_sim(PROC)


class Resp:
    """A decoded HTTP answer."""

    def __init__(self, status, headers, raw):
        self.status = status
        self.headers = headers
        self.raw = raw
        try:
            self.json = json.loads(raw.decode()) if raw else None
        except ValueError:
            self.json = None


def call(method, path, body=None, key=APP_KEY, headers=None, port=None, timeout=10):
    """One HTTP request on a fresh connection; returns a Resp (by default with
    the connect app's key on /v2, the payments app's elsewhere)."""
    conn = http.client.HTTPConnection("127.0.0.1", port or PORT, timeout=timeout)
    h = dict(headers or {})
    if key is APP_KEY:
        key = CONNECT_SECRET if path.startswith("/v2/") else SECRET
    if key is not None:
        h["mono-sec-key"] = key
    data = None
    if body is not None:
        data = body if isinstance(body, (bytes, str)) else json.dumps(body)
        h["Content-Type"] = "application/json"
    try:
        conn.request(method, path, body=data, headers=h)
        r = conn.getresponse()
        return Resp(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
    finally:
        conn.close()


def sim(method, path, body=None):
    """Call a control endpoint and return the decoded JSON (asserting 2xx)."""
    r = call(method, path, body, key=None)
    assert 200 <= r.status < 300, (method, path, r.status, r.raw)
    return r.json


def fr_body(ref="REF0000001", **over):
    """A valid onetime fund request body."""
    b = {"phone": PHONE, "reference": ref, "type": "onetime", "description": "School fees",
         "amount": 500000, "currency": "NGN"}
    b.update(over)
    return b


def recurring_body(ref="REC0000001", **over):
    """A valid recurring fund request body."""
    b = fr_body(ref, type="recurring", schedule={"period": "month", "interval": 1,
                                                 "start_date": "2025-07-01"})
    b.update(over)
    return b


def link_body(**over):
    """A valid link body (bvn included)."""
    b = {"phone": PHONE, "bvn": "12345678901",
         "fund_beneficiary": {"name": "Ada Obi", "nip_code": "000013", "account_number": "0123456789"}}
    b.update(over)
    return b


def events(since=0):
    """The webhook listing's decoded bodies."""
    return [json.loads(w["body"]) for w in sim("GET", "/_sim/webhooks?since=%d" % since)["webhooks"]]


def event_names(since=0):
    """Names of listed events, in order."""
    return [e["event"] for e in events(since)]


def keys_deep(obj):
    """Every key anywhere in a JSON value."""
    if isinstance(obj, dict):
        out = set(obj)
        for v in obj.values():
            out |= keys_deep(v)
        return out
    if isinstance(obj, list):
        return set().union(*[keys_deep(v) for v in obj]) if obj else set()
    return set()


class SimCase(unittest.TestCase):
    """Base: reset the simulator before each test."""

    def setUp(self):
        """Reset simulator state."""
        sim("POST", "/_sim/reset")

    def assertFields(self, r, fields, status=400):
        """Assert a validation error naming exactly these fields."""
        self.assertEqual(r.status, status, r.raw)
        self.assertEqual(r.json["status"], "error")
        self.assertEqual(r.json["message"], "Invalid payload")
        self.assertEqual(sorted({e["field"] for e in r.json["errors"]}), sorted(fields), r.raw)

    def create_approved(self, body):
        """Create a fund request and approve it; returns the object."""
        r = call("POST", "/owo/v1/fund-requests", body)
        self.assertEqual(r.status, 202, r.raw)
        return sim("POST", "/_sim/fund-requests/%s/approve" % body["reference"])


class TransportTest(SimCase):
    """HTTP plumbing."""

    def test_health_keepalive_content_length(self):
        """Several requests reuse one connection and every answer has Content-Length."""
        conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=5)
        conn.request("GET", "/_sim/health")
        r = conn.getresponse()
        self.assertEqual(json.loads(r.read()), {"ok": True})
        sock = conn.sock
        for path in ("/owo/v1/users/status?phone=" + PHONE, "/nope", "/v2/accounts/x"):
            conn.request("GET", path, headers={"mono-sec-key": SECRET})
            r = conn.getresponse()
            self.assertIsNotNone(r.getheader("Content-Length"))
            r.read()
            self.assertIs(conn.sock, sock)
        conn.close()

    def test_auth(self):
        """Wrong or missing key answers 401 with an error body."""
        for key in ("wrong", None):
            r = call("GET", "/owo/v1/users/status?phone=" + PHONE, key=key)
            self.assertEqual(r.status, 401)
            self.assertEqual(r.json["status"], "error")
            self.assertEqual(r.json["message"], "Invalid authentication credentials")
            self.assertEqual(len(r.json["trace_id"]), 36)
            self.assertRegex(r.json["timestamp"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
            self.assertNotIn("errors", r.json)
        self.assertEqual(call("GET", "/v2/accounts/a", key="bad").status, 401)

    def test_404_405(self):
        """Unknown path 404, wrong method 405."""
        r = call("GET", "/owo/v1/nothing")
        self.assertEqual(r.status, 404)
        self.assertEqual(r.json["status"], "error")
        r = call("GET", "/owo/v1/beneficiaries/unlink")
        self.assertEqual(r.status, 404)  # read of an unknown beneficiary id
        r = call("DELETE", "/owo/v1/fund-requests")
        self.assertEqual(r.status, 405)
        self.assertIn("POST", r.headers["allow"])

    def test_sigterm_and_webhook_url(self):
        """A second simulator POSTs webhooks to --webhook-url and exits 0 on SIGTERM."""
        got = []

        class Rx(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                got.append((self.headers["mono-webhook-secret"], body.decode()))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a):
                pass

        rx = http.server.HTTPServer(("127.0.0.1", 0), Rx)
        threading.Thread(target=rx.serve_forever, daemon=True).start()
        proc, port = start_sim("--webhook-url", "http://127.0.0.1:%d/hook" % rx.server_address[1],
                               "--webhook-secret", "whsec_other")
        try:
            self.assertEqual(proc.stdout.readline().strip(),
                             "mono simulator listening on http://127.0.0.1:%d" % port)
            r = call("POST", "/_sim/webhooks/emit", {"event": "x.y", "data": {"a": 1}}, key=None, port=port)
            self.assertEqual(r.status, 200)
            deadline = time.time() + 5
            while not got and time.time() < deadline:
                time.sleep(0.02)
            self.assertEqual(len(got), 1)
            self.assertEqual(got[0][0], "whsec_other")
            self.assertEqual(got[0][1], r.json["body"])
        finally:
            self.assertEqual(stop_sim(proc), 0)
            rx.shutdown()
            rx.server_close()


    def test_webhook_url_retries(self):
        """A delivery answered 503 (or cut) is retried until a 200; the counts say so."""
        answers = [503, 503, 200]
        got = []

        class Rx(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                got.append(body.decode())
                self.send_response(answers[min(len(got), len(answers)) - 1])
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a):
                pass

        rx = http.server.HTTPServer(("127.0.0.1", 0), Rx)
        threading.Thread(target=rx.serve_forever, daemon=True).start()
        proc, port = start_sim("--webhook-url", "http://127.0.0.1:%d/hook" % rx.server_address[1],
                               "--webhook-retries", "3", "--webhook-retry-base", "0.05")
        try:
            proc.stdout.readline()
            r = call("POST", "/_sim/webhooks/emit", {"event": "x.y", "data": {}}, key=None, port=port)
            self.assertEqual(r.status, 200)
            deadline = time.time() + 10
            d = {}
            while time.time() < deadline:
                d = call("GET", "/_sim/webhooks/deliveries", key=None, port=port).json
                if d["delivered"] == 1:
                    break
                time.sleep(0.05)
            self.assertEqual(len(got), 3)
            self.assertEqual(len(set(got)), 1)
            self.assertEqual((d["attempts"], d["delivered"], d["retried"], d["gave_up"]), (3, 1, 2, 0))
            self.assertEqual(d["by_status"], {"503": 2, "200": 1})
        finally:
            self.assertEqual(stop_sim(proc), 0)
            rx.shutdown()
            rx.server_close()

class UserStatusTest(SimCase):
    """GET /owo/v1/users/status."""

    def status(self, phone):
        """Query a phone's status."""
        return call("GET", "/owo/v1/users/status?phone=" + phone)

    def test_seeded_and_unknown(self):
        """Seeded statuses come back verbatim; unknown phones are not_found."""
        sim("POST", "/_sim/users", {"phone": PHONE, "status": "active"})
        sim("POST", "/_sim/users", {"phone": PHONE2, "status": "pending_activiation"})
        r = self.status(PHONE)
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json["status"], "successful")
        self.assertEqual(r.json["data"], {"exists": True, "status": "active"})
        self.assertEqual(self.status(PHONE2).json["data"], {"exists": True, "status": "pending_activiation"})
        r = self.status("2348000000001")
        self.assertEqual((r.status, r.json["data"]), (200, {"exists": False, "status": "not_found"}))
        sim("POST", "/_sim/config", {"not_found_as_404": True})
        r = self.status("2348000000001")
        self.assertEqual(r.status, 404)
        self.assertEqual(r.json["message"], "User not found")
        self.assertEqual(self.status(PHONE).status, 200)

    def test_phone_validation(self):
        """Malformed phones answer 400 naming the phone field."""
        for bad in ("08012345678", "%2B2348012345678", "23480123456789", "234801234567", "", "abc"):
            self.assertFields(self.status(bad), ["phone"])
        self.assertFields(call("GET", "/owo/v1/users/status"), ["phone"])


class LinkValidationTest(SimCase):
    """POST /owo/v1/beneficiaries/link validation (§2.2)."""

    def post(self, body):
        """Post a link body."""
        return call("POST", "/owo/v1/beneficiaries/link", body)

    def test_each_rule(self):
        """Each broken rule alone gives 400 naming its field."""
        sim("POST", "/_sim/users", {"phone": PHONE, "status": "active"})
        fb = link_body()["fund_beneficiary"]
        cases = [
            ({"phone": "0801"}, "phone"),
            ({"phone": None}, "phone"),
            ({"bvn": "1234567890"}, "bvn"),
            ({"bvn": "123456789012"}, "bvn"),
            ({"bvn": 12345678901}, "bvn"),
            ({"bvn": "1234567890a"}, "bvn"),
            ({"fund_beneficiary": None}, "fund_beneficiary"),
            ({"fund_beneficiary": "x"}, "fund_beneficiary"),
            ({"fund_beneficiary": dict(fb, name="A")}, "fund_beneficiary.name"),
            ({"fund_beneficiary": dict(fb, name="A" * 101)}, "fund_beneficiary.name"),
            ({"fund_beneficiary": dict(fb, name=None)}, "fund_beneficiary.name"),
            ({"fund_beneficiary": dict(fb, nip_code="00013")}, "fund_beneficiary.nip_code"),
            ({"fund_beneficiary": dict(fb, nip_code=13)}, "fund_beneficiary.nip_code"),
            ({"fund_beneficiary": dict(fb, account_number="012345678")}, "fund_beneficiary.account_number"),
            ({"fund_beneficiary": dict(fb, account_number=123456789)}, "fund_beneficiary.account_number"),
            ({"fund_request": "x"}, "fund_request"),
            ({"fund_request": dict(fr_body(), reference="short")}, "fund_request.reference"),
            ({"fund_request": dict(fr_body(), amount=1.5)}, "fund_request.amount"),
            ({"fund_request": dict(fr_body(), currency="USD")}, "fund_request.currency"),
            ({"fund_request": dict(fr_body(), type="weekly")}, "fund_request.type"),
            ({"fund_request": dict(fr_body(), description="")}, "fund_request.description"),
            ({"fund_request": dict(recurring_body(), schedule=None)}, "fund_request.schedule"),
            ({"fund_request": dict(recurring_body(), schedule={"period": "hour", "interval": 1,
                                                               "start_date": "2025-07-01"})},
             "fund_request.schedule.period"),
        ]
        for over, field in cases:
            with self.subTest(field=field, over=over):
                self.assertFields(self.post(link_body(**over)), [field])
        # Name bounds accepted, bvn optional for active users.
        body = link_body(fund_beneficiary=dict(fb, name="Ab"))
        del body["bvn"]
        self.assertEqual(self.post(body).status, 202)
        self.assertEqual(self.post(link_body(fund_beneficiary=dict(fb, name="A" * 100))).status, 202)

    def test_bvn_required_unless_active(self):
        """bvn is required for not_found and pending users."""
        body = link_body()
        del body["bvn"]
        self.assertFields(self.post(body), ["bvn"])  # unknown = not_found
        for status in ("pending_activation", "pending_activiation", "not_found"):
            sim("POST", "/_sim/users", {"phone": PHONE, "status": status})
            self.assertFields(self.post(body), ["bvn"])
        sim("POST", "/_sim/users", {"phone": PHONE, "status": "active"})
        self.assertEqual(self.post(body).status, 202)

    def test_all_errors_collected(self):
        """Several broken fields are all reported at once."""
        r = self.post({"phone": "1", "bvn": "1", "fund_beneficiary": {"name": "", "nip_code": "x"},
                       "fund_request": {"amount": "5"}})
        self.assertFields(r, ["phone", "bvn", "fund_beneficiary.name", "fund_beneficiary.nip_code",
                              "fund_beneficiary.account_number", "fund_request.reference",
                              "fund_request.type", "fund_request.description", "fund_request.amount",
                              "fund_request.currency"])

    def test_not_json(self):
        """A body that is not a JSON object is a 400."""
        for raw in ("not json", "[1,2]", ""):
            r = self.post(raw)
            self.assertEqual(r.status, 400)
            self.assertEqual(r.json["status"], "error")


class FundRequestValidationTest(SimCase):
    """POST /owo/v1/fund-requests validation (§2.4)."""

    def post(self, body):
        """Post a fund request body."""
        return call("POST", "/owo/v1/fund-requests", body)

    def test_each_rule(self):
        """Each broken rule alone gives 400 naming its field."""
        sched = recurring_body()["schedule"]
        cases = [
            (fr_body(phone="0801234567"), "phone"),
            (fr_body(phone=None), "phone"),
            (fr_body(reference="ABC1234"), "reference"),
            (fr_body(reference="A" * 33), "reference"),
            (fr_body(reference="ABC-12345"), "reference"),
            (fr_body(reference=None), "reference"),
            (fr_body(reference=12345678), "reference"),
            (fr_body(type="once"), "type"),
            (fr_body(type=None), "type"),
            (fr_body(description=""), "description"),
            (fr_body(description="   "), "description"),
            (fr_body(description=None), "description"),
            (fr_body(amount=0), "amount"),
            (fr_body(amount=-5), "amount"),
            (fr_body(amount=100.0), "amount"),
            (fr_body(amount="100"), "amount"),
            (fr_body(amount=True), "amount"),
            (fr_body(amount=None), "amount"),
            (fr_body(currency=None), "currency"),
            (fr_body(currency="USD"), "currency"),
            (recurring_body(schedule=None), "schedule"),
            (recurring_body(schedule="monthly"), "schedule"),
            (recurring_body(schedule=dict(sched, period="fortnight")), "schedule.period"),
            (recurring_body(schedule=dict(sched, interval=0)), "schedule.interval"),
            (recurring_body(schedule=dict(sched, interval="1")), "schedule.interval"),
            (recurring_body(schedule=dict(sched, interval=1.0)), "schedule.interval"),
            (recurring_body(schedule=dict(sched, start_date="01-07-2025")), "schedule.start_date"),
            (recurring_body(schedule=dict(sched, start_date=None)), "schedule.start_date"),
            (recurring_body(schedule=dict(sched, end_date="2025-06-30")), "schedule.end_date"),
            (recurring_body(schedule=dict(sched, end_date="2025-07-01")), "schedule.end_date"),
            (recurring_body(schedule=dict(sched, end_date="soon")), "schedule.end_date"),
        ]
        for body, field in cases:
            with self.subTest(field=field, body=body):
                self.assertFields(self.post(body), [field])
        missing = fr_body()
        del missing["amount"]
        self.assertFields(self.post(missing), ["amount"])

    def test_accepted_variants(self):
        """Lower-case currency, timestamps, end_date after start and bounds of reference."""
        ok = [
            fr_body("A" * 8, currency="ngn"),
            fr_body("B" * 32),
            recurring_body("REC0000002", schedule={"period": "week", "interval": 2,
                                                   "start_date": "2025-07-01T09:00:00Z",
                                                   "end_date": "2025-12-31"}),
            recurring_body("REC0000003", schedule={"period": "year", "interval": 1,
                                                   "start_date": "2025-07-01", "end_date": None}),
        ]
        for body in ok:
            with self.subTest(body=body):
                r = self.post(body)
                self.assertEqual(r.status, 202, r.raw)

    def test_202_body(self):
        """202 answers carry a wa.me redirect_url and no id anywhere."""
        for path, body in (("/owo/v1/fund-requests", fr_body()),
                           ("/owo/v1/beneficiaries/link", link_body(fund_request=fr_body("REF0000002")))):
            r = call("POST", path, body)
            self.assertEqual(r.status, 202, r.raw)
            self.assertEqual(r.json["status"], "successful")
            self.assertTrue(r.json["data"]["redirect_url"].startswith("https://wa.me/"))
            self.assertNotIn("id", keys_deep(r.json))

    def test_duplicate_reference(self):
        """A reused reference answers 409, also across link.fund_request and fund-requests."""
        self.assertEqual(self.post(fr_body("DUP0000001")).status, 202)
        r = self.post(fr_body("DUP0000001"))
        self.assertEqual(r.status, 409)
        self.assertEqual(r.json["message"],
                         "Duplicate reference: a fund request with this reference already exists")
        self.assertNotIn("errors", r.json)
        r = call("POST", "/owo/v1/beneficiaries/link", link_body(fund_request=fr_body("DUP0000001")))
        self.assertEqual(r.status, 409)
        r = call("POST", "/owo/v1/beneficiaries/link", link_body(fund_request=fr_body("DUP0000002")))
        self.assertEqual(r.status, 202)
        self.assertEqual(self.post(fr_body("DUP0000002")).status, 409)
        # Validation errors win over the duplicate check.
        self.assertFields(self.post(fr_body("DUP0000002", amount=0)), ["amount"])


class OwoFlowTest(SimCase):
    """Approvals, reads, debits, expiry, unlink and their webhooks."""

    def test_pending_invisible_then_visible(self):
        """A fund request is readable only once approved."""
        self.assertEqual(call("POST", "/owo/v1/fund-requests", fr_body()).status, 202)
        r = call("GET", "/owo/v1/fund-requests")
        self.assertEqual(r.json["data"], [])
        self.assertEqual(r.json["pagination"], {"offset": 0, "limit": 15, "has_more": False})
        self.assertEqual(events(), [])
        fr = sim("POST", "/_sim/fund-requests/REF0000001/approve")
        self.assertTrue(fr["id"].startswith("frq_"))
        self.assertEqual(fr["status"], "approved")
        self.assertIsNone(fr["schedule"])
        r = call("GET", "/owo/v1/fund-requests?phone=" + PHONE)
        self.assertEqual([x["id"] for x in r.json["data"]], [fr["id"]])
        r = call("GET", "/owo/v1/fund-requests/" + fr["id"])
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json["data"], fr)
        self.assertEqual(set(fr), {"id", "reference", "phone", "type", "beneficiary", "description",
                                   "amount", "currency", "schedule", "status"})
        self.assertEqual(call("GET", "/owo/v1/fund-requests/frq_nope").status, 404)
        self.assertEqual(event_names(), ["owo.fundrequest.created", "owo.fundrequest.approved"])
        # approving twice is refused
        self.assertEqual(call("POST", "/_sim/fund-requests/REF0000001/approve", key=None).status, 409)

    def test_link_approve_with_recurring(self):
        """Approving a link links the beneficiary and approves its recurring fund request."""
        r = call("POST", "/owo/v1/beneficiaries/link", link_body(fund_request=recurring_body()))
        self.assertEqual(r.status, 202)
        self.assertEqual(call("GET", "/owo/v1/beneficiaries").json["data"], [])
        out = sim("POST", "/_sim/beneficiaries/%s/approve" % PHONE)
        ben, fr = out["beneficiary"], out["fund_request"]
        self.assertRegex(ben["id"], r"^ben_[A-Za-z0-9]{12}$")
        self.assertEqual(ben["status"], "linked")
        self.assertEqual(fr["status"], "active")
        self.assertEqual(fr["beneficiary"], ben["id"])
        self.assertEqual(fr["schedule"], {"period": "month", "interval": 1, "start_date": "2025-07-01",
                                          "end_date": None})
        evs = events()
        self.assertEqual([e["event"] for e in evs], ["owo.beneficiary.linked", "owo.fundrequest.created",
                                                     "owo.fundrequest.approved", "owo.fundrequest.active"])
        self.assertEqual(set(evs[0]["data"]), {"id", "nickname", "phone", "name", "account_number",
                                               "bank_code"})
        self.assertEqual(evs[1]["data"]["reference"], "REC0000001")
        self.assertEqual(set(evs[2]["data"]), {"id", "message", "status", "app", "business"})
        self.assertEqual(evs[3]["data"]["status"], "active")
        # reads show Mono's documented list item {id, phone, name}: no status
        item = {"id": ben["id"], "phone": PHONE, "name": ben["name"]}
        r = call("GET", "/owo/v1/beneficiaries?phone=" + PHONE)
        self.assertEqual(r.json["data"], [item])
        self.assertEqual(call("GET", "/owo/v1/beneficiaries/" + ben["id"]).json["data"], item)
        self.assertEqual(call("GET", "/owo/v1/beneficiaries/ben_nope").status, 404)
        self.assertEqual(call("POST", "/_sim/beneficiaries/%s/approve" % PHONE, key=None).status, 404)
        # The user became active: no bvn needed any more.
        self.assertEqual(call("GET", "/owo/v1/users/status?phone=" + PHONE).json["data"]["status"], "active")

    def test_webhook_envelope(self):
        """Every webhook has event, event_id, timestamp, data and the secret header."""
        self.create_approved(fr_body())
        listing = sim("GET", "/_sim/webhooks")
        self.assertEqual(listing["next"], 2)
        for w in listing["webhooks"]:
            self.assertEqual(w["headers"], {"mono-webhook-secret": WH_SECRET,
                                            "content-type": "application/json"})
            body = json.loads(w["body"])
            self.assertEqual(list(body), ["event", "event_id", "timestamp", "data"])
            self.assertRegex(body["event_id"], r"^evt_[A-Za-z0-9]{12}$")
        self.assertEqual(sim("GET", "/_sim/webhooks?since=1")["webhooks"][0]["seq"], 2)
        self.assertEqual(sim("GET", "/_sim/webhooks?since=2"), {"next": 2, "webhooks": []})

    def test_debits_and_payments(self):
        """Debits emit payment events; a successful onetime debit completes the request."""
        fr = self.create_approved(fr_body())
        n = len(events())
        failed = sim("POST", "/_sim/fund-requests/REF0000001/debit", {"status": "failed"})
        ok = sim("POST", "/_sim/fund-requests/REF0000001/debit",
                 {"status": "successful", "amount": 400000, "processed_at": "2025-07-01T10:00:00Z"})
        evs = events(n)
        self.assertEqual([e["event"] for e in evs], ["owo.payment.failed", "owo.payment.successful",
                                                     "owo.fundrequest.completed"])
        self.assertEqual(evs[0]["data"]["message"], "Insufficient funds")
        self.assertNotIn("beneficiary", evs[0]["data"])
        self.assertEqual(set(evs[1]["data"]), {"id", "reference", "fund_request", "beneficiary", "status",
                                               "amount", "currency", "processed_at", "session_id"})
        self.assertEqual(evs[1]["data"]["amount"], 400000)
        self.assertEqual(evs[1]["data"]["processed_at"], "2025-07-01T10:00:00Z")
        self.assertNotEqual(evs[1]["data"]["reference"], "REF0000001")
        self.assertEqual(evs[2]["data"]["id"], fr["id"])
        self.assertEqual(evs[2]["data"]["status"], "completed")
        r = call("GET", "/owo/v1/fund-requests/%s/payments" % fr["id"])
        self.assertEqual([p["id"] for p in r.json["data"]], [failed["id"], ok["id"]])
        self.assertIn("pagination", r.json)
        r = call("GET", "/owo/v1/fund-requests/%s/payments/%s" % (fr["id"], ok["id"]))
        self.assertEqual(r.json["data"]["status"], "successful")
        self.assertEqual(call("GET", "/owo/v1/fund-requests/%s/payments/pay_x" % fr["id"]).status, 404)
        self.assertEqual(call("GET", "/owo/v1/fund-requests/%s" % fr["id"]).json["data"]["status"],
                         "completed")
        # completed: no more debits
        r = call("POST", "/_sim/fund-requests/REF0000001/debit", {"status": "successful"}, key=None)
        self.assertEqual(r.status, 409)

    def test_processing_and_complete(self):
        """processing and complete move the status and emit events."""
        fr = self.create_approved(recurring_body())
        n = len(events())
        self.assertEqual(sim("POST", "/_sim/fund-requests/REC0000001/processing")["status"], "processing")
        sim("POST", "/_sim/fund-requests/REC0000001/debit", {"status": "successful"})
        self.assertEqual(sim("POST", "/_sim/fund-requests/REC0000001/complete")["status"], "completed")
        self.assertEqual(event_names(n), ["owo.fundrequest.processing", "owo.payment.successful",
                                          "owo.fundrequest.completed"])
        self.assertEqual(events(n)[2]["data"]["id"], fr["id"])

    def test_expire(self):
        """Expiry emits only owo.fundrequest.expired and makes the request visible."""
        call("POST", "/owo/v1/fund-requests", fr_body())
        fr = sim("POST", "/_sim/fund-requests/REF0000001/expire")
        self.assertEqual(fr["status"], "expired")
        evs = events()
        self.assertEqual([e["event"] for e in evs], ["owo.fundrequest.expired"])
        self.assertEqual(evs[0]["data"]["id"], fr["id"])
        self.assertEqual(call("GET", "/owo/v1/fund-requests/" + fr["id"]).json["data"]["status"], "expired")
        self.assertEqual(call("POST", "/_sim/fund-requests/REF0000001/expire", key=None).status, 409)
        self.assertEqual(call("POST", "/_sim/fund-requests/NOPE00000/approve", key=None).status, 404)

    def test_unlink(self):
        """Unlink cancels approved/active recurring requests of the link and emits."""
        call("POST", "/owo/v1/beneficiaries/link", link_body(fund_request=recurring_body()))
        ben = sim("POST", "/_sim/beneficiaries/%s/approve" % PHONE)["beneficiary"]
        one = self.create_approved(fr_body())
        n = len(events())
        r = call("POST", "/owo/v1/beneficiaries/unlink", {"id": ben["id"]})
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json["message"], "Beneficiary unlinked")
        self.assertIsNone(r.json["data"])
        evs = events(n)
        self.assertEqual([e["event"] for e in evs], ["owo.beneficiary.unlinked"])
        self.assertEqual(evs[0]["data"], {"id": ben["id"], "phone": PHONE})
        statuses = {x["reference"]: x["status"] for x in call("GET", "/owo/v1/fund-requests").json["data"]}
        self.assertEqual(statuses, {"REC0000001": "cancelled", one["reference"]: "approved"})
        # an unlinked beneficiary is no longer read (Mono lists linked ones)
        self.assertEqual(call("GET", "/owo/v1/beneficiaries/" + ben["id"]).status, 404)
        self.assertEqual(call("GET", "/owo/v1/beneficiaries?phone=" + PHONE).json["data"], [])
        sim("POST", "/_sim/config", {"beneficiary_status_in_reads": True})
        self.assertEqual(call("GET", "/owo/v1/beneficiaries/" + ben["id"]).json["data"]["status"], "unlinked")
        self.assertEqual(call("POST", "/owo/v1/beneficiaries/unlink", {"id": ben["id"]}).status, 404)
        self.assertEqual(call("POST", "/owo/v1/beneficiaries/unlink", {"id": "ben_nope"}).status, 404)
        self.assertFields(call("POST", "/owo/v1/beneficiaries/unlink", {}), ["id"])

    def test_list_paging(self):
        """limit/offset paging, has_more, limit bounds."""
        for i in range(5):
            self.create_approved(fr_body("PAGE000%03d" % i))
        r = call("GET", "/owo/v1/fund-requests?limit=2&offset=2")
        self.assertEqual([x["reference"] for x in r.json["data"]], ["PAGE000002", "PAGE000003"])
        self.assertEqual(r.json["pagination"], {"offset": 2, "limit": 2, "has_more": True})
        r = call("GET", "/owo/v1/fund-requests?limit=2&offset=4")
        self.assertEqual(r.json["pagination"]["has_more"], False)
        self.assertEqual(call("GET", "/owo/v1/fund-requests?limit=100").status, 200)
        self.assertFields(call("GET", "/owo/v1/fund-requests?limit=101"), ["limit"])
        self.assertFields(call("GET", "/owo/v1/fund-requests?offset=-1"), ["offset"])
        self.assertFields(call("GET", "/owo/v1/beneficiaries?limit=abc"), ["limit"])


class OwoFidelityTest(SimCase):
    """Owo as Mono documents it (issue 11), and the switches back."""

    def test_beneficiary_status_switch(self):
        """beneficiary_status_in_reads brings back the fuller item with status."""
        call("POST", "/owo/v1/beneficiaries/link", link_body())
        ben = sim("POST", "/_sim/beneficiaries/%s/approve" % PHONE)["beneficiary"]
        self.assertEqual(set(call("GET", "/owo/v1/beneficiaries").json["data"][0]), {"id", "phone", "name"})
        sim("POST", "/_sim/config", {"beneficiary_status_in_reads": True})
        self.assertEqual(call("GET", "/owo/v1/beneficiaries").json["data"][0]["status"], "linked")
        self.assertEqual(ben["status"], "linked")

    def test_active_at_start_date(self):
        """A recurring request starting later is approved, and active only at its start date."""
        body = recurring_body(schedule={"period": "month", "interval": 1, "start_date": "2099-01-01"})
        self.create_approved(body)
        self.assertEqual([e["event"] for e in events()],
                         ["owo.fundrequest.created", "owo.fundrequest.approved"])
        fr = call("GET", "/owo/v1/fund-requests").json["data"][0]
        self.assertEqual(fr["status"], "approved")
        self.assertEqual(sim("POST", "/_sim/fund-requests/REC0000001/activate")["status"], "active")
        self.assertEqual(events()[-1]["event"], "owo.fundrequest.active")
        self.assertEqual(call("POST", "/_sim/fund-requests/REC0000001/activate", key=None).status, 409)

    def test_active_at_approval_switch(self):
        """active_at_approval: the old timeline (active at once)."""
        sim("POST", "/_sim/config", {"active_at_approval": True})
        body = recurring_body(schedule={"period": "month", "interval": 1, "start_date": "2099-01-01"})
        self.create_approved(body)
        self.assertEqual(events()[-1]["event"], "owo.fundrequest.active")

    def test_undocumented_status(self):
        """A status set in WhatsApp (paused) shows in reads, with no webhook."""
        self.create_approved(fr_body())
        n = len(events())
        fr = sim("POST", "/_sim/fund-requests/REF0000001/status", {"status": "paused"})
        self.assertEqual(fr["status"], "paused")
        self.assertEqual(call("GET", "/owo/v1/fund-requests/" + fr["id"]).json["data"]["status"], "paused")
        self.assertEqual(len(events()), n)
        self.assertEqual(call("POST", "/_sim/fund-requests/REF0000001/status", {"status": "X Y"},
                              key=None).status, 400)


SAMPLES = os.path.join(HERE, "samples")


def sample(name):
    """One of Mono's own Owo samples (test/samples/<name>.json)."""
    with open(os.path.join(SAMPLES, name + ".json")) as f:
        return json.load(f)


class OwoSampleTest(SimCase):
    """The simulator takes Mono's own Owo requests and answers in the shapes
    of Mono's own samples (test/samples, each with its .src)."""

    def test_requests_and_answers(self):
        """Mono's request samples are accepted; answers have the samples' keys."""
        sim("POST", "/_sim/users", {"phone": "2349136923755", "status": "active"})
        st = call("GET", "/owo/v1/users/status?phone=2349136923755").json
        self.assertEqual(set(st), set(sample("owo.GET-users-status.response")))
        self.assertEqual(set(st["data"]), set(sample("owo.GET-users-status.response")["data"]))
        link = call("POST", "/owo/v1/beneficiaries/link", sample("owo.POST-beneficiaries-link.request"))
        self.assertEqual(link.status, 202, link.raw)
        self.assertEqual(set(link.json), set(sample("owo.POST-beneficiaries-link.response")))
        self.assertEqual(set(link.json["data"]), {"redirect_url"})
        # the API reference's example masks the BVN: refused in the validation error's shape
        bad = call("POST", "/owo/v1/beneficiaries/link", dict(sample("owo.POST-beneficiaries-link.request.apiref"),
                                                               phone="2348011112222"))
        self.assertEqual(bad.status, 400)
        self.assertEqual(set(bad.json), set(sample("owo.error.400-validation")))
        self.assertEqual([e["field"] for e in bad.json["errors"]], ["bvn"])
        for name in ("owo.POST-fund-requests.onetime.request", "owo.POST-fund-requests.recurring.request.apiref"):
            r = call("POST", "/owo/v1/fund-requests", sample(name))
            self.assertEqual(r.status, 202, (name, r.raw))
            self.assertEqual(set(r.json), set(sample("owo.POST-fund-requests.response")))
        # the guide's recurring example reuses the API reference's reference: a duplicate
        self.assertEqual(call("POST", "/owo/v1/fund-requests",
                              sample("owo.POST-fund-requests.recurring.request")).status, 409)
        missing = call("GET", "/owo/v1/fund-requests/frq_nope")
        self.assertEqual(missing.status, 404)
        self.assertEqual(set(missing.json), set(sample("owo.error.404")))

    def test_reads_and_webhooks(self):
        """List items and webhook payloads carry exactly the samples' keys."""
        call("POST", "/owo/v1/beneficiaries/link", link_body(fund_request=recurring_body()))
        ben = sim("POST", "/_sim/beneficiaries/%s/approve" % PHONE)["beneficiary"]
        listing = call("GET", "/owo/v1/beneficiaries?phone=" + PHONE).json
        want = sample("owo.GET-list.paginated-beneficiaries")
        self.assertEqual(set(listing), set(want))
        self.assertEqual(set(listing["data"][0]), set(want["data"][0]))
        self.assertEqual(set(listing["pagination"]), set(want["pagination"]))
        sim("POST", "/_sim/fund-requests/REC0000001/debit", {"status": "successful"})
        sim("POST", "/_sim/fund-requests/REC0000001/debit", {"status": "failed"})
        call("POST", "/owo/v1/beneficiaries/unlink", {"id": ben["id"]})
        got = {}
        for e in events():
            got.setdefault(e["event"], e)
        names = ["owo.beneficiary.linked", "owo.fundrequest.created", "owo.fundrequest.approved",
                 "owo.fundrequest.active", "owo.payment.successful", "owo.payment.failed",
                 "owo.beneficiary.unlinked"]
        for name in names:
            self.assertIn(name, got)
            self.assertEqual(set(got[name]), set(sample(name)), name)
            self.assertEqual(set(got[name]["data"]), set(sample(name)["data"]), name)


class WebhookRetryTest(unittest.TestCase):
    """Webhooks POSTed to --webhook-url are retried when not answered 2xx."""

    def test_retries_until_2xx(self):
        """Two 500s, then 200: three attempts; a hook never answered 2xx gets 1 + 5."""
        answers = []

        class Hook(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                body = answers.pop(0) if answers else 500
                self.send_response(body)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a):
                pass

        srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hook)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        proc, port = start_sim("--webhook-url", "http://127.0.0.1:%d/" % srv.server_address[1])
        try:
            sim_at = lambda m, p, b=None: call(m, p, b, key=None, port=port).json
            sim_at("POST", "/_sim/config", {"webhook_retry_base_s": 0.01})
            answers.extend([500, 500, 200])
            sim_at("POST", "/_sim/webhooks/emit", {"event": "owo.test.one", "data": {}})
            deadline = time.time() + 10
            while time.time() < deadline and len(sim_at("GET", "/_sim/webhooks/deliveries")["deliveries"]) < 3:
                time.sleep(0.05)
            d = sim_at("GET", "/_sim/webhooks/deliveries")["deliveries"]
            self.assertEqual([(x["attempt"], x["status"]) for x in d], [(1, 500), (2, 500), (3, 200)])
            sim_at("POST", "/_sim/webhooks/emit", {"event": "owo.test.two", "data": {}})
            while time.time() < deadline and len(sim_at("GET", "/_sim/webhooks/deliveries")["deliveries"]) < 9:
                time.sleep(0.05)
            time.sleep(0.3)
            d = sim_at("GET", "/_sim/webhooks/deliveries")["deliveries"][3:]
            self.assertEqual([x["attempt"] for x in d], [1, 2, 3, 4, 5, 6])
        finally:
            stop_sim(proc)
            srv.shutdown()
            srv.server_close()


class WebhookConfigTest(SimCase):
    """duplicate / shuffle / drop / emit."""

    def test_duplicate_shuffle_drop(self):
        """The listing honours duplicate, shuffle and drop."""
        self.create_approved(recurring_body())  # created, approved, active
        plain = sim("GET", "/_sim/webhooks")["webhooks"]
        self.assertEqual([w["seq"] for w in plain], [1, 2, 3])
        sim("POST", "/_sim/config", {"webhooks_duplicate": 2})
        self.assertEqual([w["seq"] for w in sim("GET", "/_sim/webhooks")["webhooks"]], [1, 1, 2, 2, 3, 3])
        sim("POST", "/_sim/config", {"webhooks_duplicate": 1, "webhooks_shuffle_seed": 7})
        a = sim("GET", "/_sim/webhooks")["webhooks"]
        self.assertEqual(a, sim("GET", "/_sim/webhooks")["webhooks"])
        self.assertEqual(sorted(w["seq"] for w in a), [1, 2, 3])
        orders = set()
        for seed in range(10):
            sim("POST", "/_sim/config", {"webhooks_shuffle_seed": seed})
            orders.add(tuple(w["seq"] for w in sim("GET", "/_sim/webhooks")["webhooks"]))
        self.assertGreater(len(orders), 1)
        sim("POST", "/_sim/config", {"webhooks_shuffle_seed": None, "webhooks_drop": True})
        sim("POST", "/_sim/fund-requests/REC0000001/debit", {"status": "successful"})
        listing = sim("GET", "/_sim/webhooks?since=3")
        self.assertEqual(listing, {"next": 4, "webhooks": []})
        sim("POST", "/_sim/config", {"webhooks_drop": False})
        sim("POST", "/_sim/fund-requests/REC0000001/debit", {"status": "failed"})
        self.assertEqual([w["seq"] for w in sim("GET", "/_sim/webhooks?since=3")["webhooks"]], [5])
        self.assertEqual(call("POST", "/_sim/config", {"bogus": 1}, key=None).status, 400)

    def test_emit(self):
        """Arbitrary events can be recorded, with or without event_id."""
        a = sim("POST", "/_sim/webhooks/emit", {"event": "mono.events.account_unlinked",
                                                "data": {"account": {"_id": "acc_1"}}, "event_id": None})
        b = sim("POST", "/_sim/webhooks/emit", {"event": "owo.x", "data": {}, "event_id": "evt_fixed"})
        c = sim("POST", "/_sim/webhooks/emit", {"event": "owo.y", "data": {}})
        self.assertNotIn("event_id", json.loads(a["body"]))
        self.assertEqual(json.loads(b["body"])["event_id"], "evt_fixed")
        self.assertTrue(json.loads(c["body"])["event_id"].startswith("evt_"))
        self.assertEqual([w["body"] for w in sim("GET", "/_sim/webhooks")["webhooks"]],
                         [a["body"], b["body"], c["body"]])


class FaultTest(SimCase):
    """Fault injection."""

    def test_500_not_processed(self):
        """500: the request is not processed; a retry is accepted."""
        sim("POST", "/_sim/faults", {"kind": "500", "count": 1, "path_prefix": "/owo/v1/fund-requests"})
        self.assertEqual(call("GET", "/owo/v1/users/status?phone=" + PHONE).status, 200)  # no match
        r = call("POST", "/owo/v1/fund-requests", fr_body())
        self.assertEqual(r.status, 500)
        self.assertEqual(r.json["status"], "error")
        self.assertEqual(call("POST", "/owo/v1/fund-requests", fr_body()).status, 202)
        self.assertEqual(sim("GET", "/_sim/requests")["by_reference"]["REF0000001"],
                         {"received": 2, "accepted": 1})

    def test_429_and_400(self):
        """429 carries Retry-After; 400 is generic; counts are consumed in order."""
        sim("POST", "/_sim/faults", {"kind": "429", "count": 2, "retry_after": 3})
        sim("POST", "/_sim/faults", {"kind": 400})
        for _ in range(2):
            r = call("POST", "/owo/v1/fund-requests", fr_body())
            self.assertEqual(r.status, 429)
            self.assertEqual(r.headers["retry-after"], "3")
        r = call("POST", "/owo/v1/fund-requests", fr_body())
        self.assertEqual(r.status, 400)
        self.assertNotIn("errors", r.json)
        self.assertEqual(call("POST", "/owo/v1/fund-requests", fr_body()).status, 202)
        self.assertEqual(sim("GET", "/_sim/faults"), {"faults": [], "storm": None})

    def test_delay(self):
        """delay: processed normally, answered late."""
        sim("POST", "/_sim/faults", {"kind": "delay", "delay_s": 0.5})
        t = time.time()
        r = call("POST", "/owo/v1/fund-requests", fr_body())
        self.assertGreaterEqual(time.time() - t, 0.45)
        self.assertEqual(r.status, 202)

    def test_close_after_body(self):
        """close_after_body: processed (accepted), connection closed with no answer."""
        sim("POST", "/_sim/faults", {"kind": "close_after_body", "path_prefix": "/owo/v1/fund-requests"})
        with self.assertRaises((http.client.RemoteDisconnected, ConnectionError)):
            call("POST", "/owo/v1/fund-requests", fr_body())
        self.assertEqual(sim("GET", "/_sim/requests")["by_reference"]["REF0000001"],
                         {"received": 1, "accepted": 1})
        r = call("POST", "/owo/v1/fund-requests", fr_body())
        self.assertEqual(r.status, 409)  # the earlier attempt reached Mono
        log = sim("GET", "/_sim/requests/log?path=/owo/v1/fund-requests")
        self.assertEqual([(e["status"], e["fault"]) for e in log], [(None, "close_after_body"), (409, None)])

    def test_invalid_json(self):
        """invalid_json: processed, right status, body not JSON."""
        sim("POST", "/_sim/faults", {"kind": "invalid_json"})
        r = call("POST", "/owo/v1/fund-requests", fr_body())
        self.assertEqual(r.status, 202)
        self.assertIsNone(r.json)
        self.assertTrue(r.raw.startswith(b"<html>"))
        self.assertEqual(call("POST", "/owo/v1/fund-requests", fr_body()).status, 409)

    def test_random_storm_deterministic(self):
        """A seeded storm produces the same sequence each time, until DELETE."""
        def run():
            sim("POST", "/_sim/faults", {"random_rate": 0.5, "seed": 42, "kinds": ["500", "429"],
                                         "path_prefix": "/owo/v1/users"})
            out = [call("GET", "/owo/v1/users/status?phone=" + PHONE).status for _ in range(20)]
            self.assertEqual(call("GET", "/owo/v1/beneficiaries").status, 200)  # outside prefix
            sim("DELETE", "/_sim/faults")
            return out
        a, b = run(), run()
        self.assertEqual(a, b)
        self.assertEqual(set(a), {200, 500, 429})
        self.assertEqual(call("GET", "/owo/v1/users/status?phone=" + PHONE).status, 200)

    def test_bad_fault(self):
        """Unknown fault kinds are refused."""
        self.assertEqual(call("POST", "/_sim/faults", {"kind": "boom"}, key=None).status, 400)


class RequestAccountingTest(SimCase):
    """/_sim/requests and /_sim/requests/log."""

    def test_counts_and_log(self):
        """Counts by path (no query) and by reference; log redacts the key."""
        call("GET", "/owo/v1/users/status?phone=" + PHONE)
        call("GET", "/owo/v1/users/status?phone=" + PHONE2, key="bad")
        call("POST", "/owo/v1/fund-requests", fr_body())
        call("POST", "/owo/v1/fund-requests", fr_body())               # 409
        call("POST", "/owo/v1/fund-requests", fr_body("REF0000002", amount=0))   # 400
        call("POST", "/owo/v1/beneficiaries/link", link_body(fund_request=fr_body("REF0000003")))
        call("POST", "/owo/v1/fund-requests", "{broken")
        sim("GET", "/_sim/health")
        got = sim("GET", "/_sim/requests")
        self.assertEqual(got["total"], 7)
        self.assertEqual(got["by_path"], {"GET /owo/v1/users/status": 2, "POST /owo/v1/fund-requests": 4,
                                          "POST /owo/v1/beneficiaries/link": 1})
        self.assertEqual(got["by_reference"], {"REF0000001": {"received": 2, "accepted": 1},
                                               "REF0000002": {"received": 1, "accepted": 0},
                                               "REF0000003": {"received": 1, "accepted": 1}})
        log = sim("GET", "/_sim/requests/log?path=/owo/v1/users/status")
        self.assertEqual(len(log), 2)
        self.assertEqual(log[0]["headers"]["mono-sec-key"], "<redacted>")
        self.assertEqual(log[1]["headers"]["mono-sec-key"], "<wrong>")
        self.assertEqual(log[0]["query"], {"phone": PHONE})
        self.assertEqual([e["status"] for e in log], [200, 401])
        log = sim("GET", "/_sim/requests/log?limit=2")
        self.assertEqual(log[0]["body"]["fund_request"]["reference"], "REF0000003")
        self.assertEqual(log[1]["body"], "{broken")
        self.assertNotIn(SECRET, json.dumps(sim("GET", "/_sim/requests/log")))
        state = sim("GET", "/_sim/state")
        self.assertEqual(len(state["fund_requests"]), 2)
        sim("POST", "/_sim/reset")
        self.assertEqual(sim("GET", "/_sim/requests"),
                         {"total": 0, "by_path": {}, "by_reference": {}, "realtime_by_path": {}})


def tx(i, typ, amount, day, month=6):
    """A seeded transaction."""
    return {"id": "txn_%02d" % i, "narration": "%s %d" % ("SALARY" if typ == "credit" else "POS", i),
            "amount": amount, "type": typ, "balance": 1000000 + i,
            "date": "2025-%02d-%02dT10:00:00.000Z" % (month, day), "category": "misc"}


class ConnectTest(SimCase):
    """/v2/accounts."""

    def seed(self, **over):
        """Seed account acc_1."""
        body = {"id": "acc_1", "name": "Ada Obi", "account_number": "0123456789", "balance": 123456,
                "bvn": "22212345678", "data_status": "available", "customer": "cus_1",
                "institution": {"name": "Access Bank", "bank_code": "044", "type": "PERSONAL_BANKING"}}
        body.update(over)
        return sim("POST", "/_sim/accounts", body)

    def test_details(self):
        """Account details echo seeded fields; bvn is last 4; data_status verbatim."""
        self.seed(ref="my-ref")
        r = call("GET", "/v2/accounts/acc_1")
        self.assertEqual(r.status, 200)
        d = r.json["data"]
        self.assertEqual(d["account"], {"id": "acc_1", "name": "Ada Obi", "account_number": "0123456789",
                                        "currency": "NGN", "balance": 123456, "type": "SAVINGS_ACCOUNT",
                                        "bvn": "5678", "institution": {"name": "Access Bank",
                                                                       "bank_code": "044",
                                                                       "type": "PERSONAL_BANKING"}})
        self.assertEqual(d["customer"], {"id": "cus_1"})
        self.assertEqual(d["meta"], {"data_status": "available", "auth_method": "internet_banking",
                                     "retrieved_data": ["identity", "balance", "transactions"],
                                     "ref": "my-ref"})
        self.assertEqual(call("GET", "/v2/accounts/nope").status, 404)
        sim("PATCH", "/_sim/accounts/acc_1", {"data_status": "PARTIAL", "bvn": None})
        d = call("GET", "/v2/accounts/acc_1").json["data"]
        self.assertEqual((d["meta"]["data_status"], d["account"]["bvn"]), ("PARTIAL", None))
        self.assertEqual(call("POST", "/_sim/accounts", {"id": "bad", "transactions": [{"amount": -1}]},
                              key=None).status, 400)

    def test_transactions_paging(self):
        """Pagination meta with previous/next URLs, paginate=false, filters."""
        txs = [tx(i, "credit" if i % 3 == 0 else "debit", 1000 * i, i) for i in range(1, 26)]
        self.seed(transactions=txs)
        r = call("GET", "/v2/accounts/acc_1/transactions?limit=10")
        self.assertEqual(r.status, 200)
        self.assertEqual(len(r.json["data"]), 10)
        self.assertEqual(r.json["data"][0]["id"], "txn_25")  # newest first
        self.assertEqual(set(r.json["data"][0]), {"id", "narration", "amount", "type", "balance", "date",
                                                  "category"})
        m = r.json["meta"]
        self.assertEqual((m["total"], m["page"], m["previous"]), (25, 1, None))
        self.assertIn("page=2", m["next"])
        self.assertTrue(m["next"].startswith("http://127.0.0.1:%d/v2/accounts/acc_1/transactions?" % PORT))
        r = call("GET", m["next"][len("http://127.0.0.1:%d" % PORT):])
        self.assertEqual(r.json["meta"]["page"], 2)
        self.assertIn("page=1", r.json["meta"]["previous"])
        r = call("GET", "/v2/accounts/acc_1/transactions?limit=10&page=3")
        self.assertEqual((len(r.json["data"]), r.json["meta"]["next"]), (5, None))
        r = call("GET", "/v2/accounts/acc_1/transactions")
        self.assertEqual(len(r.json["data"]), 20)
        r = call("GET", "/v2/accounts/acc_1/transactions?paginate=false")
        self.assertEqual(len(r.json["data"]), 25)
        self.assertEqual(r.json["meta"]["next"], None)
        r = call("GET", "/v2/accounts/acc_1/transactions?paginate=false&start=05-06-2025&end=10-06-2025")
        self.assertEqual(sorted(t["id"] for t in r.json["data"]), ["txn_%02d" % i for i in range(5, 11)])
        r = call("GET", "/v2/accounts/acc_1/transactions?paginate=false&type=credit")
        self.assertEqual(len(r.json["data"]), 8)
        r = call("GET", "/v2/accounts/acc_1/transactions?narration=salary%2012")
        self.assertEqual([t["id"] for t in r.json["data"]], ["txn_12"])
        self.assertFields(call("GET", "/v2/accounts/acc_1/transactions?start=2025-06-01"), ["start"])
        self.assertFields(call("GET", "/v2/accounts/acc_1/transactions?type=both"), ["type"])

    def test_transactions_null(self):
        """No transactions: data is null."""
        self.seed()
        r = call("GET", "/v2/accounts/acc_1/transactions")
        self.assertEqual(r.status, 200)
        self.assertIsNone(r.json["data"])
        self.assertEqual(r.json["meta"]["total"], 0)

    def test_realtime(self):
        """x-realtime: job headers; x-has-new-data only with new data; a repeat within the
        limit gets the last job's headers; job webhooks carry no event_id."""
        self.seed(transactions=[tx(1, "debit", 100, 1)], pending_new_transactions=[tx(2, "credit", 900, 2)])
        r = call("GET", "/v2/accounts/acc_1/transactions", headers={"x-realtime": "true"})
        self.assertEqual(r.status, 200)
        self.assertTrue(r.headers["x-job-id"].startswith("job_"))
        self.assertEqual(r.headers["x-job-status"], "finished")
        self.assertEqual(r.headers["x-has-new-data"], "true")
        self.assertEqual([t["id"] for t in r.json["data"]], ["txn_02", "txn_01"])
        listing = sim("GET", "/_sim/webhooks")["webhooks"]
        self.assertEqual([w["headers"]["mono-webhook-secret"] for w in listing], [CONNECT_WH_SECRET] * 2)
        bodies = [json.loads(w["body"]) for w in listing]
        self.assertEqual([list(b) for b in bodies], [["event", "data"], ["event", "data"]])
        evs = events()
        self.assertEqual([e["event"] for e in evs], ["mono.accounts.jobs.update", "mono.events.account_updated"])
        self.assertEqual(evs[0]["data"], {"account": "acc_1", "business": "bus_monopaysim01",
                                          "app": "app_monopaysim01", "id": r.headers["x-job-id"],
                                          "name": "jobs.accounts.sync_statement", "status": "finished"})
        meta = evs[1]["data"]["meta"]
        self.assertEqual((meta["has_new_data"], meta["sync_status"], meta["job_id"]),
                         (True, "SUCCESSFUL", r.headers["x-job-id"]))
        self.assertEqual(evs[1]["data"]["account"]["_id"], "acc_1")
        self.assertIn("accountNumber", evs[1]["data"]["account"])
        self.assertIn("bankCode", evs[1]["data"]["account"]["institution"])
        # a repeat within 5 minutes: the last job's headers, no new job, no webhook
        first = r.headers
        r = call("GET", "/v2/accounts/acc_1/balance", headers={"x-real-time": "true"})
        self.assertEqual(r.status, 200)
        self.assertEqual((r.headers["x-job-id"], r.headers["x-job-status"], r.headers["x-has-new-data"]),
                         (first["x-job-id"], "finished", "true"))
        self.assertEqual(len(events()), 2)
        # the old variant: 429 with Retry-After
        sim("POST", "/_sim/config", {"realtime_repeat": "429"})
        r = call("GET", "/v2/accounts/acc_1/balance", headers={"x-realtime": "true"})
        self.assertEqual(r.status, 429)
        self.assertGreater(int(r.headers["retry-after"]), 290)
        # plain reads are not limited
        self.assertEqual(call("GET", "/v2/accounts/acc_1/balance").json["data"],
                         {"id": "acc_1", "name": "Ada Obi", "account_number": "0123456789",
                          "balance": 123456, "currency": "NGN"})
        sim("POST", "/_sim/config", {"realtime_limit_seconds": 0})
        r = call("GET", "/v2/accounts/acc_1/balance", headers={"x-realtime": "true"})
        self.assertEqual(r.status, 200)
        self.assertIn("x-job-id", r.headers)
        self.assertNotIn("x-has-new-data", r.headers)
        self.assertEqual(events(2)[0]["data"]["name"], "jobs.accounts.sync_balance")
        self.assertNotIn("has_new_data", events(2)[1]["data"]["meta"])
        # real-time requests are counted apart (either header), refused ones included
        self.assertEqual(sim("GET", "/_sim/requests")["realtime_by_path"],
                         {"GET /v2/accounts/acc_1/transactions": 1, "GET /v2/accounts/acc_1/balance": 3})

    def test_connect_samples_shape(self):
        """The simulator's Connect answers and webhooks have the keys of Mono's samples
        (test/samples/connect.*)."""
        def sample(name):
            with open(os.path.join(HERE, "samples", name)) as f:
                return json.load(f)

        def keys(obj):
            return sorted(obj) if isinstance(obj, dict) else obj
        self.seed(ref="ref_1", transactions=[tx(1, "debit", 100, 1)])
        want = sample("connect.GET-v2-accounts-id.response.json")
        got = call("GET", "/v2/accounts/acc_1").json
        self.assertEqual(keys(got), keys(want))
        for part in ("account", "customer", "meta"):
            self.assertEqual(keys(got["data"][part]), keys(want["data"][part]))
        self.assertEqual(keys(got["data"]["account"]["institution"]),
                         keys(want["data"]["account"]["institution"]))
        want = sample("connect.GET-v2-accounts-id-balance.response.json")
        r = call("GET", "/v2/accounts/acc_1/balance", headers={"x-realtime": "true"})
        self.assertEqual((keys(r.json), keys(r.json["data"])), (keys(want), keys(want["data"])))
        want = sample("connect.GET-v2-accounts-id-jobs-jobid.response.json")
        got = call("GET", "/v2/accounts/acc_1/jobs/" + r.headers["x-job-id"]).json
        self.assertEqual((keys(got), keys(got["data"])), (keys(want), keys(want["data"])))
        self.assertEqual(got["data"]["name"], "jobs.accounts.sync_balance")
        self.assertEqual(call("GET", "/v2/accounts/acc_1/jobs/job_nope").status, 404)
        evs = events()
        want = sample("connect.mono.accounts.jobs.update.finished.json")
        self.assertEqual((keys(evs[0]), keys(evs[0]["data"])), (keys(want), keys(want["data"])))
        want = sample("connect.mono.events.account_updated.realtime.json")
        self.assertEqual(keys(evs[1]), keys(want))
        self.assertEqual(keys(evs[1]["data"]["account"]),
                         sorted(set(want["data"]["account"]) - {"created_at", "updated_at"}))
        self.assertEqual(keys(evs[1]["data"]["meta"]),
                         sorted(set(want["data"]["meta"]) - {"has_new_data"}))
        want = sample("connect.GET-v2-accounts-id-transactions.response.json")
        got = call("GET", "/v2/accounts/acc_1/transactions").json
        self.assertEqual((keys(got), keys(got["data"][0]), keys(got["meta"])),
                         (keys(want), keys(want["data"][0]), keys(want["meta"])))

    def test_initiate(self):
        """POST /v2/accounts/initiate takes Mono's sample request and answers in its samples' shape."""
        def sample(name):
            with open(os.path.join(HERE, "samples", name)) as f:
                return json.load(f)
        self.seed()
        want = sample("connect.POST-v2-accounts-initiate.response.json")
        r = call("POST", "/v2/accounts/initiate", sample("connect.POST-v2-accounts-initiate.request.json"))
        self.assertEqual(r.status, 200)
        self.assertEqual((sorted(r.json), sorted(r.json["data"])), (sorted(want), sorted(want["data"])))
        self.assertEqual((r.json["data"]["scope"], r.json["data"]["meta"]), ("auth", {"ref": "99008877TEST"}))
        want = sample("connect.POST-v2-accounts-initiate.reauth.response.json")
        r = call("POST", "/v2/accounts/initiate", {"meta": {"ref": "099777"}, "scope": "reauth",
                                                   "account": "acc_1", "redirect_url": "https://mono.co"})
        self.assertEqual(sorted(r.json["data"]), sorted(want["data"]))
        self.assertEqual(r.json["data"]["account"], "acc_1")
        self.assertFields(call("POST", "/v2/accounts/initiate", {"scope": "reauth", "account": "nope",
                                                                 "redirect_url": "x"}), ["account"])

    def test_canned(self):
        """POST /_sim/canned: the next calls of a path get a verbatim body, then the real answer."""
        self.seed()
        raw = '{"status": "successful", "data": {"total": 1.50}}'
        sim("POST", "/_sim/canned", {"path": "/v2/accounts/acc_1/credits", "body": raw,
                                     "headers": {"x-a": "b"}, "count": 2})
        for _ in range(2):
            r = call("GET", "/v2/accounts/acc_1/credits")
            self.assertEqual((r.status, r.raw.decode(), r.headers["x-a"]), (200, raw, "b"))
        self.assertEqual(call("GET", "/v2/accounts/acc_1/credits").json["data"]["history"], [])
        self.assertEqual(call("POST", "/_sim/canned", {"path": 1}, key=None).status, 400)

    def test_realtime_switches(self):
        """Old variants: event ids on job webhooks, has_new_data false, one app for both."""
        sim("POST", "/_sim/config", {"connect_event_ids": True, "has_new_data_false": True,
                                     "one_app": True})
        self.seed()
        self.assertEqual(call("GET", "/v2/accounts/acc_1", key=CONNECT_SECRET).status, 401)
        r = call("GET", "/v2/accounts/acc_1/balance", key=SECRET, headers={"x-realtime": "true"})
        self.assertEqual(r.status, 200)
        listing = sim("GET", "/_sim/webhooks")["webhooks"]
        self.assertEqual([w["headers"]["mono-webhook-secret"] for w in listing], [WH_SECRET] * 2)
        bodies = [json.loads(w["body"]) for w in listing]
        self.assertEqual([list(b) for b in bodies], [["event", "event_id", "timestamp", "data"]] * 2)
        self.assertIs(bodies[1]["data"]["meta"]["has_new_data"], False)

    def test_two_apps(self):
        """Connect's /v2 takes the connect app's key only; Owo the payments app's only."""
        self.seed()
        self.assertEqual(call("GET", "/v2/accounts/acc_1", key=CONNECT_SECRET).status, 200)
        self.assertEqual(call("GET", "/v2/accounts/acc_1", key=SECRET).status, 401)
        self.assertEqual(call("GET", "/owo/v1/users/status?phone=" + PHONE, key=CONNECT_SECRET).status, 401)
        a = sim("POST", "/_sim/webhooks/emit", {"event": "mono.events.account_updated", "data": {}})
        b = sim("POST", "/_sim/webhooks/emit", {"event": "owo.payment.failed", "data": {}})
        listing = sim("GET", "/_sim/webhooks")["webhooks"]
        self.assertEqual([(w["seq"], w["headers"]["mono-webhook-secret"]) for w in listing],
                         [(a["seq"], CONNECT_WH_SECRET), (b["seq"], WH_SECRET)])

    def test_reauth(self):
        """An account that needs re-authorisation fails its refresh: REAUTHORISATION_REQUIRED."""
        self.seed(needs_reauth=True, pending_new_transactions=[tx(2, "credit", 900, 2)])
        r = call("GET", "/v2/accounts/acc_1/transactions", headers={"x-realtime": "true"})
        self.assertEqual((r.status, r.headers["x-job-status"]), (200, "failed"))
        self.assertNotIn("x-has-new-data", r.headers)
        evs = events()
        self.assertEqual(evs[0]["data"]["status"], "failed")
        self.assertEqual(evs[1]["data"]["meta"]["sync_status"], "REAUTHORISATION_REQUIRED")
        self.assertNotIn("has_new_data", evs[1]["data"]["meta"])

    def test_sync_moves_data_status(self):
        """sync_moves_data_status: a finished sync moves FAILED, UNAVAILABLE and PARTIAL (Mono's table)."""
        sim("POST", "/_sim/accounts", {"id": "acc_f", "data_status": "FAILED", "retrieved_data": []})
        sim("POST", "/_sim/accounts", {"id": "acc_u", "data_status": "UNAVAILABLE", "retrieved_data": [],
                                       "data_status_after_sync": "UNAVAILABLE"})
        sim("POST", "/_sim/accounts", {"id": "acc_p", "data_status": "PARTIAL",
                                       "retrieved_data": ["identity", "balance"]})
        sim("POST", "/_sim/accounts", {"id": "acc_x", "data_status": "FAILED", "retrieved_data": []})
        status = lambda a: call("GET", "/v2/accounts/" + a).json["data"]["meta"]
        call("GET", "/v2/accounts/acc_x/transactions", headers={"x-realtime": "true"})
        self.assertEqual(status("acc_x")["data_status"], "FAILED", "off (the default): nothing moves")
        sim("POST", "/_sim/config", {"sync_moves_data_status": True})
        for a in ("acc_f", "acc_u", "acc_p"):
            self.assertEqual(call("GET", "/v2/accounts/%s/transactions" % a,
                                  headers={"x-realtime": "true"}).status, 200)
        self.assertEqual(status("acc_f"), dict(status("acc_f"), data_status="AVAILABLE",
                                               retrieved_data=["identity", "balance", "transactions"]))
        self.assertEqual(status("acc_u")["data_status"], "UNAVAILABLE", "data_status_after_sync wins")
        self.assertEqual(status("acc_p")["retrieved_data"], ["identity", "balance", "transactions"])
        self.assertEqual(events()[-1]["data"]["meta"]["data_status"], "AVAILABLE",
                         "the sync's account_updated carries the new status")
        sim("POST", "/_sim/config", {"realtime_job_status": "failed"})
        sim("POST", "/_sim/accounts", {"id": "acc_y", "data_status": "FAILED", "retrieved_data": []})
        call("GET", "/v2/accounts/acc_y/transactions", headers={"x-realtime": "true"})
        self.assertEqual(status("acc_y")["data_status"], "FAILED", "a failed sync moves nothing")

    def test_realtime_processing(self):
        """realtime_job_status=processing: header says so, data lands after the answer."""
        sim("POST", "/_sim/config", {"realtime_job_status": "processing"})
        self.seed(transactions=[tx(1, "debit", 100, 1)], pending_new_transactions=[tx(2, "credit", 900, 2)])
        r = call("GET", "/v2/accounts/acc_1/transactions", headers={"x-realtime": "true"})
        self.assertEqual(r.headers["x-job-status"], "processing")
        self.assertNotIn("x-has-new-data", r.headers)
        self.assertEqual(len(r.json["data"]), 1)
        self.assertTrue(events()[1]["data"]["meta"]["has_new_data"])
        self.assertEqual(len(call("GET", "/v2/accounts/acc_1/transactions").json["data"]), 2)

    def test_flows_shapes(self):
        """credits/debits in every flows_shape."""
        txs = [tx(1, "credit", 500000, 3), tx(2, "credit", 250000, 20), tx(3, "credit", 100, 2, month=7),
               tx(4, "debit", 7000, 5)]
        self.seed(transactions=txs)
        r = call("GET", "/v2/accounts/acc_1/credits")
        self.assertEqual(r.json["status"], "successful")
        self.assertEqual(r.json["data"], {"total": 750100, "count": 3, "history": [
            {"period": "2025-06", "amount": 750000, "count": 2},
            {"period": "2025-07", "amount": 100, "count": 1}]})
        self.assertEqual(call("GET", "/v2/accounts/acc_1/debits").json["data"],
                         {"total": 7000, "count": 1, "history": [{"period": "2025-06", "amount": 7000,
                                                                  "count": 1}]})
        sim("PATCH", "/_sim/accounts/acc_1", {"flows_shape": "bare"})
        self.assertEqual(call("GET", "/v2/accounts/acc_1/debits").json,
                         {"total": 7000, "count": 1, "history": [{"period": "2025-06", "amount": 7000,
                                                                  "count": 1}]})
        sim("PATCH", "/_sim/accounts/acc_1", {"flows_shape": "transactions_count"})
        self.assertEqual(call("GET", "/v2/accounts/acc_1/debits").json["data"],
                         {"total": 7000, "transactions_count": 1,
                          "history": [{"period": "2025-06", "amount": 7000, "transactions_count": 1}]})
        sim("PATCH", "/_sim/accounts/acc_1", {"flows_shape": "legacy_period"})
        self.assertEqual([h["period"] for h in call("GET", "/v2/accounts/acc_1/credits").json["data"]["history"]],
                         ["06-25", "07-25"])
        sim("PATCH", "/_sim/accounts/acc_1", {"flows_shape": "null"})
        r = call("GET", "/v2/accounts/acc_1/credits")
        self.assertEqual((r.json["status"], r.json["data"]), ("successful", None))
        sim("PATCH", "/_sim/accounts/acc_1", {"flows_shape": "garbage"})
        r = call("GET", "/v2/accounts/acc_1/debits")
        self.assertEqual((r.status, r.json), (200, {"status": "successful", "data": {"weird": [1, 2]}}))
        self.assertEqual(call("PATCH", "/_sim/accounts/acc_1", {"flows_shape": "odd"}, key=None).status, 400)
        self.assertEqual(call("GET", "/v2/accounts/nope/credits").status, 404)


class OffPathTest(SimCase):
    """Switches of issue 22: Mono off the happy path (test/SIMULATOR.md)."""

    def test_refuse_key(self):
        """refuse_key 401 or 403 refuses every call with Mono's documented words; null restores."""
        sim("POST", "/_sim/config", {"refuse_key": 401})
        r = call("POST", "/owo/v1/fund-requests", fr_body())
        self.assertEqual((r.status, r.json["message"]), (401, "No valid API key provided"))
        sim("POST", "/_sim/config", {"refuse_key": 403})
        r = call("GET", "/owo/v1/fund-requests")
        self.assertEqual(r.status, 403)
        self.assertIn("permissions", r.json["message"])
        sim("POST", "/_sim/config", {"refuse_key": None})
        self.assertEqual(call("POST", "/owo/v1/fund-requests", fr_body()).status, 202)
        self.assertEqual(call("POST", "/_sim/config", {"refuse_key": 500}, key=None).status, 400)

    def test_refuse_key_app(self):
        """refuse_key_app limits refuse_key to one app: the other app's calls go on."""
        sim("POST", "/_sim/config", {"refuse_key": 401, "refuse_key_app": "connect"})
        self.assertEqual(call("POST", "/owo/v1/fund-requests", fr_body()).status, 202)
        r = call("GET", "/v2/accounts/acc_none")
        self.assertEqual((r.status, r.json["message"]), (401, "No valid API key provided"))
        sim("POST", "/_sim/config", {"refuse_key_app": "payments"})
        self.assertEqual(call("POST", "/owo/v1/fund-requests", fr_body()).status, 401)
        self.assertEqual(call("GET", "/v2/accounts/acc_none").status, 404)
        sim("POST", "/_sim/config", {"refuse_key": None, "refuse_key_app": None})
        self.assertEqual(call("POST", "/_sim/config", {"refuse_key_app": "both"}, key=None).status, 400)

    def test_duplicate_as_400(self):
        """duplicate_as_400: a re-sent reference is a 400 "Duplicate transaction" with no field errors."""
        self.assertEqual(call("POST", "/owo/v1/fund-requests", fr_body()).status, 202)
        self.assertEqual(call("POST", "/owo/v1/fund-requests", fr_body()).status, 409)
        sim("POST", "/_sim/config", {"duplicate_as_400": True})
        r = call("POST", "/owo/v1/fund-requests", fr_body())
        self.assertEqual((r.status, r.json["message"]), (400, "Duplicate transaction"))
        self.assertNotIn("errors", r.json)

    def test_status_case_upper(self):
        """status_case upper: reads spell fund request and payment statuses in capitals; events do not."""
        fr = self.create_approved(fr_body())
        sim("POST", "/_sim/fund-requests/REF0000001/debit", {"status": "successful"})
        sim("POST", "/_sim/config", {"status_case": "upper"})
        self.assertEqual(call("GET", "/owo/v1/fund-requests/" + fr["id"]).json["data"]["status"], "COMPLETED")
        pays = call("GET", "/owo/v1/fund-requests/%s/payments" % fr["id"]).json["data"]
        self.assertEqual([p["status"] for p in pays], ["SUCCESSFUL"])
        self.assertIn("owo.payment.successful", event_names())

    def test_declined_and_paused(self):
        """The customer's acts in WhatsApp show in reads, with no webhook."""
        self.assertEqual(call("POST", "/owo/v1/fund-requests", fr_body()).status, 202)
        n = len(events())
        fr = sim("POST", "/_sim/fund-requests/REF0000001/status", {"status": "declined"})
        self.assertEqual(fr["status"], "declined")
        self.assertEqual(call("GET", "/owo/v1/fund-requests/" + fr["id"]).json["data"]["status"], "declined")
        fr = sim("POST", "/_sim/fund-requests/REF0000001/status", {"status": "paused"})
        self.assertEqual(fr["status"], "paused")
        self.assertEqual(len(events()), n)

    def test_stale_prompts(self):
        """stale_prompts: a newer request for the phone makes the earlier prompt unusable."""
        sim("POST", "/_sim/config", {"stale_prompts": True})
        self.assertEqual(call("POST", "/owo/v1/fund-requests", fr_body("REF0000001")).status, 202)
        self.assertEqual(call("POST", "/owo/v1/fund-requests", fr_body("REF0000002")).status, 202)
        r = call("POST", "/_sim/fund-requests/REF0000001/approve", key=None)
        self.assertEqual(r.status, 409)
        self.assertIn("stale", r.json["error"])
        sim("POST", "/_sim/fund-requests/REF0000002/approve")

    def test_refuse_unlinked(self):
        """refuse_unlinked: a fund request for a phone with no linked beneficiary is refused."""
        sim("POST", "/_sim/config", {"refuse_unlinked": True})
        r = call("POST", "/owo/v1/fund-requests", fr_body())
        self.assertEqual(r.status, 400)
        self.assertIn("not linked", r.json["message"])
        sim("POST", "/_sim/users", {"phone": PHONE, "status": "active"})
        self.assertEqual(call("POST", "/owo/v1/beneficiaries/link", link_body()).status, 202)
        sim("POST", "/_sim/beneficiaries/%s/approve" % PHONE)
        self.assertEqual(call("POST", "/owo/v1/fund-requests", fr_body("REF0000002")).status, 202)

    def test_hostile_pages(self):
        """page_padding and page_extra_items make every list page large, has_more unchanged."""
        self.create_approved(fr_body())
        sim("POST", "/_sim/config", {"page_padding": 100000, "page_extra_items": 50})
        r = call("GET", "/owo/v1/fund-requests?phone=%s&limit=100" % PHONE)
        self.assertEqual(len(r.json["data"]), 51)
        self.assertGreater(len(r.raw), 5000000)
        self.assertFalse(r.json["pagination"]["has_more"])

    def test_phone_filter_ignored(self):
        """phone_filter_ignored: ?phone= lists every phone's requests."""
        self.create_approved(fr_body("REF0000001"))
        self.create_approved(fr_body("REF0000002", phone=PHONE2))
        self.assertEqual(len(call("GET", "/owo/v1/fund-requests?phone=" + PHONE).json["data"]), 1)
        sim("POST", "/_sim/config", {"phone_filter_ignored": True})
        self.assertEqual(len(call("GET", "/owo/v1/fund-requests?phone=" + PHONE).json["data"]), 2)


if __name__ == "__main__":
    unittest.main(verbosity=1)
