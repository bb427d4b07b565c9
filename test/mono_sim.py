#!/usr/bin/env python3
"""Mono API simulator for the mono_pay test suite.

Serves, on 127.0.0.1 only, the parts of Mono's HTTP API that mono_pay speaks,
exactly as described in doc/mono-api.md:

* Owo "Direct Charge" under /owo/v1 (user status, beneficiary link/unlink,
  fund requests, and the reconciliation reads), and
* Connect account data under /v2/accounts (details, transactions with
  real-time refresh, balance, credits/debits).

Tests drive it through control endpoints under /_sim: seed users and
accounts, play the WhatsApp user (approve links and fund requests, trigger
debits, expiries), inject faults (5xx, 429, delays, dropped connections,
invalid JSON, seeded random storms), and read back the webhooks Mono would
have POSTed and the requests the client made. See test/SIMULATOR.md.

Standard library only. All state is in memory behind a single lock.
"""

import argparse
import hmac
import json
import math
import os
import queue
import random
import re
import secrets
import signal
import string
import sys
import threading
import time
import traceback
import urllib.error
import urllib.request
import uuid
from datetime import date, datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

# --------------------------------------------------------------------------
# Constants
# --------------------------------------------------------------------------

DEFAULT_SECRET_KEY = "sk_test_mono_pay"
DEFAULT_WEBHOOK_SECRET = "whsec_test_mono_pay"
# Connect needs a connect app, with its own key and webhook secret (§4)
DEFAULT_CONNECT_SECRET_KEY = "sk_test_mono_pay_connect"
DEFAULT_CONNECT_WEBHOOK_SECRET = "whsec_test_mono_pay_connect"
APP_ID = "app_monopaysim01"
BUSINESS_ID = "bus_monopaysim01"
WA_NUMBER = "2348000000000"

DEFAULT_CONFIG = {
    "not_found_as_404": False,
    "realtime_limit_seconds": 300,
    "realtime_job_status": "finished",
    "webhooks_duplicate": 1,
    "webhooks_shuffle_seed": None,
    "webhooks_drop": False,
    # Connect, as Mono documents it (§4); the switches bring back older variants
    "one_app": False,               # true: the payments app's key and secret serve Connect too
    "realtime_repeat": "last_job",  # "429": a repeat within the limit is refused
    "connect_event_ids": False,     # true: event_id/timestamp on jobs.update and real-time account_updated
    "has_new_data_false": False,    # true: has_new_data: false when a refresh found nothing
    "sync_moves_data_status": False,  # true: a finished sync moves data_status as Mono's table says
    # Owo, as Mono documents it (issue 11); the old behaviour behind switches
    "beneficiary_status_in_reads": False,   # True: items carry status, unlinked ones stay listed
    "active_at_approval": False,            # True: owo.fundrequest.active at approval, not at start_date
    "webhook_retry_base_s": 60.0,           # POSTed webhooks not answered 2xx: retried 5 times from this delay
    # Mono off the happy path (issue 22)
    "refuse_key": None,             # 401 or 403: every API call is refused so (the key, not the request)
    "refuse_key_app": None,         # "payments" or "connect": refuse_key refuses that app's key only
    "duplicate_as_400": False,      # True: a re-sent reference is answered 400 "Duplicate transaction", no field errors
    "status_case": "lower",         # "upper": reads spell statuses in capitals (SUCCESSFUL, APPROVED)
    "stale_prompts": False,         # True: a newer request or link for a phone makes its earlier pending prompt stale
    "refuse_unlinked": False,       # True: a fund request for a phone with no linked beneficiary is refused (400)
    "page_padding": 0,              # bytes of padding in every Owo list item (hostile page sizes)
    "page_extra_items": 0,          # items of other phones added to every Owo list page (hostile page sizes)
    "phone_filter_ignored": False,  # True: Owo lists ignore ?phone= (undocumented filter) and list everything
}

# Mono retries an unanswered webhook up to 5 times, 1 min growing to 1 h
# (mono-api.md section 4): the delays as multiples of webhook_retry_base_s.
WEBHOOK_RETRY_FACTORS = (1, 4, 15, 30, 60)

PHONE_RE = re.compile(r"234[0-9]{10}")
REF_RE = re.compile(r"[A-Za-z0-9]{8,32}")
BVN_RE = re.compile(r"[0-9]{11}")
NIP_RE = re.compile(r"[0-9]{6}")
NUBAN_RE = re.compile(r"[0-9]{10}")
ISO_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")

PERIODS = ("day", "week", "month", "year")
FR_TYPES = ("onetime", "recurring")
NEEDS_BVN = ("not_found", "pending_activation", "pending_activiation")
UNLINK_CANCELS = ("approved", "active")
DEBITABLE = ("approved", "processing", "active")
FAULT_KINDS = ("500", "429", "400", "delay", "close_after_body", "invalid_json")
SHORT_FAULTS = ("500", "429", "400")
FLOWS_SHAPES = ("envelope", "bare", "legacy_period", "null", "garbage", "transactions_count")
REALTIME_REPEATS = ("last_job", "429")
REALTIME_HEADERS = ("x-realtime", "x-real-time")
JOB_STATUSES = ("finished", "processing", "failed")
ALNUM = string.ascii_letters + string.digits

FR_STATUS_MESSAGES = {
    "approved": "Fund request has been approved",
    "processing": "Fund request is being processed",
    "active": "Recurring fund request is active",
    "completed": "Fund request has been completed",
    "expired": "Fund request has expired",
}


# --------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------

