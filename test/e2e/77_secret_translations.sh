#!/usr/bin/env bash
# test/e2e/77_secret_translations.sh: a reload that sets or changes a
# secret logs PostgreSQL's "parameter ... changed to ..." in the language of
# lc_messages (issue 23): in German, Spanish and French the secret's value
# never reaches the server log (the log hook masks by the value, not by the
# English wording). Needs the de/es/fr locales (locales-all) and
# PostgreSQL's translations (share/locale beside its bin directory, as the
# Debian packages install them); each language is checked to be in force.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=7_lib.bash
. "$here/7_lib.bash"

plan 9

trap t7_cleanup EXIT
n=0
for lang in de_DE es_ES fr_FR; do
	n=$((n + 1))
	secret="whsec_translated_${lang}_$$_$n"
	t7_sql "ALTER SYSTEM SET lc_messages = '$lang.UTF-8'" >/dev/null
	t7_sql "SELECT pg_reload_conf()" >/dev/null
	sleep 0.5
	english=$(grep -c 'received SIGHUP, reloading configuration files' "$MONO_TMP/postgres.log")
	# from empty to set: PostgreSQL logs the new value (from set to set it logs nothing)
	t7_sql "ALTER SYSTEM SET mono_pay.webhook_secret = ''" >/dev/null
	t7_sql "SELECT pg_reload_conf()" >/dev/null
	sleep 0.5
	hidden=$(grep -c 'mono_pay.webhook_secret.*value hidden by mono_pay' "$MONO_TMP/postgres.log")
	t7_sql "ALTER SYSTEM SET mono_pay.webhook_secret = '$secret'" >/dev/null
	t7_sql "SELECT pg_reload_conf()" >/dev/null
	sleep 1
	is "$(grep -c 'received SIGHUP, reloading configuration files' "$MONO_TMP/postgres.log")" "$english" \
		"lc_messages $lang: the server logs in that language (else PostgreSQL's translations are missing)"
	is "$(grep -c "$secret" "$MONO_TMP/postgres.log")" 0 "lc_messages $lang: a reload that sets mono_pay.webhook_secret does not log its value"
	ok "[ $(grep -c 'mono_pay.webhook_secret.*value hidden by mono_pay' "$MONO_TMP/postgres.log") -gt $hidden ]" \
		"lc_messages $lang: the log says that the value was hidden"
	t7_sql "ALTER SYSTEM RESET mono_pay.webhook_secret" >/dev/null
	t7_sql "SELECT pg_reload_conf()" >/dev/null
done
t7_sql "ALTER SYSTEM RESET lc_messages" >/dev/null
t7_sql "SELECT pg_reload_conf()" >/dev/null

done_testing
