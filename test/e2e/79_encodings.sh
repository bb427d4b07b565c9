#!/usr/bin/env bash
# test/e2e/79_encodings.sh: bad input gets the same error, SQLSTATE and
# all, whatever the database encoding. Each call below is refused in a
# UTF8 database and in a WIN1252 one (a common encoding of Windows-born
# databases); on 0.1.0 the WIN1252 database answered some of them with a
# different SQLSTATE (the value was read as UTF-8), or accepted them. The
# client speaks UTF-8 to both: the server converts.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=7_lib.bash
. "$here/7_lib.bash"

# name|call: each call must fail
calls=(
	"no-break spaces as description|SELECT mono_charge('2348079000001', 100, E'\u00a0\u00a0', 'ENC79REF0001')"
	"256 accented letters|SELECT mono_charge('2348079000001', 100, repeat(E'\u00e9', 256), 'ENC79REF0002')"
	"accented reference|SELECT mono_charge('2348079000001', 100, 'Order', E'ENC79REF\u00e90003')"
	"accented phone|SELECT mono_charge(E'234807900000\u00e9', 100, 'Order', 'ENC79REF0004')"
	"blank account name|SELECT mono_link_beneficiary('2348079000001', E'\u00a0\t\u00a0', '000014', '0123456789')"
	"101-letter account name|SELECT mono_link_beneficiary('2348079000001', repeat(E'\u00e9', 101), '000014', '0123456789')"
	"one-time with interval|SELECT mono_charge('2348079000001', 100, E'Caf\u00e9', 'ENC79REF0007', \"interval\" => 2)"
)

plan $((${#calls[@]} * 2 + 2))

t7_fresh
t7_sql "DROP DATABASE IF EXISTS mono_win1252" -d postgres >/dev/null
t7_sql "CREATE DATABASE mono_win1252 ENCODING 'WIN1252' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0" -d postgres >/dev/null
# mono_pay is created only in the worker's database: make it this one for a while
t7_sql "ALTER SYSTEM SET mono_pay.database_name = 'mono_win1252'" >/dev/null
cluster_restart
ok "t7_sql 'CREATE EXTENSION mono_pay' -d mono_win1252" "mono_pay installs in a WIN1252 database"

# The SQLSTATE of CALL in database DB ('ok' when it succeeds).
sqlstate_in() {
	local out
	if out=$(PGCLIENTENCODING=UTF8 psql -X -qAt -v ON_ERROR_STOP=1 -v VERBOSITY=sqlstate -d "$1" -c "$2" 2>&1); then
		echo ok
	else
		printf '%s\n' "$out" | sed -n 's/^ERROR:  \([0-9A-Z]\{5\}\).*/\1/p' | head -n 1
	fi
}

for entry in "${calls[@]}"; do
	name=${entry%%|*}
	call=${entry#*|}
	utf8=$(sqlstate_in "$PGDATABASE" "$call")
	win=$(sqlstate_in mono_win1252 "$call")
	diag "$name: UTF8 $utf8, WIN1252 $win"
	ok "[ '$utf8' != ok ] && [ -n '$utf8' ]" "$name: refused in UTF8 ($utf8)"
	is "$win" "$utf8" "$name: the same SQLSTATE in WIN1252"
done

t7_sql "ALTER SYSTEM RESET mono_pay.database_name" >/dev/null
cluster_restart
t7_sql "DROP DATABASE mono_win1252 WITH (FORCE)" -d postgres >/dev/null
wait_for "SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'mono_pay worker' AND datname = current_database()" 30 || true
is "$(t7_sql "SELECT count(*) FROM mono.fund_requests WHERE reference LIKE 'ENC79%'")" 0 "nothing was written in the UTF8 database"
done_testing