def now_iso():
    """Current UTC time as ISO 8601 with milliseconds and a Z."""
    t = datetime.now(timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (t.microsecond // 1000)


def new_id(prefix, n=12):
    """A prefixed random alphanumeric id, e.g. ben_Ab12Cd34Ef56."""
    return prefix + "".join(secrets.choice(ALNUM) for _ in range(n))


def digits(n):
    """A random string of n decimal digits."""
    return "".join(secrets.choice(string.digits) for _ in range(n))


def is_int(v):
    """True for a JSON integer (Python int, but not bool)."""
    return isinstance(v, int) and not isinstance(v, bool)


def full(regex, v):
    """True when v is a string entirely matching regex."""
    return isinstance(v, str) and regex.fullmatch(v) is not None


def parse_iso(v):
    """Parse an ISO date or timestamp into an aware UTC datetime, or None."""
    if not isinstance(v, str) or not v.strip():
        return None
    try:
        if ISO_DATE_RE.fullmatch(v):
            d = date.fromisoformat(v)
            return datetime(d.year, d.month, d.day, tzinfo=timezone.utc)
        t = datetime.fromisoformat(v)
    except ValueError:
        return None
    if t.tzinfo is None:
        t = t.replace(tzinfo=timezone.utc)
    return t.astimezone(timezone.utc)


def parse_int_param(query, name, default):
    """Read an integer query parameter; returns (value, ok)."""
    raw = query.get(name)
    if raw is None or raw == "":
        return default, True
    try:
        return int(raw, 10), True
    except ValueError:
        return None, False


def dumps(obj):
    """Compact JSON text, the way Mono sends it."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


class Response:
    """An HTTP answer: status, body bytes, extra headers and content type."""

    def __init__(self, status, body=b"", headers=None, content_type="application/json"):
        self.status = status
        self.body = body
        self.headers = dict(headers or {})
        self.content_type = content_type


def json_response(status, obj, headers=None):
    """A Response carrying obj as JSON."""
    return Response(status, dumps(obj).encode("utf-8"), headers)


def envelope(status, message, data, headers=None, **extra):
    """Mono's success envelope, with optional extra top-level keys."""
    body = {"status": "successful", "message": message, "timestamp": now_iso(), "data": data}
    body.update(extra)
    return json_response(status, body, headers)


def error(status, message, errors=None, headers=None):
    """Mono's error body; `errors` only for validation failures."""
    body = {"status": "error", "message": message, "trace_id": str(uuid.uuid4()),
            "timestamp": now_iso()}
    if errors:
        body["errors"] = errors
    return json_response(status, body, headers)


def invalid(errors):
    """400 'Invalid payload' with field errors."""
    return error(400, "Invalid payload", errors)


def ctl(status, obj):
    """A control-endpoint answer (plain JSON)."""
    return json_response(status, obj)


def ctl_error(status, message):
    """A control-endpoint error answer."""
    return json_response(status, {"ok": False, "error": message})


class Request:
    """What the handler parsed from one HTTP request."""

    def __init__(self, method, path, query_string, headers, raw):
        self.method = method
        self.path = path.rstrip("/") or "/"
        self.query_string = query_string
        self.query = dict(parse_qsl(query_string, keep_blank_values=True))
        self.headers = headers
        self.raw = raw

    def json(self):
        """The body parsed as JSON, or raise ValueError."""
        if not self.raw:
            raise ValueError("empty body")
        return json.loads(self.raw.decode("utf-8"))

    def json_object(self):
        """The body as a JSON object, or None if it is not one."""
        try:
            obj = self.json()
        except (ValueError, UnicodeDecodeError):
            return None
        return obj if isinstance(obj, dict) else None

    def logged_body(self):
        """The body for the request log: parsed JSON, raw text, or None."""
        if not self.raw:
            return None
        try:
            return self.json()
        except (ValueError, UnicodeDecodeError):
            return self.raw.decode("utf-8", "replace")


def compile_routes(table):
    """Compile (method, pattern, name) rows into full-match regexes."""
    return [(m, re.compile(p), n) for m, p, n in table]


def match_route(routes, method, path):
    """Find the handler for method+path; returns (name, params, allowed_methods)."""
    allowed = []
    for m, rx, name in routes:
        mo = rx.fullmatch(path)
        if mo is None:
            continue
        if m == method:
            return name, {k: unquote(v) for k, v in mo.groupdict().items()}, [m]
        allowed.append(m)
    return None, {}, allowed


MONO_ROUTES = compile_routes([
    ("GET", r"/owo/v1/users/status", "m_user_status"),
    ("POST", r"/owo/v1/beneficiaries/link", "m_link"),
    ("POST", r"/owo/v1/beneficiaries/unlink", "m_unlink"),
    ("GET", r"/owo/v1/beneficiaries", "m_list_beneficiaries"),
    ("GET", r"/owo/v1/beneficiaries/(?P<id>[^/]+)", "m_get_beneficiary"),
    ("POST", r"/owo/v1/fund-requests", "m_create_fund_request"),
    ("GET", r"/owo/v1/fund-requests", "m_list_fund_requests"),
    ("GET", r"/owo/v1/fund-requests/(?P<id>[^/]+)", "m_get_fund_request"),
    ("GET", r"/owo/v1/fund-requests/(?P<id>[^/]+)/payments", "m_list_payments"),
    ("GET", r"/owo/v1/fund-requests/(?P<id>[^/]+)/payments/(?P<pid>[^/]+)", "m_get_payment"),
    ("POST", r"/v2/accounts/initiate", "m_initiate"),
    ("GET", r"/v2/accounts/(?P<id>[^/]+)", "m_account"),
    ("GET", r"/v2/accounts/(?P<id>[^/]+)/transactions", "m_transactions"),
    ("GET", r"/v2/accounts/(?P<id>[^/]+)/balance", "m_balance"),
    ("GET", r"/v2/accounts/(?P<id>[^/]+)/credits", "m_credits"),
    ("GET", r"/v2/accounts/(?P<id>[^/]+)/debits", "m_debits"),
    ("GET", r"/v2/accounts/(?P<id>[^/]+)/jobs/(?P<job>[^/]+)", "m_job"),
])

CONTROL_ROUTES = compile_routes([
    ("GET", r"/_sim/health", "c_health"),
    ("POST", r"/_sim/reset", "c_reset"),
    ("GET", r"/_sim/config", "c_config_get"),
    ("POST", r"/_sim/config", "c_config_post"),
    ("POST", r"/_sim/users", "c_users"),
    ("POST", r"/_sim/accounts", "c_accounts_post"),
    ("PATCH", r"/_sim/accounts/(?P<id>[^/]+)", "c_accounts_patch"),
    ("POST", r"/_sim/beneficiaries/(?P<phone>[^/]+)/approve", "c_beneficiary_approve"),
    ("POST", r"/_sim/fund-requests/(?P<ref>[^/]+)/(?P<action>approve|processing|complete|expire|debit|activate|status)",
     "c_fund_request_action"),
    ("GET", r"/_sim/faults", "c_faults_get"),
    ("POST", r"/_sim/faults", "c_faults_post"),
    ("DELETE", r"/_sim/faults", "c_faults_delete"),
    ("GET", r"/_sim/webhooks", "c_webhooks_get"),
    ("POST", r"/_sim/webhooks/emit", "c_webhooks_emit"),
    ("POST", r"/_sim/canned", "c_canned"),
    ("GET", r"/_sim/webhooks/deliveries", "c_webhooks_deliveries"),
    ("GET", r"/_sim/requests", "c_requests"),
    ("GET", r"/_sim/requests/log", "c_requests_log"),
    ("GET", r"/_sim/state", "c_state"),
])


# --------------------------------------------------------------------------
# Validation (spec §2.2, §2.4)
# --------------------------------------------------------------------------

def field_error(field, message):
    """One entry of an error body's `errors` list."""
    return {"field": field, "message": message}


def validate_phone(v, field="phone"):
    """Errors for a Nigerian E.164 phone without '+'."""
    if v is None:
        return [field_error(field, "phone is required")]
    if not full(PHONE_RE, v):
        return [field_error(field, "phone must be 234 followed by 10 digits")]
    return []


def validate_schedule(s, prefix):
    """Errors for a recurring schedule object."""
    if not isinstance(s, dict):
        return [field_error(prefix.rstrip("."), "schedule must be an object")]
    errs = []
    if s.get("period") not in PERIODS:
        errs.append(field_error(prefix + "period", "period must be one of day, week, month, year"))
    iv = s.get("interval")
    if not is_int(iv) or iv < 1:
        errs.append(field_error(prefix + "interval", "interval must be an integer >= 1"))
    start = parse_iso(s.get("start_date"))
    if start is None:
        errs.append(field_error(prefix + "start_date", "start_date is required (ISO date or timestamp)"))
    if s.get("end_date") is not None:
        end = parse_iso(s.get("end_date"))
        if end is None:
            errs.append(field_error(prefix + "end_date", "end_date must be an ISO date or timestamp"))
        elif start is not None and end <= start:
            errs.append(field_error(prefix + "end_date", "end_date must be after start_date"))
    return errs


def validate_fund_request(body, prefix="", with_phone=True):
    """Errors for a fund request body (§2.4); prefix names nested fields."""
    errs = []
    if with_phone:
        errs += validate_phone(body.get("phone"), prefix + "phone")
    if not full(REF_RE, body.get("reference")):
        errs.append(field_error(prefix + "reference",
                                "reference is required: 8-32 alphanumeric characters"))
    typ = body.get("type")
    if typ not in FR_TYPES:
        errs.append(field_error(prefix + "type", "type must be onetime or recurring"))
    desc = body.get("description")
    if not isinstance(desc, str) or not desc.strip():
        errs.append(field_error(prefix + "description", "description is required"))
    amount = body.get("amount")
    if not is_int(amount) or amount <= 0:
        errs.append(field_error(prefix + "amount", "amount must be an integer number of kobo > 0"))
    cur = body.get("currency")
    if cur is None:
        errs.append(field_error(prefix + "currency", "currency is required"))
    elif not isinstance(cur, str) or cur.upper() != "NGN":
        errs.append(field_error(prefix + "currency", "currency must be NGN"))
    if typ == "recurring":
        if body.get("schedule") is None:
            errs.append(field_error(prefix + "schedule", "schedule is required for recurring fund requests"))
        else:
            errs += validate_schedule(body["schedule"], prefix + "schedule.")
    return errs


def validate_link(body, user_status):
    """Errors for a beneficiary link body (§2.2)."""
    errs = validate_phone(body.get("phone"))
    bvn = body.get("bvn")
    if bvn is not None:
        if not full(BVN_RE, bvn):
            errs.append(field_error("bvn", "bvn must be exactly 11 digits"))
    elif not errs and user_status in NEEDS_BVN:
        errs.append(field_error("bvn", "bvn is required when the user status is %s" % user_status))
    fb = body.get("fund_beneficiary")
    if not isinstance(fb, dict):
        errs.append(field_error("fund_beneficiary", "fund_beneficiary is required"))
    else:
        name = fb.get("name")
        if not isinstance(name, str) or not (2 <= len(name) <= 100) or len(name.strip()) < 2:
            errs.append(field_error("fund_beneficiary.name", "name must be 2-100 characters"))
        if not full(NIP_RE, fb.get("nip_code")):
            errs.append(field_error("fund_beneficiary.nip_code", "nip_code must be 6 digits"))
        if not full(NUBAN_RE, fb.get("account_number")):
            errs.append(field_error("fund_beneficiary.account_number",
                                    "account_number must be 10 digits"))
    fr = body.get("fund_request")
    if fr is not None:
        if not isinstance(fr, dict):
            errs.append(field_error("fund_request", "fund_request must be an object"))
        else:
            errs += validate_fund_request(fr, "fund_request.", with_phone=False)
    return errs


def references_in(req):
    """The fund-request references a POST body carries (top level or fund_request)."""
    obj = req.json_object()
    if obj is None:
        return set()
    refs = set()
    if isinstance(obj.get("reference"), str):
        refs.add(obj["reference"])
    fr = obj.get("fund_request")
    if isinstance(fr, dict) and isinstance(fr.get("reference"), str):
        refs.add(fr["reference"])
    return refs


def redacted_headers(headers, key_ok):
    """Request headers for the log, with mono-sec-key hidden."""
    out = dict(headers)
    if "mono-sec-key" in out:
        out["mono-sec-key"] = "<redacted>" if key_ok else "<wrong>"
    return out


# --------------------------------------------------------------------------
# Connect account seeding
# --------------------------------------------------------------------------

def default_account(acc_id):
    """A fresh account record with sensible defaults."""
    return {
        "id": acc_id, "name": "Ada Obi", "account_number": "0123456789", "currency": "NGN",
        "balance": 0, "type": "SAVINGS_ACCOUNT", "bvn": None,
        "institution": {"name": "GTBank", "bank_code": "058", "type": "PERSONAL_BANKING"},
        "customer": new_id("cus_"), "data_status": "AVAILABLE",
        "retrieved_data": ["identity", "balance", "transactions"],
        "auth_method": "internet_banking", "ref": None,
        "transactions": [], "pending_new_transactions": [], "flows_shape": "envelope",
        "needs_reauth": False,
    }


def normalize_transaction(t):
    """Fill defaults of one seeded transaction; raise ValueError when unusable."""
    if not isinstance(t, dict):
        raise ValueError("a transaction must be an object")
    out = {"id": t.get("id") or new_id("txn_"), "narration": t.get("narration", ""),
           "amount": t.get("amount"), "type": t.get("type"), "balance": t.get("balance"),
           "date": t.get("date") or now_iso(), "category": t.get("category")}
    if not is_int(out["amount"]) or out["amount"] < 0:
        raise ValueError("transaction amount must be an unsigned integer (kobo)")
    if out["type"] not in ("debit", "credit"):
        raise ValueError("transaction type must be debit or credit")
    if parse_iso(out["date"]) is None:
        raise ValueError("transaction date must be ISO 8601: %r" % out["date"])
    return out


def merge_account(base, spec):
    """Merge seed fields into an account record; raise ValueError on bad input."""
    acc = dict(base)
    for k, v in spec.items():
        if k == "institution":
            inst = dict(acc.get("institution") or {})
            if not isinstance(v, dict):
                raise ValueError("institution must be an object")
            inst.update(v)
            acc["institution"] = inst
        elif k == "customer":
            acc["customer"] = v.get("id") if isinstance(v, dict) else v
        elif k in ("transactions", "pending_new_transactions"):
            if not isinstance(v, list):
                raise ValueError("%s must be a list" % k)
            acc[k] = [normalize_transaction(t) for t in v]
        else:
            acc[k] = v
    if acc.get("flows_shape") not in FLOWS_SHAPES:
        raise ValueError("flows_shape must be one of " + ", ".join(FLOWS_SHAPES))
    return acc


def bvn_last4(bvn):
    """The last 4 digits of a seeded BVN, or None."""
    if isinstance(bvn, str) and len(bvn) >= 4:
        return bvn[-4:]
    return None


def tx_datetime(t):
    """A transaction's date as an aware datetime."""
    return parse_iso(t["date"])


def sorted_transactions(txs):
    """Transactions newest first (Mono's order)."""
    return sorted(txs, key=tx_datetime, reverse=True)


# --------------------------------------------------------------------------
# The simulator state and its operations
# --------------------------------------------------------------------------

class Simulator:
    """All simulator state plus the Mono and control handlers, behind one lock."""

    def __init__(self, secret_key, webhook_secret, webhook_url=None,
                 connect_secret_key=DEFAULT_CONNECT_SECRET_KEY,
                 connect_webhook_secret=DEFAULT_CONNECT_WEBHOOK_SECRET,
                 webhook_workers=1, webhook_retries=5, webhook_retry_base=None):
        """Create an empty simulator."""
        self.secret_key = secret_key
        self.webhook_secret = webhook_secret
        self.connect_secret_key = connect_secret_key
        self.connect_webhook_secret = connect_webhook_secret
        self.webhook_url = webhook_url
        self.webhook_retries = webhook_retries
        # the config a reset returns to: --webhook-retry-base shortens Mono's delays
        self.default_config = dict(DEFAULT_CONFIG)
        if webhook_retry_base is not None:
            self.default_config["webhook_retry_base_s"] = webhook_retry_base
        self.base_url = "http://127.0.0.1"
        self.lock = threading.RLock()
        self.delivery = queue.Queue()
        self.reset()
        if webhook_url:
            for _ in range(max(1, webhook_workers)):
                threading.Thread(target=self._deliver_loop, daemon=True).start()

    # ---- state -----------------------------------------------------------

    def reset(self):
        """Forget everything and restore the default config."""
        with self.lock:
            self.config = dict(self.default_config)
            self.users = {}             # phone -> status
            self.pending_links = {}     # phone -> link record
            self.beneficiaries = {}     # ben id -> record (insertion ordered)
            self.fund_requests = {}     # reference -> record
            self.frq_by_id = {}         # frq id -> reference (order of becoming visible)
            self.payments = {}          # pay id -> record
            self.accounts = {}          # account id -> record
            self.realtime_last = {}     # account id -> monotonic time of last refresh
            self.realtime_job = {}      # account id -> headers of its last real-time job
            self.jobs = {}              # job id -> GET .../jobs/{id} data
            self.canned = []            # verbatim answers, consumed in order (c_canned)
            self.faults = []            # counted faults, consumed in order
            self.storm = None           # random fault storm
            self.events = []            # produced webhooks
            self.deliveries = []        # POSTs of webhooks to --webhook-url: attempt, answer
            self.delivery_counts = {"attempts": 0, "delivered": 0, "retried": 0,
                                    "gave_up": 0, "by_status": {}}
            self.total_requests = 0
            self.by_path = {}
            self.realtime_by_path = {}  # requests that asked for a real-time refresh
            self.by_reference = {}
            self.request_log = []

    def is_connect(self, path):
        """True when a path belongs to the connect app (Connect's /v2 API)."""
        return path.startswith("/v2/") and not self.config["one_app"]

    def key_for(self, path):
        """The secret key of the app a path belongs to (§4: one app per product)."""
        return self.connect_secret_key if self.is_connect(path) else self.secret_key

    def webhook_secret_for(self, event):
        """The webhook secret of the app an event comes from: mono.* events are Connect's."""
        if isinstance(event, str) and event.startswith("mono.") and not self.config["one_app"]:
            return self.connect_webhook_secret
        return self.webhook_secret

    def authorized(self, headers, path=""):
        """True when the mono-sec-key header equals the key of the path's app."""
        key = headers.get("mono-sec-key")
        return key is not None and hmac.compare_digest(key.encode("utf-8"),
                                                       self.key_for(path).encode("utf-8"))

    # ---- webhooks --------------------------------------------------------

    def emit(self, event, data, event_id=True, timestamp=None):
        """Record a webhook event (and queue it for POSTing); returns its record.
        event_id None: none (timestamp False: none either)."""
        body = {"event": event}
        if event_id is True:
            body["event_id"] = new_id("evt_")
        elif event_id is not None:
            body["event_id"] = event_id
        if timestamp is not False:
            body["timestamp"] = timestamp or now_iso()
        body["data"] = data
        rec = {"seq": len(self.events) + 1, "body": dumps(body),
               "secret": self.webhook_secret_for(event),
               "dropped": bool(self.config["webhooks_drop"])}
        self.events.append(rec)
        if self.webhook_url and not rec["dropped"]:
            for _ in range(max(1, int(self.config["webhooks_duplicate"]))):
                self.delivery.put((rec["body"], rec["secret"], 1))
        return rec

    def emit_connect_job_event(self, event, data):
        """A Connect job's webhook: no event_id nor timestamp, as Mono's samples (§4)."""
        if self.config["connect_event_ids"]:
            return self.emit(event, data)
        return self.emit(event, data, event_id=None, timestamp=False)

    def _deliver_loop(self):
        """Background thread: POST queued webhook bodies to --webhook-url. An
        answer other than 2xx (or none) is retried, as Mono does, up to
        --webhook-retries times (5), after webhook_retry_base_s times 1, 4, 15,
        30 and 60 (Mono: 1 min to 1 h; tests shorten the base).
        GET /_sim/webhooks/deliveries lists and counts the outcomes."""
        while True:
            text, secret, attempt = self.delivery.get()
            req = urllib.request.Request(
                self.webhook_url, data=text.encode("utf-8"), method="POST",
                headers={"content-type": "application/json",
                         "mono-webhook-secret": secret})
            status = None
            try:
                with urllib.request.urlopen(req, timeout=5) as r:
                    r.read()
                    status = r.status
            except urllib.error.HTTPError as e:
                status = e.code
            except Exception:  # no answer: retried like a non-2xx one
                pass
            self._count_delivery(text, secret, attempt, status)

    def _count_delivery(self, text, secret, attempt, status):
        """Record one delivery attempt; schedule its retry unless it got a 2xx."""
        with self.lock:
            self.deliveries.append({"event_id": json.loads(text).get("event_id"),
                                    "attempt": attempt, "status": status,
                                    "time": now_iso()})
            del self.deliveries[:-2000]
            d = self.delivery_counts
            d["attempts"] += 1
            key = str(status) if status is not None else "no_answer"
            d["by_status"][key] = d["by_status"].get(key, 0) + 1
            if status is not None and 200 <= status < 300:
                d["delivered"] += 1
                return
            if attempt > self.webhook_retries:
                d["gave_up"] += 1
                return
            d["retried"] += 1
            base = float(self.config["webhook_retry_base_s"])
        factor = WEBHOOK_RETRY_FACTORS[min(attempt, len(WEBHOOK_RETRY_FACTORS)) - 1]
        t = threading.Timer(base * factor, self.delivery.put, args=((text, secret, attempt + 1),))
        t.daemon = True
        t.start()

    def webhook_listing(self, since):
        """The /_sim/webhooks answer, honouring duplicate/shuffle/drop."""
        items = []
        for rec in self.events[since:]:
            if rec["dropped"]:
                continue
            headers = {"mono-webhook-secret": rec["secret"], "content-type": "application/json"}
            entry = {"seq": rec["seq"], "headers": headers, "body": rec["body"]}
            items.extend(dict(entry) for _ in range(max(1, int(self.config["webhooks_duplicate"]))))
        seed = self.config["webhooks_shuffle_seed"]
        if seed is not None:
            random.Random(seed).shuffle(items)
        return {"next": len(self.events), "webhooks": items}

    # ---- faults ----------------------------------------------------------

    def take_fault(self, method, path):
        """The fault to apply to this Mono call (consuming a counted one), or None."""
        for f in self.faults:
            if f["count"] > 0 and path.startswith(f["path_prefix"]) and \
                    f["method"] in (None, method):
                f["count"] -= 1
                if f["count"] == 0:
                    self.faults.remove(f)
                return f
        s = self.storm
        if s and path.startswith(s["path_prefix"]) and s["method"] in (None, method):
            if s["rng"].random() < s["random_rate"]:
                kind = s["kinds"][s["rng"].randrange(len(s["kinds"]))]
                return dict(s, kind=kind)
        return None

    @staticmethod
    def fault_response(fault):
        """The answer to a request that a 500/429/400 fault stops before processing."""
        if fault["kind"] == "429":
            return error(429, "Too many requests, please retry later",
                         headers={"Retry-After": str(fault["retry_after"])})
        if fault["kind"] == "400":
            return error(400, fault.get("message") or "Bad request", fault.get("errors"))
        return error(500, "Internal server error")

    # ---- request accounting ---------------------------------------------

    def record(self, req, resp, fault):
        """Count a Mono request and append it to the request log."""
        self.total_requests += 1
        key = "%s %s" % (req.method, req.path)
        self.by_path[key] = self.by_path.get(key, 0) + 1
        if self.asks_realtime(req):
            self.realtime_by_path[key] = self.realtime_by_path.get(key, 0) + 1
        if req.method == "POST":
            for ref in references_in(req):
                c = self.by_reference.setdefault(ref, {"received": 0, "accepted": 0})
                c["received"] += 1
                if resp.status == 202:
                    c["accepted"] += 1
        kind = fault["kind"] if fault else None
        self.request_log.append({
            "method": req.method, "path": req.path, "query": req.query,
            "headers": redacted_headers(req.headers, self.authorized(req.headers, req.path)),
            "body": req.logged_body(),
            "status": None if kind == "close_after_body" else resp.status,
            "fault": kind, "time": now_iso()})
        del self.request_log[:-2000]

    # ---- entry points ----------------------------------------------------

    def take_canned(self, method, path):
        """A canned answer for this call (consuming it), or None."""
        for c in self.canned:
            if c["method"] == method and c["path"] == path:
                c["count"] -= 1
                if c["count"] == 0:
                    self.canned.remove(c)
                return Response(c["status"], c["body"].encode("utf-8"), dict(c["headers"]))
        return None

    def handle_mono(self, req):
        """Process one Mono API request; returns (Response, fault or None)."""
        with self.lock:
            self.activate_due()
            canned = self.take_canned(req.method, req.path)
            if canned is not None:
                self.record(req, canned, None)
                return canned, None
            fault = self.take_fault(req.method, req.path)
            if fault and fault["kind"] in SHORT_FAULTS:
                resp = self.fault_response(fault)
            else:
                resp = self.dispatch_mono(req)
            self.record(req, resp, fault)
            return resp, fault

    def dispatch_mono(self, req):
        """Route a Mono request: 404, 405, 401, then the handler."""
        name, params, allowed = match_route(MONO_ROUTES, req.method, req.path)
        if name is None and not allowed:
            return error(404, "Resource not found: %s" % req.path)
        if name is None:
            return error(405, "Method not allowed", headers={"Allow": ", ".join(allowed)})
        if not self.authorized(req.headers, req.path):
            return error(401, "Invalid authentication credentials")
        refused = self.config["refuse_key"]
        app = "connect" if self.is_connect(req.path) else "payments"
        if self.config["refuse_key_app"] not in (None, app):
            refused = None
        if refused == 401:
            return error(401, "No valid API key provided")
        if refused == 403:
            return error(403, "The API key doesn't have permissions to perform the request")
        return getattr(self, name)(req, params)

    def handle_control(self, req):
        """Process one /_sim control request."""
        name, params, allowed = match_route(CONTROL_ROUTES, req.method, req.path)
        if name is None and not allowed:
            return ctl_error(404, "unknown control endpoint %s" % req.path)
        if name is None:
            return ctl_error(405, "method not allowed; use " + ", ".join(allowed))
        with self.lock:
            self.activate_due()
            return getattr(self, name)(req, params)

    # ---- Owo: objects ----------------------------------------------------

    def ben_public(self, b):
        """A beneficiary as the reads show it: {id, phone, name}, Mono's documented
        list item; with beneficiary_status_in_reads, the old fuller shape with status."""
        if self.config["beneficiary_status_in_reads"]:
            return {k: b[k] for k in ("id", "nickname", "phone", "name", "account_number",
                                      "bank_code", "status")}
        return {k: b[k] for k in ("id", "phone", "name")}

    def ben_readable(self, b):
        """Does a read show this beneficiary? Linked ones only (Mono lists a
        beneficiary once linked), unless beneficiary_status_in_reads."""
        return self.config["beneficiary_status_in_reads"] or b["status"] == "linked"

    @staticmethod
    def fr_created_data(fr):
        """The owo.fundrequest.created payload of a fund request."""
        return {k: fr[k] for k in ("id", "reference", "phone", "type", "beneficiary",
                                   "description", "amount", "currency", "schedule")}

    def read_status(self, status):
        """A status as the reads spell it: status_case "upper" capitalises it."""
        if self.config["status_case"] == "upper" and isinstance(status, str):
            return status.upper()
        return status

    def fr_public(self, fr):
        """A fund request as the reads show it."""
        d = self.fr_created_data(fr)
        d["status"] = self.read_status(fr["status"])
        return d

    @staticmethod
    def fr_status_data(fr):
        """The payload of an owo.fundrequest.<status> event."""
        return {"id": fr["id"], "message": FR_STATUS_MESSAGES.get(fr["status"], fr["status"]),
                "status": fr["status"], "app": APP_ID, "business": BUSINESS_ID}

    @staticmethod
    def pay_public(p, status_case="lower"):
        """A payment as the reads show it (status_case "upper": its status in capitals)."""
        d = {k: p[k] for k in ("id", "reference", "fund_request", "beneficiary", "status",
                               "amount", "currency", "processed_at", "session_id", "message")}
        if status_case == "upper":
            d["status"] = d["status"].upper()
        return d

    @staticmethod
    def pay_event_data(p):
        """The payload of an owo.payment.<status> event."""
        keys = ["id", "reference", "fund_request", "beneficiary", "status", "amount",
                "currency", "processed_at", "session_id"]
        if p["status"] == "failed":
            keys.remove("beneficiary")
            keys.append("message")
        return {k: p[k] for k in keys}

    @staticmethod
    def redirect_url():
        """A fresh wa.me redirect URL carrying an opaque token."""
        token = "Hi Mono, please continue my request. Code: OWO-%s" % new_id("", 16)
        return "https://wa.me/%s?text=%s" % (WA_NUMBER, quote(token, safe=""))

    def new_fund_request(self, body, phone):
        """Record an accepted (pending) fund request from a validated body."""
        sched = None
        if body["type"] == "recurring":
            s = body["schedule"]
            sched = {"period": s["period"], "interval": s["interval"],
                     "start_date": s["start_date"], "end_date": s.get("end_date")}
        fr = {"id": None, "reference": body["reference"], "phone": phone, "type": body["type"],
              "beneficiary": None, "description": body["description"], "amount": body["amount"],
              "currency": "NGN", "schedule": sched, "status": "pending",
              "accepted_at": now_iso()}
        self.fund_requests[fr["reference"]] = fr
        return fr

    def make_prompts_stale(self, phone):
        """stale_prompts: a new prompt for a phone makes its earlier pending fund
        requests unusable (Mono ties redirect_url to the user's most recent
        request): they can no longer be approved."""
        if not self.config["stale_prompts"]:
            return
        for fr in self.fund_requests.values():
            if fr["phone"] == phone and fr["status"] == "pending":
                fr["stale"] = True

    def latest_beneficiary(self, phone):
        """Id of the phone's most recently linked beneficiary, or None."""
        for b in reversed(list(self.beneficiaries.values())):
            if b["phone"] == phone and b["status"] == "linked":
                return b["id"]
        return None

    def make_visible(self, fr, status):
        """Give a pending fund request its frq id and a status."""
        fr["id"] = new_id("frq_")
        fr["status"] = status
        self.frq_by_id[fr["id"]] = fr["reference"]

    def set_fr_status(self, fr, status):
        """Move a fund request to a status and emit the matching event."""
        fr["status"] = status
        self.emit("owo.fundrequest." + status, self.fr_status_data(fr))

    def approve_fund_request(self, fr, beneficiary=None):
        """The user authorises: created and approved; a recurring request
        becomes active at its schedule's start date (Mono's sample timeline),
        or at once with active_at_approval."""
        self.make_visible(fr, "approved")
        fr["beneficiary"] = beneficiary or self.latest_beneficiary(fr["phone"])
        self.emit("owo.fundrequest.created", self.fr_created_data(fr))
        self.emit("owo.fundrequest.approved", self.fr_status_data(fr))
        if fr["type"] == "recurring":
            start = parse_iso(fr["schedule"]["start_date"])
            if self.config["active_at_approval"] or start is None or \
                    start <= datetime.now(timezone.utc):
                self.set_fr_status(fr, "active")
            else:
                fr["activate_at"] = fr["schedule"]["start_date"]

    def activate_due(self):
        """Recurring requests whose start date has come become active (with their event)."""
        now = datetime.now(timezone.utc)
        for fr in self.fund_requests.values():
            at = parse_iso(fr.get("activate_at"))
            if at is not None and at <= now and fr["status"] == "approved":
                fr["activate_at"] = None
                self.set_fr_status(fr, "active")

    def visible_fund_request(self, frq_id):
        """The fund request with this frq id, if visible."""
        ref = self.frq_by_id.get(frq_id)
        return self.fund_requests.get(ref) if ref else None

    # ---- Owo: paging -----------------------------------------------------

    @staticmethod
    def page_params(query):
        """Validated (limit, offset, errors) for an Owo list."""
        errs = []
        limit, ok = parse_int_param(query, "limit", 15)
        if not ok or limit < 1:
            errs.append(field_error("limit", "limit must be an integer between 1 and 100"))
        elif limit > 100:
            errs.append(field_error("limit", "limit must not exceed 100"))
        offset, ok = parse_int_param(query, "offset", 0)
        if not ok or offset < 0:
            errs.append(field_error("offset", "offset must be an integer >= 0"))
        return limit, offset, errs

    def owo_list(self, query, items, message):
        """An Owo list answer with pagination beside data."""
        limit, offset, errs = self.page_params(query)
        if errs:
            return invalid(errs)
        page = items[offset:offset + limit]
        has_more = offset + len(page) < len(items)
        page = self.hostile_page(page)
        return envelope(200, message, page, pagination={
            "offset": offset, "limit": limit, "has_more": has_more})

    def hostile_page(self, page):
        """page_padding and page_extra_items: the same page made large."""
        pad = int(self.config["page_padding"])
        extra = int(self.config["page_extra_items"])
        if not pad and not extra:
            return page
        page = [dict(x) for x in page]
        for i in range(extra):
            page.append({"id": "frq_hostile%06d" % i, "reference": "HOSTILE%09d" % i,
                         "phone": "2349000000000", "type": "onetime", "amount": 1,
                         "status": "created", "description": "x"})
        if pad:
            for x in page:
                x["padding"] = "p" * pad
        return page

    def phone_filter(self, query):
        """(phone or None, errors) from an optional ?phone= filter (Mono does not
        document it: phone_filter_ignored lists everything)."""
        phone = query.get("phone")
        if phone in (None, "") or self.config["phone_filter_ignored"]:
            return None, []
        return phone, validate_phone(phone)

    # ---- Owo: handlers ---------------------------------------------------

    def m_user_status(self, req, p):
        """GET /owo/v1/users/status?phone= (§2.1)."""
        phone = req.query.get("phone")
        errs = validate_phone(phone)
        if errs:
            return invalid(errs)
        status = self.users.get(phone)
        if status is None or status == "not_found":
            if self.config["not_found_as_404"]:
                return error(404, "User not found")
            return envelope(200, "User status retrieved", {"exists": False, "status": "not_found"})
        return envelope(200, "User status retrieved", {"exists": True, "status": status})

    def m_link(self, req, p):
        """POST /owo/v1/beneficiaries/link (§2.2)."""
        body = req.json_object()
        if body is None:
            return invalid([field_error("body", "body must be a JSON object")])
        phone = body.get("phone")
        status = self.users.get(phone, "not_found") if isinstance(phone, str) else "not_found"
        errs = validate_link(body, status)
        if errs:
            return invalid(errs)
        frb = body.get("fund_request")
        if frb is not None and frb["reference"] in self.fund_requests:
            return error(409, "Duplicate reference: a fund request with this reference already exists")
        fb = body["fund_beneficiary"]
        self.make_prompts_stale(phone)
        self.pending_links[phone] = {
            "phone": phone, "bvn": body.get("bvn"), "name": fb["name"],
            "nip_code": fb["nip_code"], "account_number": fb["account_number"],
            "fund_reference": frb["reference"] if frb else None, "requested_at": now_iso()}
        if frb is not None:
            self.new_fund_request(frb, phone)
        return envelope(202, "Beneficiary link initiated; redirect the user to WhatsApp",
                        {"redirect_url": self.redirect_url()})

    def m_unlink(self, req, p):
        """POST /owo/v1/beneficiaries/unlink (§2.3)."""
        body = req.json_object()
        if body is None:
            return invalid([field_error("body", "body must be a JSON object")])
        ben_id = body.get("id")
        if not isinstance(ben_id, str) or not ben_id:
            return invalid([field_error("id", "id is required")])
        ben = self.beneficiaries.get(ben_id)
        if ben is None or ben["status"] != "linked":
            return error(404, "Beneficiary not found")
        ben["status"] = "unlinked"
        for ref in self.frq_by_id.values():
            fr = self.fund_requests[ref]
            if fr["beneficiary"] == ben_id and fr["type"] == "recurring" and \
                    fr["status"] in UNLINK_CANCELS:
                fr["status"] = "cancelled"
        self.emit("owo.beneficiary.unlinked", {"id": ben_id, "phone": ben["phone"]})
        return envelope(200, "Beneficiary unlinked", None)

    def m_list_beneficiaries(self, req, p):
        """GET /owo/v1/beneficiaries?phone=&limit=&offset= (§2.5)."""
        phone, errs = self.phone_filter(req.query)
        if errs:
            return invalid(errs)
        items = [self.ben_public(b) for b in self.beneficiaries.values()
                 if (phone is None or b["phone"] == phone) and self.ben_readable(b)]
        return self.owo_list(req.query, items, "Beneficiaries retrieved")

    def m_get_beneficiary(self, req, p):
        """GET /owo/v1/beneficiaries/{id} (§2.5)."""
        ben = self.beneficiaries.get(p["id"])
        if ben is None or not self.ben_readable(ben):
            return error(404, "Beneficiary not found")
        return envelope(200, "Beneficiary retrieved", self.ben_public(ben))

    def m_create_fund_request(self, req, p):
        """POST /owo/v1/fund-requests (§2.4)."""
        body = req.json_object()
        if body is None:
            return invalid([field_error("body", "body must be a JSON object")])
        errs = validate_fund_request(body)
        if errs:
            return invalid(errs)
        if body["reference"] in self.fund_requests:
            if self.config["duplicate_as_400"]:
                return error(400, "Duplicate transaction")
            return error(409, "Duplicate reference: a fund request with this reference already exists")
        if self.config["refuse_unlinked"] and self.latest_beneficiary(body["phone"]) is None:
            return error(400, "Beneficiary not linked: link the customer's account first")
        self.make_prompts_stale(body["phone"])
        self.new_fund_request(body, body["phone"])
        return envelope(202, "Fund request initiated; redirect the user to WhatsApp",
                        {"redirect_url": self.redirect_url()})

    def m_list_fund_requests(self, req, p):
        """GET /owo/v1/fund-requests?phone=&limit=&offset= (§2.5)."""
        phone, errs = self.phone_filter(req.query)
        if errs:
            return invalid(errs)
        items = [self.fr_public(self.fund_requests[r]) for r in self.frq_by_id.values()
                 if phone is None or self.fund_requests[r]["phone"] == phone]
        return self.owo_list(req.query, items, "Fund requests retrieved")

    def m_get_fund_request(self, req, p):
        """GET /owo/v1/fund-requests/{id} (§2.5)."""
        fr = self.visible_fund_request(p["id"])
        if fr is None:
            return error(404, "Fund request not found")
        return envelope(200, "Fund request retrieved", self.fr_public(fr))

    def m_list_payments(self, req, p):
        """GET /owo/v1/fund-requests/{id}/payments (§2.5)."""
        fr = self.visible_fund_request(p["id"])
        if fr is None:
            return error(404, "Fund request not found")
        items = [self.pay_public(x, self.config["status_case"]) for x in self.payments.values()
                 if x["fund_request"] == fr["id"]]
        return self.owo_list(req.query, items, "Payments retrieved")

    def m_get_payment(self, req, p):
        """GET /owo/v1/fund-requests/{id}/payments/{payment_id} (§2.5)."""
        fr = self.visible_fund_request(p["id"])
        pay = self.payments.get(p["pid"])
        if fr is None or pay is None or pay["fund_request"] != fr["id"]:
            return error(404, "Payment not found")
        return envelope(200, "Payment retrieved", self.pay_public(pay, self.config["status_case"]))

    # ---- Connect: helpers ------------------------------------------------

    def account_or_404(self, acc_id):
        """(account, None) or (None, 404 response)."""
        acc = self.accounts.get(acc_id)
        if acc is None:
            return None, error(404, "Account not found")
        return acc, None

    @staticmethod
    def account_camel(acc):
        """The camelCase account of mono.events.account_updated (§3.4)."""
        inst = acc.get("institution") or {}
        return {"_id": acc["id"], "name": acc["name"], "accountNumber": acc["account_number"],
                "currency": acc["currency"], "balance": acc["balance"], "type": acc["type"],
                "bvn": bvn_last4(acc.get("bvn")), "authMethod": acc["auth_method"],
                "institution": {"name": inst.get("name"), "bankCode": inst.get("bank_code"),
                                "type": inst.get("type")}}

    def finish_job(self, acc, job_id, status, job_name):
        """End a real-time job: move new data, emit the two Connect events; returns has_new_data.
        An account that needs re-authorisation fails the job (sync_status
        REAUTHORISATION_REQUIRED); has_new_data is only present when true."""
        moved = False
        reauth = bool(acc.get("needs_reauth"))
        if reauth:
            status = "failed"
        if status != "failed" and self.config["sync_moves_data_status"]:
            self.sync_data_status(acc)
        if status != "failed" and acc["pending_new_transactions"]:
            acc["transactions"] = acc["transactions"] + acc["pending_new_transactions"]
            acc["pending_new_transactions"] = []
            moved = True
        if job_id in self.jobs:
            self.jobs[job_id]["status"] = status
        self.emit_connect_job_event("mono.accounts.jobs.update", {
            "account": acc["id"], "business": BUSINESS_ID, "app": APP_ID, "id": job_id,
            "name": job_name, "status": status})
        meta = {"data_status": acc["data_status"], "auth_method": acc["auth_method"],
                "ref": acc.get("ref"),
                "sync_status": "REAUTHORISATION_REQUIRED" if reauth else
                ("FAILED" if status == "failed" else "SUCCESSFUL"),
                "job_id": job_id}
        if moved or self.config["has_new_data_false"]:
            meta["has_new_data"] = moved
        meta["retrieved_data"] = acc["retrieved_data"]
        self.emit_connect_job_event("mono.events.account_updated",
                                    {"account": self.account_camel(acc), "meta": meta})
        return moved

    @staticmethod
    def sync_data_status(acc):
        """Move data_status as Mono's sync table says (doc/mono-api.md section 4):
        a finished sync is how FAILED, UNAVAILABLE and PARTIAL accounts leave
        those states. They become the account's data_status_after_sync (seed
        it, e.g. "UNAVAILABLE" for an account with no data at all), AVAILABLE
        by default, with every item retrieved. PROCESSING and AVAILABLE stay."""
        if str(acc.get("data_status")).upper() not in ("FAILED", "UNAVAILABLE", "PARTIAL"):
            return
        after = acc.get("data_status_after_sync") or "AVAILABLE"
        acc["data_status"] = after
        if after.upper() == "AVAILABLE":
            acc["retrieved_data"] = ["identity", "balance", "transactions"]

    @staticmethod
    def asks_realtime(req):
        """True when a request asks for a real-time refresh (either spelling, §4)."""
        return any(req.headers.get(h, "").strip().lower() == "true" for h in REALTIME_HEADERS)

    def realtime(self, req, acc, job_name):
        """Handle x-realtime / x-real-time: returns (headers, error response, deferred finish).
        A repeat within the limit gets the last job's headers unchanged (§4),
        or 429 with realtime_repeat "429"."""
        if not self.asks_realtime(req):
            return {}, None, None
        limit = self.config["realtime_limit_seconds"]
        now = time.monotonic()
        last = self.realtime_last.get(acc["id"])
        if last is not None and now - last < limit:
            if self.config["realtime_repeat"] == "last_job" and acc["id"] in self.realtime_job:
                return dict(self.realtime_job[acc["id"]]), None, None
            wait = max(1, math.ceil(limit - (now - last)))
            return None, error(429, "Real-time refresh limit reached for this account; retry later",
                               headers={"Retry-After": str(wait)}), None
        self.realtime_last[acc["id"]] = now
        job_id = new_id("job_")
        status = "failed" if acc.get("needs_reauth") else self.config["realtime_job_status"]
        headers = {"x-job-id": job_id, "x-job-status": status}
        self.realtime_job[acc["id"]] = headers
        self.jobs[job_id] = {"id": job_id, "status": status, "name": job_name, "account": acc["id"],
                             "business": BUSINESS_ID, "app": APP_ID}
        if status == "processing":
            return dict(headers), None, lambda: self.finish_job(acc, job_id, "finished", job_name)
        if self.finish_job(acc, job_id, status, job_name):
            headers["x-has-new-data"] = "true"
        return dict(headers), None, None

    def tx_filters(self, query):
        """Validated transaction filters: (filters dict, errors)."""
        errs, f = [], {}
        for name in ("start", "end"):
            raw = query.get(name)
            if raw:
                try:
                    f[name] = datetime.strptime(raw, "%d-%m-%Y").date()
                except ValueError:
                    errs.append(field_error(name, "%s must be DD-MM-YYYY" % name))
        typ = query.get("type")
        if typ:
            if typ not in ("debit", "credit"):
                errs.append(field_error("type", "type must be debit or credit"))
            f["type"] = typ
        f["narration"] = (query.get("narration") or "").lower()
        paginate = (query.get("paginate") or "true").lower()
        if paginate not in ("true", "false"):
            errs.append(field_error("paginate", "paginate must be true or false"))
        f["paginate"] = paginate != "false"
        f["limit"], ok = parse_int_param(query, "limit", 20)
        if not ok or f["limit"] < 1:
            errs.append(field_error("limit", "limit must be a positive integer"))
        f["page"], ok = parse_int_param(query, "page", 1)
        if not ok or f["page"] < 1:
            errs.append(field_error("page", "page must be a positive integer"))
        return f, errs

    @staticmethod
    def tx_matches(t, f):
        """True when a transaction passes the filters."""
        d = tx_datetime(t).date()
        if "start" in f and d < f["start"]:
            return False
        if "end" in f and d > f["end"]:
            return False
        if "type" in f and t["type"] != f["type"]:
            return False
        return f["narration"] in (t.get("narration") or "").lower()

    def page_url(self, req, page):
        """The URL of another page of the same transactions query."""
        q = dict(req.query)
        q["page"] = str(page)
        return "%s%s?%s" % (self.base_url, req.path, urlencode(q))

    # ---- Connect: handlers -----------------------------------------------

    def m_account(self, req, p):
        """GET /v2/accounts/{id} (§3.1)."""
        acc, err = self.account_or_404(p["id"])
        if err:
            return err
        inst = acc.get("institution") or {}
        data = {
            "account": {"id": acc["id"], "name": acc["name"], "account_number": acc["account_number"],
                        "currency": acc["currency"], "balance": acc["balance"], "type": acc["type"],
                        "bvn": bvn_last4(acc.get("bvn")),
                        "institution": {"name": inst.get("name"), "bank_code": inst.get("bank_code"),
                                        "type": inst.get("type")}},
            "customer": {"id": acc["customer"]},
            "meta": {"data_status": acc["data_status"], "auth_method": acc["auth_method"],
                     "retrieved_data": acc["retrieved_data"], "ref": acc.get("ref")}}
        return envelope(200, "Request was successfully completed", data)

    def m_transactions(self, req, p):
        """GET /v2/accounts/{id}/transactions (§3.5, §3.3)."""
        acc, err = self.account_or_404(p["id"])
        if err:
            return err
        f, errs = self.tx_filters(req.query)
        if errs:
            return invalid(errs)
        headers, err, later = self.realtime(req, acc, "jobs.accounts.sync_statement")
        if err:
            return err
        items = [t for t in sorted_transactions(acc["transactions"]) if self.tx_matches(t, f)]
        total = len(items)
        if f["paginate"]:
            page, limit = f["page"], f["limit"]
            shown = items[(page - 1) * limit: page * limit]
            meta = {"total": total, "page": page,
                    "previous": self.page_url(req, page - 1) if page > 1 else None,
                    "next": self.page_url(req, page + 1) if page * limit < total else None}
        else:
            shown = items
            meta = {"total": total, "page": 1, "previous": None, "next": None}
        data = None if total == 0 else [dict(t) for t in shown]
        resp = envelope(200, "Transactions retrieved successfully", data, headers, meta=meta)
        if later:
            later()
        return resp

    def m_balance(self, req, p):
        """GET /v2/accounts/{id}/balance (§3.3)."""
        acc, err = self.account_or_404(p["id"])
        if err:
            return err
        headers, err, later = self.realtime(req, acc, "jobs.accounts.sync_balance")
        if err:
            return err
        resp = envelope(200, "Request was successfully completed",
                        {"id": acc["id"], "name": acc["name"], "account_number": acc["account_number"],
                         "balance": acc["balance"], "currency": acc["currency"]},
                        headers)
        if later:
            later()
        return resp

    def m_initiate(self, req, p):
        """POST /v2/accounts/initiate: a Connect widget session (scope auth, or reauth of an account)."""
        body = req.json_object()
        if body is None:
            return invalid([field_error("body", "body must be a JSON object")])
        scope = body.get("scope")
        meta = body.get("meta") if isinstance(body.get("meta"), dict) else {}
        errs = []
        if scope not in ("auth", "reauth"):
            errs.append(field_error("scope", "scope must be auth or reauth"))
        if not isinstance(body.get("redirect_url"), str):
            errs.append(field_error("redirect_url", "redirect_url is required"))
        if scope == "auth" and not isinstance(body.get("customer"), dict):
            errs.append(field_error("customer", "customer is required"))
        acc = self.accounts.get(body.get("account")) if scope == "reauth" else None
        if scope == "reauth" and acc is None:
            errs.append(field_error("account", "account must be a known account id"))
        if errs:
            return invalid(errs)
        data = {"mono_url": "https://link.mono.co/" + new_id("", 10).upper(),
                "customer": acc["customer"] if acc else new_id("cus_"),
                "meta": {"ref": meta.get("ref")}, "scope": scope,
                "redirect_url": body["redirect_url"], "created_at": now_iso()}
        if acc:
            data.update({"account": acc["id"], "institution": new_id("ins_"),
                         "auth_method": acc["auth_method"]})
            keys = ["mono_url", "customer", "account", "meta", "scope", "institution", "auth_method",
                    "redirect_url", "created_at"]
            data = {k: data[k] for k in keys}
        return envelope(200, "Request was successfully completed", data)

    def m_job(self, req, p):
        """GET /v2/accounts/{id}/jobs/{job_id}: a real-time job's status (§3.3)."""
        job = self.jobs.get(p["job"])
        if job is None or job["account"] != p["id"]:
            return error(404, "Job not found")
        msg = "Job execution completed" if job["status"] != "processing" else "Job is processing"
        return envelope(200, msg, dict(job))

    def flows(self, acc, kind):
        """Per-month totals of one transaction type, in the account's flows_shape (§3.6)."""
        shape = acc.get("flows_shape", "envelope")
        if shape == "garbage":
            return json_response(200, {"status": "successful", "data": {"weird": [1, 2]}})
        months = {}
        for t in acc["transactions"]:
            if t["type"] != kind:
                continue
            d = tx_datetime(t)
            m = months.setdefault((d.year, d.month), {"amount": 0, "count": 0})
            m["amount"] += t["amount"]
            m["count"] += 1
        history = []
        count = "transactions_count" if shape == "transactions_count" else "count"
        for (y, mo), v in sorted(months.items()):
            period = "%02d-%02d" % (mo, y % 100) if shape == "legacy_period" else "%04d-%02d" % (y, mo)
            history.append({"period": period, "amount": v["amount"], count: v["count"]})
        data = {"total": sum(h["amount"] for h in history),
                count: sum(h[count] for h in history), "history": history}
        if shape == "bare":
            return json_response(200, data)
        msg = "%s retrieved successfully" % ("Credits" if kind == "credit" else "Debits")
        return envelope(200, msg, None if shape == "null" else data)

    def m_credits(self, req, p):
        """GET /v2/accounts/{id}/credits (§3.6)."""
        acc, err = self.account_or_404(p["id"])
        return err or self.flows(acc, "credit")

    def m_debits(self, req, p):
        """GET /v2/accounts/{id}/debits (§3.6)."""
        acc, err = self.account_or_404(p["id"])
        return err or self.flows(acc, "debit")

    # ---- control handlers ------------------------------------------------

    @staticmethod
    def body_object(req):
        """The control body as an object ({} when empty), or None when invalid."""
        if not req.raw.strip():
            return {}
        return req.json_object()

    def c_health(self, req, p):
        """GET /_sim/health."""
        return ctl(200, {"ok": True})

    def c_reset(self, req, p):
        """POST /_sim/reset: forget everything."""
        self.reset()
        return ctl(200, {"ok": True})

    def c_config_get(self, req, p):
        """GET /_sim/config: the current config."""
        return ctl(200, self.config)

    def c_config_post(self, req, p):
        """POST /_sim/config: merge config keys."""
        body = self.body_object(req)
        if body is None:
            return ctl_error(400, "body must be a JSON object")
        checks = {
            "not_found_as_404": lambda v: isinstance(v, bool),
            "realtime_limit_seconds": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0,
            "realtime_job_status": lambda v: v in JOB_STATUSES,
            "webhooks_duplicate": lambda v: is_int(v) and v >= 1,
            "webhooks_shuffle_seed": lambda v: v is None or is_int(v),
            "webhooks_drop": lambda v: isinstance(v, bool),
            "one_app": lambda v: isinstance(v, bool),
            "realtime_repeat": lambda v: v in REALTIME_REPEATS,
            "connect_event_ids": lambda v: isinstance(v, bool),
            "has_new_data_false": lambda v: isinstance(v, bool),
            "sync_moves_data_status": lambda v: isinstance(v, bool),
            "beneficiary_status_in_reads": lambda v: isinstance(v, bool),
            "active_at_approval": lambda v: isinstance(v, bool),
            "webhook_retry_base_s": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0,
            "refuse_key": lambda v: v in (None, 401, 403),
            "refuse_key_app": lambda v: v in (None, "payments", "connect"),
            "duplicate_as_400": lambda v: isinstance(v, bool),
            "status_case": lambda v: v in ("lower", "upper"),
            "stale_prompts": lambda v: isinstance(v, bool),
            "refuse_unlinked": lambda v: isinstance(v, bool),
            "page_padding": lambda v: is_int(v) and 0 <= v <= 4 * 1024 * 1024,
            "page_extra_items": lambda v: is_int(v) and 0 <= v <= 10000,
            "phone_filter_ignored": lambda v: isinstance(v, bool),
        }
        for k, v in body.items():
            if k not in checks:
                return ctl_error(400, "unknown config key %r" % k)
            if not checks[k](v):
                return ctl_error(400, "bad value for %s: %r" % (k, v))
        self.config.update(body)
        return ctl(200, self.config)

    def c_users(self, req, p):
        """POST /_sim/users: seed a user's Owo status."""
        body = self.body_object(req)
        if not body or not isinstance(body.get("phone"), str):
            return ctl_error(400, "phone (string) is required")
        status = body.get("status", "active")
        if not isinstance(status, str):
            return ctl_error(400, "status must be a string")
        self.users[body["phone"]] = status
        return ctl(200, {"phone": body["phone"], "status": status})

    def c_accounts_post(self, req, p):
        """POST /_sim/accounts: create or replace a Connect account."""
        body = self.body_object(req)
        if body is None:
            return ctl_error(400, "body must be a JSON object")
        acc_id = body.get("id") or new_id("acc_")
        try:
            acc = merge_account(default_account(acc_id), dict(body, id=acc_id))
        except ValueError as e:
            return ctl_error(400, str(e))
        self.accounts[acc_id] = acc
        self.realtime_last.pop(acc_id, None)
        self.realtime_job.pop(acc_id, None)
        return ctl(200, acc)

    def c_accounts_patch(self, req, p):
        """PATCH /_sim/accounts/{id}: merge fields into an account."""
        acc = self.accounts.get(p["id"])
        if acc is None:
            return ctl_error(404, "no account %s" % p["id"])
        body = self.body_object(req)
        if body is None:
            return ctl_error(400, "body must be a JSON object")
        body.pop("id", None)
        try:
            self.accounts[p["id"]] = merge_account(acc, body)
        except ValueError as e:
            return ctl_error(400, str(e))
        return ctl(200, self.accounts[p["id"]])

    def c_beneficiary_approve(self, req, p):
        """POST /_sim/beneficiaries/{phone}/approve: the user completes the link."""
        link = self.pending_links.pop(p["phone"], None)
        if link is None:
            return ctl_error(404, "no pending link for %s" % p["phone"])
        ben = {"id": new_id("ben_"), "nickname": link["name"], "phone": link["phone"],
               "name": link["name"], "account_number": link["account_number"],
               "bank_code": link["nip_code"], "status": "linked"}
        self.beneficiaries[ben["id"]] = ben
        self.users[link["phone"]] = "active"
        self.emit("owo.beneficiary.linked", {k: ben[k] for k in (
            "id", "nickname", "phone", "name", "account_number", "bank_code")})
        fr = self.fund_requests.get(link["fund_reference"] or "")
        if fr is not None and fr["status"] == "pending":
            self.approve_fund_request(fr, ben["id"])
        else:
            fr = None
        return ctl(200, {"beneficiary": dict(ben),
                         "fund_request": self.fr_public(fr) if fr else None})

    def c_fund_request_action(self, req, p):
        """POST /_sim/fund-requests/{reference}/{action}: play the user / Mono."""
        fr = self.fund_requests.get(p["ref"])
        if fr is None:
            return ctl_error(404, "no fund request with reference %s" % p["ref"])
        action = p["action"]
        if action in ("approve", "expire"):
            if fr["status"] != "pending":
                return ctl_error(409, "fund request is %s, not pending" % fr["status"])
            if action == "approve" and fr.get("stale"):
                return ctl_error(409, "the prompt of %s is stale: a newer request for %s "
                                 "replaced it" % (fr["reference"], fr["phone"]))
            if action == "approve":
                self.approve_fund_request(fr)
            else:
                self.make_visible(fr, "expired")
                self.emit("owo.fundrequest.expired", self.fr_status_data(fr))
            return ctl(200, self.fr_public(fr))
        if action == "status":
            return self.set_undocumented_status(req, fr)
        if action == "activate":
            # the schedule's start date has come (without waiting for the clock)
            if fr["type"] != "recurring" or fr["status"] != "approved":
                return ctl_error(409, "fund request is %s %s, not approved recurring"
                                 % (fr["type"], fr["status"]))
            fr["activate_at"] = None
            self.set_fr_status(fr, "active")
            return ctl(200, self.fr_public(fr))
        if fr["status"] not in DEBITABLE:
            return ctl_error(409, "fund request is %s" % fr["status"])
        if action == "debit":
            return self.debit(req, fr)
        self.set_fr_status(fr, "completed" if action == "complete" else "processing")
        return ctl(200, self.fr_public(fr))

    def set_undocumented_status(self, req, fr):
        """The user pauses, resumes, declines or cancels in WhatsApp: the reads
        show the status; Mono documents no webhook for it, so none is sent."""
        body = self.body_object(req)
        status = (body or {}).get("status")
        if not isinstance(status, str) or not re.fullmatch(r"[a-z_]{1,40}", status):
            return ctl_error(400, "status (lower-case word) is required")
        if fr["id"] is None:
            self.make_visible(fr, status)
        fr["status"] = status
        fr["activate_at"] = None
        return ctl(200, self.fr_public(fr))

    def debit(self, req, fr):
        """Record one debit of a fund request and emit its payment event."""
        body = self.body_object(req)
        if body is None:
            return ctl_error(400, "body must be a JSON object")
        status = body.get("status")
        if status not in ("successful", "failed"):
            return ctl_error(400, "status must be successful or failed")
        amount = body.get("amount", fr["amount"])
        if not is_int(amount) or amount <= 0:
            return ctl_error(400, "amount must be a positive integer")
        pay = {"id": new_id("pay_"), "reference": body.get("reference") or new_id("", 20),
               "fund_request": fr["id"], "beneficiary": fr["beneficiary"], "status": status,
               "amount": amount, "currency": fr["currency"],
               "processed_at": body.get("processed_at") or now_iso(),
               "session_id": body.get("session_id") or digits(30),
               "message": (body.get("message") or "Insufficient funds") if status == "failed" else None}
        self.payments[pay["id"]] = pay
        self.emit("owo.payment." + status, self.pay_event_data(pay))
        if status == "successful" and fr["type"] == "onetime":
            self.set_fr_status(fr, "completed")
        return ctl(200, self.pay_public(pay))

    def c_faults_get(self, req, p):
        """GET /_sim/faults: the armed faults."""
        storm = None
        if self.storm:
            storm = {k: v for k, v in self.storm.items() if k != "rng"}
        return ctl(200, {"faults": self.faults, "storm": storm})

    def c_faults_post(self, req, p):
        """POST /_sim/faults: arm a counted fault or a seeded random storm."""
        body = self.body_object(req)
        if body is None:
            return ctl_error(400, "body must be a JSON object")
        common = {"path_prefix": body.get("path_prefix") or "", "method": body.get("method"),
                  "retry_after": body.get("retry_after", 1), "delay_s": body.get("delay_s", 3),
                  "message": body.get("message"), "errors": body.get("errors")}
        if not isinstance(common["path_prefix"], str):
            return ctl_error(400, "path_prefix must be a string")
        if not isinstance(common["delay_s"], (int, float)) or common["delay_s"] < 0:
            return ctl_error(400, "delay_s must be a number >= 0")
        if "random_rate" in body:
            kinds = [str(k) for k in body.get("kinds") or FAULT_KINDS]
            rate = body["random_rate"]
            if any(k not in FAULT_KINDS for k in kinds) or not isinstance(rate, (int, float)):
                return ctl_error(400, "bad random storm: kinds must be among %s" % (FAULT_KINDS,))
            seed = body.get("seed", 0)
            self.storm = dict(common, random_rate=rate, seed=seed, kinds=kinds,
                              rng=random.Random(seed))
            return self.c_faults_get(req, p)
        kind = str(body.get("kind"))
        count = body.get("count", 1)
        if kind not in FAULT_KINDS:
            return ctl_error(400, "kind must be one of %s" % (FAULT_KINDS,))
        if not is_int(count) or count < 1:
            return ctl_error(400, "count must be an integer >= 1")
        self.faults.append(dict(common, kind=kind, count=count))
        return self.c_faults_get(req, p)

    def c_faults_delete(self, req, p):
        """DELETE /_sim/faults: clear every fault and storm."""
        self.faults = []
        self.storm = None
        return ctl(200, {"ok": True})

    def c_webhooks_get(self, req, p):
        """GET /_sim/webhooks?since=K: produced webhooks after event K."""
        since, ok = parse_int_param(req.query, "since", 0)
        if not ok or since < 0:
            return ctl_error(400, "since must be an integer >= 0")
        return ctl(200, self.webhook_listing(since))

    def c_webhooks_emit(self, req, p):
        """POST /_sim/webhooks/emit: record an arbitrary event."""
        body = self.body_object(req)
        if not body or not isinstance(body.get("event"), str):
            return ctl_error(400, "event (string) is required")
        event_id = body["event_id"] if "event_id" in body else True
        if event_id is not None and event_id is not True and not isinstance(event_id, str):
            return ctl_error(400, "event_id must be a string or null")
        timestamp = False if "timestamp" in body and body["timestamp"] is None else body.get("timestamp")
        rec = self.emit(body["event"], body.get("data"), event_id, timestamp)
        return ctl(200, {"seq": rec["seq"], "body": rec["body"]})

    def c_canned(self, req, p):
        """POST /_sim/canned: answer the next `count` calls of method+path with a verbatim
        body (e.g. one of Mono's published samples), status and headers."""
        body = self.body_object(req)
        if not body or not isinstance(body.get("path"), str) or not isinstance(body.get("body"), str):
            return ctl_error(400, "path and body (strings) are required")
        c = {"method": body.get("method", "GET"), "path": body["path"],
             "status": body.get("status", 200), "headers": body.get("headers") or {},
             "body": body["body"], "count": body.get("count", 1)}
        if not is_int(c["status"]) or not is_int(c["count"]) or c["count"] < 1 or \
                not isinstance(c["headers"], dict):
            return ctl_error(400, "status and count must be integers, headers an object")
        self.canned.append(c)
        return ctl(200, {"ok": True})

    def c_webhooks_deliveries(self, req, p):
        """GET /_sim/webhooks/deliveries: each POST to --webhook-url (attempt,
        answer), and their counts (attempts, delivered, retried, gave_up,
        by_status, pending)."""
        with self.lock:
            return ctl(200, dict(self.delivery_counts, deliveries=list(self.deliveries),
                                 pending=self.delivery.qsize()))

    def c_requests(self, req, p):
        """GET /_sim/requests: counts by path, by reference, and of real-time refreshes."""
        return ctl(200, {"total": self.total_requests, "by_path": self.by_path,
                         "by_reference": self.by_reference,
                         "realtime_by_path": self.realtime_by_path})

    def c_requests_log(self, req, p):
        """GET /_sim/requests/log?path=&path_prefix=&limit=: the last Mono requests."""
        limit, ok = parse_int_param(req.query, "limit", 50)
        if not ok or limit < 0:
            return ctl_error(400, "limit must be an integer >= 0")
        path = req.query.get("path")
        prefix = req.query.get("path_prefix")
        items = [e for e in self.request_log
                 if (not path or e["path"] == path.rstrip("/"))
                 and (not prefix or e["path"].startswith(prefix))]
        return ctl(200, items[-limit:] if limit else [])

    def c_state(self, req, p):
        """GET /_sim/state: everything, for debugging."""
        return ctl(200, {"config": self.config, "users": self.users,
                         "pending_links": self.pending_links,
                         "beneficiaries": list(self.beneficiaries.values()),
                         "fund_requests": list(self.fund_requests.values()),
                         "payments": list(self.payments.values()),
                         "accounts": self.accounts, "events": len(self.events)})


# --------------------------------------------------------------------------
# HTTP plumbing
# --------------------------------------------------------------------------

class Handler(BaseHTTPRequestHandler):
    """HTTP/1.1 keep-alive handler that hands requests to the Simulator."""

    protocol_version = "HTTP/1.1"
    server_version = "MonoSim/1.0"
    # TCP_NODELAY: headers and body leave as separate writes; with Nagle on, the
    # body of a keep-alive answer waited for the client's delayed ACK (about
    # 40 ms an answer, which Mono's API does not add)
    disable_nagle_algorithm = True

    def log_message(self, fmt, *args):
        """Per-request logging, only with --verbose."""
        if self.server.verbose:
            sys.stderr.write("mono_sim: %s %s\n" % (self.address_string(), fmt % args))

    def read_body(self):
        """Read the request body (Content-Length or chunked)."""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def send(self, resp):
        """Write a Response with a Content-Length."""
        try:
            self.send_response(resp.status)
            for k, v in resp.headers.items():
                self.send_header(k, v)
            self.send_header("Content-Type", resp.content_type)
            self.send_header("Content-Length", str(len(resp.body)))
            self.end_headers()
            self.wfile.write(resp.body)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def handle_any(self):
        """Handle one request of any method."""
        try:
            raw = self.read_body()
        except (ValueError, OSError):
            self.close_connection = True
            self.send(error(400, "Unreadable request body"))
            return
        split = urlsplit(self.path)
        headers = {k.lower(): v for k, v in self.headers.items()}
        req = Request(self.command, split.path, split.query, headers, raw)
        sim = self.server.sim
        fault = None
        try:
            if req.path == "/_sim" or req.path.startswith("/_sim/"):
                resp = sim.handle_control(req)
            else:
                resp, fault = sim.handle_mono(req)
        except Exception:
            traceback.print_exc()
            resp = error(500, "Simulator internal error")
        kind = fault["kind"] if fault else None
        if kind == "delay":
            time.sleep(float(fault["delay_s"]))
        elif kind == "close_after_body":
            self.close_connection = True
            return
        elif kind == "invalid_json":
            resp = Response(resp.status, b"<html>oops</html>", resp.headers, "text/html")
        self.send(resp)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = handle_any


class SimServer(ThreadingHTTPServer):
    """Threaded server that stays quiet about clients hanging up."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024   # a burst of new connections must not wait in SYN backlog

    def handle_error(self, request, client_address):
        """Ignore client disconnects; print anything else."""
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)


def write_port_file(path, port):
    """Write the port atomically (temp file, then rename)."""
    tmp = "%s.tmp.%d" % (path, os.getpid())
    with open(tmp, "w") as f:
        f.write("%d\n" % port)
    os.replace(tmp, path)


def parse_args(argv):
    """Command-line options."""
    ap = argparse.ArgumentParser(description="Mono API simulator for mono_pay tests")
    ap.add_argument("--port", type=int, default=0, help="port to listen on (0 = any free port)")
    ap.add_argument("--port-file", help="write the chosen port to this file once listening")
    ap.add_argument("--secret-key", default=DEFAULT_SECRET_KEY, help="expected mono-sec-key")
    ap.add_argument("--webhook-secret", default=DEFAULT_WEBHOOK_SECRET,
                    help="value of the mono-webhook-secret header on webhooks")
    ap.add_argument("--connect-secret-key", default=DEFAULT_CONNECT_SECRET_KEY,
                    help="expected mono-sec-key on Connect's /v2 calls (the connect app's)")
    ap.add_argument("--connect-webhook-secret", default=DEFAULT_CONNECT_WEBHOOK_SECRET,
                    help="value of the mono-webhook-secret header on mono.* webhooks")
    ap.add_argument("--webhook-url", help="also POST every webhook to this URL")
    ap.add_argument("--webhook-workers", type=int, default=1,
                    help="threads POSTing to --webhook-url at once")
    ap.add_argument("--webhook-retries", type=int, default=5,
                    help="retries of a POST to --webhook-url not answered 200")
    ap.add_argument("--webhook-retry-base", type=float, default=None,
                    help="seconds of the first retry delay (default 60, as Mono; tests shorten it)")
    ap.add_argument("--verbose", action="store_true", help="log every request to stderr")
    return ap.parse_args(argv)


def main(argv=None):
    """Run the simulator until SIGTERM/SIGINT."""
    args = parse_args(argv)
    sim = Simulator(args.secret_key, args.webhook_secret, args.webhook_url,
                    args.connect_secret_key, args.connect_webhook_secret,
                    args.webhook_workers, args.webhook_retries, args.webhook_retry_base)
    server = SimServer(("127.0.0.1", args.port), Handler)
    server.sim = sim
    server.verbose = args.verbose
    port = server.server_address[1]
    sim.base_url = "http://127.0.0.1:%d" % port

    def stop(signum, frame):
        """Signal handler: shut the server down from another thread."""
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if args.port_file:
        write_port_file(args.port_file, port)
    print("mono simulator listening on http://127.0.0.1:%d" % port, flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
        if args.port_file:
            try:
                with open(args.port_file) as f:
                    if f.read().strip() == str(port):
                        os.remove(args.port_file)
            except OSError:
                pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
