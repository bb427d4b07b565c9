#!/usr/bin/env bash
# test/e2e/75_tls.sh: TLS verification is always on. A stand-in for Mono
# serves HTTPS on 127.0.0.1 with a self-signed certificate made here with
# openssl (and a second one for another host name).
#   - mono_user_status() against it fails with 08006 and a message naming
#     the TLS handshake, and no HTTP request reaches the server;
#   - with mono_pay.ca_bundle pointing at the certificate it succeeds;
#   - a certificate for another host name fails even when trusted;
#   - a ca_bundle that does not exist fails the same way;
#   - the worker: a charge waits in queued (nothing reached Mono), its
#     last_error naming the TLS handshake, and goes out once ca_bundle is
#     set (reload), with the key sent over TLS only; once ca_bundle is reset
#     again, the certificate is no longer trusted.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=7_lib.bash
. "$here/7_lib.bash"

if ! command -v openssl >/dev/null 2>&1; then
	echo "1..0 # SKIP openssl is not installed"
	exit 0
fi

dir=$MONO_TMP/75_tls
SERVERS=

t7_75_cleanup() {
	local p
	for p in $SERVERS; do
		kill -TERM "$p" 2>/dev/null || true
	done
	t7_cleanup
}
trap t7_75_cleanup EXIT

plan 15

t7_fresh
rm -rf "$dir"
mkdir -p "$dir"
# a certificate for 127.0.0.1, and one for another name
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=127.0.0.1" \
	-addext "subjectAltName=IP:127.0.0.1" -keyout "$dir/key.pem" -out "$dir/cert.pem" 2>"$dir/openssl.log"
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=mono.example" \
	-addext "subjectAltName=DNS:mono.example" -keyout "$dir/other-key.pem" -out "$dir/other-cert.pem" 2>>"$dir/openssl.log"
