# examples/flask/app.py: an endpoint handing Mono's webhooks to
# mono_handle_webhook, with Flask and psycopg 3 (Debian: python3-flask,
# python3-psycopg). PGHOST, PGPORT, PGDATABASE and PGUSER say where.
#   flask --app app run --port 8081
import hashlib
import hmac

import psycopg
from flask import Flask, request

app = Flask(__name__)
# Flask takes any body size unless told: take what mono_pay.webhook_max_size takes
with psycopg.connect() as conn:
    app.config["MAX_CONTENT_LENGTH"] = conn.execute(
        "SELECT setting::int FROM pg_settings WHERE name = 'mono_pay.webhook_max_size'").fetchone()[0]


def signature(body, header):
    """What the database verifies instead of the secret: the HMAC-SHA256 of this
    very body keyed with the header's value (a log that shows it forges nothing)."""
    if not header:
        return None
    return "hmac-sha256:" + hmac.new(header.encode(), body.encode(), hashlib.sha256).hexdigest()


@app.post("/mono/webhooks")
def mono_webhook():
    body = request.get_data(as_text=True)
    try:
        with psycopg.connect() as conn:
            r = conn.execute("SELECT mono_handle_webhook(%s, %s)",
                             (body, signature(body, request.headers.get("mono-webhook-secret")))).fetchone()[0]
        return r, 200                                  # applied | duplicate | ignored
    except psycopg.errors.InvalidAuthorizationSpecification:   # 28000: wrong secret
        return "", 401
    except (psycopg.errors.InvalidTextRepresentation,          # 22P02: not JSON
            psycopg.errors.ProgramLimitExceeded):              # 54000: too large
        return "", 400
