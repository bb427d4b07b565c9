#!/usr/bin/env bash
# test/e2e/93_receiver_tls.sh: the receiver over TLS
# (mono_pay.webhook_tls_cert / _key) with a self-signed certificate made by
# openssl: HTTPS with that certificate as the CA gets 200; plain HTTP on
# the port gets no answer; mono_receiver_status() says tls; a key file that
# others may read keeps the receiver from starting, and says why.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=7_lib.bash
. "$here/7_lib.bash"
# shellcheck source=7_receiver.bash
. "$here/7_receiver.bash"

trap 't7_receiver_stop; t7_cleanup' EXIT
D=$MONO_TMP/tls81
H=(-H "mono-webhook-secret: $MONO_WEBHOOK_SECRET")

plan 7

mkdir -p "$D"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
	-addext subjectAltName=IP:127.0.0.1 -keyout "$D/key.pem" -out "$D/cert.pem" >/dev/null 2>&1 ||
	bail_out "openssl could not make a certificate"
chmod 0600 "$D/key.pem"
[ "$(id -u)" -eq 0 ] && chown -R postgres: "$D"

t7_fresh
t7_receiver_start webhook_tls_cert "$D/cert.pem" webhook_tls_key "$D/key.pem"
ok "wait_for 'SELECT running AND tls FROM mono_receiver_status()' 20" "the receiver runs with TLS"
is "$(t7_post "$RX_URL" --cacert "$D/cert.pem" "${H[@]}" --data-binary '{"event":"owo.test.tls","event_id":"evt81a"}')" \
	'200 {"result":"ignored"}' "HTTPS, the self-signed certificate as the CA: 200"
is "$(t7_post "$RX_URL" --cacert "$D/cert.pem" -H 'mono-webhook-secret: wrong81' --data-binary '{"event":"x"}' | cut -c1-3)" \
	401 "HTTPS with a wrong secret: 401"
is "$(t7_post "$RX_URL" "${H[@]}" --data-binary '{"event":"x"}')" "000 " \
	"HTTPS without trusting the certificate: refused by the client"
is "$(t7_post "http://127.0.0.1:$RX_PORT/mono/webhooks" --max-time 5 "${H[@]}" --data-binary '{"event":"owo.test.plain","event_id":"evt81b"}')" \
	"000 " "plain HTTP on the TLS port: no answer"
is "$(t7_sql "SELECT string_agg(event_id, ' ' ORDER BY event_id) FROM mono.webhook_events")" evt81a \
	"only the HTTPS event is stored"

# a key file others may read: the receiver refuses to start
chmod 0644 "$D/key.pem"
t7_receiver_start webhook_tls_cert "$D/cert.pem" webhook_tls_key "$D/key.pem"
for _ in $(seq 1 100); do
	grep -q 'private key file .* has group or world access' "$MONO_TMP/postgres.log" && break
	sleep 0.1
done
is "$(grep -c 'private key file .*key.pem" has group or world access' "$MONO_TMP/postgres.log") $(t7_rx running)" "1 f" \
	"a key file with group or world access: the receiver does not start, and the log says why"

done_testing