chmod 755 "$dir"
chmod 644 "$dir"/*.pem
ok "[ -s '$dir/cert.pem' ] && [ -s '$dir/other-cert.pem' ]" "openssl made two self-signed certificates ($(openssl version))"

# Start an HTTPS stand-in for Mono: tls_server CERT KEY NAME; sets PORT_<NAME>.
tls_server() {
	local cert=$1 key=$2 name=$3 portfile=$dir/$3.port
	rm -f "$portfile"
	/usr/bin/python3 - "$cert" "$key" "$portfile" "$dir/$name.requests" <<'EOF' >>"$dir/$name.log" 2>&1 &
import http.server, json, os, ssl, sys
cert, key, portfile, reqlog = sys.argv[1:5]
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a):
        pass
    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
    def record(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n).decode() if n else ""
        with open(reqlog, "a") as f:
            f.write(json.dumps({"method": self.command, "path": self.path,
                                "key": self.headers.get("mono-sec-key"), "body": body}) + "\n")
        return body
    def do_GET(self):
        self.record()
        self.answer(200, {"status": "successful", "message": "ok",
                          "data": {"exists": True, "status": "active"}})
    def do_POST(self):
        self.record()
        self.answer(202, {"status": "successful", "message": "ok",
                          "data": {"redirect_url": "https://wa.me/2340000000000?text=tls"}})
srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
with open(portfile + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
os.replace(portfile + ".tmp", portfile)
srv.serve_forever()
EOF
	SERVERS="$SERVERS $!"
	for _ in $(seq 1 100); do
		[ -s "$portfile" ] && break
		sleep 0.05
	done
	eval "PORT_$name=$(cat "$portfile")"
}
tls_server "$dir/cert.pem" "$dir/key.pem" good
tls_server "$dir/other-cert.pem" "$dir/other-key.pem" other
# shellcheck disable=SC2154
GOOD=https://127.0.0.1:$PORT_good OTHER=https://127.0.0.1:$PORT_other
: >"$dir/good.requests"
: >"$dir/other.requests"
ok "curl -sf --cacert '$dir/cert.pem' '$GOOD/owo/v1/users/status?phone=2348012345678' | grep -q active" \
	"the HTTPS stand-in answers (checked with curl and the certificate)"
: >"$dir/good.requests"

# Run mono_user_status() with session settings; prints "code|message" or "ok|exists|status".
status_with() {
	sql "SET mono_pay.api_url = '$1'; SET mono_pay.ca_bundle = '$2';
	     SELECT coalesce(r.code, 'ok') || '|' || coalesce(r.message, r.output)
	       FROM mono_test.run(\$q\$SELECT \"exists\", status FROM mono_user_status('2348012345678')\$q\$) r"
}

r=$(status_with "$GOOD" "")
diag "no ca_bundle: $r"
is "${r%%|*}" "08006" "a self-signed certificate without ca_bundle: 08006"
like "$r" "the TLS handshake" "the message names the TLS handshake"
is "$(grep -c . "$dir/good.requests")" 0 "no HTTP request (and so no key) reached the server"

r=$(status_with "$GOOD" "$dir/cert.pem")
is "$r" "ok|true|active" "with mono_pay.ca_bundle pointing at the certificate: mono_user_status() succeeds"

r=$(status_with "$OTHER" "$dir/other-cert.pem")
diag "trusted certificate for another host name: $r"
like "$r" "the TLS handshake" "a trusted certificate for another host name fails too (the host name is verified)"
is "$(grep -c . "$dir/other.requests")" 0 "and nothing reached that server"

r=$(status_with "$GOOD" "$dir/missing.pem")
diag "ca_bundle that does not exist: $r"
is "${r%%|*}" "08006" "a ca_bundle that does not exist: 08006, never an unverified connection"

# ---- the worker -----------------------------------------------------------
# a fresh worker (its pooled curl handles have never seen a ca_bundle)
old=$(t7_worker_pid)
sql "SELECT pg_terminate_backend($old)" >/dev/null
t7_wait_worker "$old" 30 >/dev/null
t7_set api_url "$GOOD"
t7_sql "SELECT mono_charge('2348012345678', 7500, 'Over TLS', 'TLS75CHARGE1')" >/dev/null
ok "wait_for \"SELECT attempts >= 2 AND status = 'queued' FROM mono.fund_requests WHERE reference = 'TLS75CHARGE1'\" 10" \
	"the worker retries a charge whose TLS handshake fails, in queued (not unknown: nothing reached Mono)"
row=$(t7_sql "SELECT status || '|' || last_error FROM mono.fund_requests WHERE reference = 'TLS75CHARGE1'")
diag "the charge: $row"
like "$row" "request failed while the TLS handshake" "its last_error names the TLS handshake"
t7_set ca_bundle "$dir/cert.pem"
ok "wait_for \"SELECT status = 'awaiting_authorization' AND redirect_url LIKE '%text=tls' FROM mono.fund_requests WHERE reference = 'TLS75CHARGE1'\" 10" \
	"with ca_bundle set (and a reload) the worker sends it over verified TLS"
# the administrator withdraws the trust again
t7_sql "ALTER SYSTEM RESET mono_pay.ca_bundle" >/dev/null
reload_conf
# (another phone: TLS75CHARGE1 awaits the customer, and Mono takes a phone's
# next prompt only once its earlier one is answered)
t7_sql "SELECT mono_charge('2348012345679', 7600, 'Over TLS, trust withdrawn', 'TLS75CHARGE2')" >/dev/null
wait_for "SELECT attempts >= 1 AND status <> 'sending' FROM mono.fund_requests WHERE reference = 'TLS75CHARGE2'" 10 || true
row=$(t7_sql "SELECT status || '|' || coalesce(last_error, '') FROM mono.fund_requests WHERE reference = 'TLS75CHARGE2'")
diag "after ca_bundle was reset: $row"
# (a read may catch the row between retries, in sending: what counts is why
# its attempts failed)
like "${row#sending|}" "request failed while the TLS handshake" \
	"once ca_bundle is reset (and reloaded) the certificate is no longer trusted: the next charge is not sent"
ok "[ '${row%%|*}' = queued ] || [ '${row%%|*}' = sending ]" "and it stays unsent, retried (queued or sending, never awaiting_authorization)"
sent=$(python3 -c '
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
posts = [r for r in rows if r["method"] == "POST"]
print(len(posts), all(r["key"] == sys.argv[2] for r in posts),
      sorted(json.loads(r["body"])["reference"] for r in posts))' "$dir/good.requests" "$MONO_SECRET_KEY")
is "$sent" "1 True ['TLS75CHARGE1']" "the server received exactly the one charge sent while trusted, with the key"

done_testing
