# test/lib/tap.sh: a minimal TAP producer for bash test scripts (test/e2e),
# run by `prove --exec bash`. Source it after cluster.sh:
#
#	. "$(dirname "$0")/../lib/cluster.sh"
#	. "$(dirname "$0")/../lib/tap.sh"
#	plan 3
#	is "$(sql "SELECT 1")" 1 "one is one"
#	ok "wait_for \"SELECT true\" 5" "the worker caught up"     # a command
#	like "$(sql "SELECT version()")" "PostgreSQL 15" "runs on 15"
#	done_testing
#
# Messages go to stderr as TAP comments; a failing test does not stop the
# script (set -e is not triggered by these functions).

TAP_COUNT=0
TAP_FAILED=0
TAP_PLANNED=

# Declare how many tests will run.
plan() {
	TAP_PLANNED=$1
	echo "1..$1"
}

# Print a TAP comment.
diag() {
	local line
	while IFS= read -r line; do
		echo "# $line"
	done <<<"$*" >&2
}

# Report one test: pass STATUS DESCRIPTION (STATUS 0 is a pass).
tap_result() {
	TAP_COUNT=$((TAP_COUNT + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $TAP_COUNT - $2"
	else
		TAP_FAILED=$((TAP_FAILED + 1))
		echo "not ok $TAP_COUNT - $2"
	fi
}

# ok "COMMAND" DESCRIPTION: passes when the command (run with eval) succeeds.
ok() {
	local rc=0
	eval "$1" >&2 || rc=$?
	tap_result "$rc" "$2"
	[ "$rc" -eq 0 ] || diag "command failed (exit $rc): $1"
	return 0
}

# is GOT EXPECTED DESCRIPTION: string equality.
is() {
	if [ "$1" = "$2" ]; then
		tap_result 0 "$3"
	else
		tap_result 1 "$3"
		diag "     got: '$1'"
		diag "expected: '$2'"
	fi
	return 0
}

# isnt GOT UNEXPECTED DESCRIPTION: string inequality.
isnt() {
	if [ "$1" != "$2" ]; then
		tap_result 0 "$3"
	else
		tap_result 1 "$3"
		diag "got '$1', which it should not be"
	fi
	return 0
}

# like GOT SUBSTRING DESCRIPTION: GOT contains SUBSTRING.
like() {
	case "$1" in
	*"$2"*) tap_result 0 "$3" ;;
	*)
		tap_result 1 "$3"
		diag "     got: '$1'"
		diag "expected to contain: '$2'"
		;;
	esac
	return 0
}

# unlike GOT SUBSTRING DESCRIPTION: GOT does not contain SUBSTRING.
unlike() {
	case "$1" in
	*"$2"*)
		tap_result 1 "$3"
		diag "     got: '$1'"
		diag "expected not to contain: '$2'"
		;;
	*) tap_result 0 "$3" ;;
	esac
	return 0
}

# Stop the whole run: something the rest depends on is broken.
bail_out() {
	echo "Bail out! $*"
	exit 255
}

# End the script: prints the plan when none was declared; exit 1 on failures.
done_testing() {
	if [ -z "$TAP_PLANNED" ]; then
		echo "1..$TAP_COUNT"
	fi
	[ "$TAP_FAILED" -eq 0 ] || exit 1
	exit 0
}
