/*
 * fuzz_connect.c
 *		Mono Connect answers through connect_parse.c: account details,
 *		transactions pages, monthly credits/debits, step names, and
 *		connect_sql.c's account id check. (Body excerpts: fuzz_response.)
 *
 * Input: the response body (any bytes).
 *
 * Checked: every normalised value has the type and form that the SQL
 * after it casts without error (fuzz_checks.h): integers are integers,
 * dates cast to timestamptz, months are YYYY-MM-01 and unique; a refused
 * flows body says why.
 */
#include "fuzz_shim.h"
#include "fuzz_checks.h"
#include "fuzz_input.h"

#include "connect.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	FuzzInput	in = {data, size};
	size_t		len;
	char	   *body = fuzz_take_rest(&in, &len);
	json_t	   *root = mono_json_try_parse(body, len);
	size_t		i;

	if (root != NULL)
	{
		json_t	   *facts;
		bool		more = true;
		int			skipped = -1;
		const char *problem = NULL;
		const char *s = mono_json_str(mono_json_data(root), "status");

		facts = mono_connect_details(root);
		if (facts)
		{
			fuzz_check_account(facts);
			json_decref(facts);
		}

		facts = mono_connect_transactions(root, &more, &skipped);
		FUZZ_ASSERT(skipped >= 0, "skipped %d", skipped);
		if (facts)
		{
			fuzz_check_transactions(facts);
			json_decref(facts);
		}
		else
			FUZZ_ASSERT(!more && skipped == 0, "no transactions, yet more pages or skipped items");

		facts = mono_connect_flows(root, &problem);
		if (facts)
		{
			fuzz_check_flows(facts);
			json_decref(facts);
		}
		else
			FUZZ_ASSERT(problem != NULL, "flows refused without a problem");
		facts = mono_connect_flow_totals(root);
		{
			json_t	   *a = json_object_get(facts, "amount");
			json_t	   *c = json_object_get(facts, "count");

			FUZZ_ASSERT(json_is_object(facts) && json_object_size(facts) <= 2,
						"flow totals are not an object of at most two members");
			FUZZ_ASSERT(a == NULL || (json_is_integer(a) && json_integer_value(a) >= 0),
						"a flow total amount that is not a whole number of kobo");
			FUZZ_ASSERT(c == NULL || (json_is_integer(c) && json_integer_value(c) >= 0 &&
									  json_integer_value(c) <= PG_INT32_MAX),
						"a flow total count outside integer");
		}
		json_decref(facts);

		/* strings from a body as step names and account ids */
		i = mono_connect_step_code(s);
		FUZZ_ASSERT(i >= CONNECT_DETAILS && i <= CONNECT_TRANSACTIONS, "step code %zu", i);
		FUZZ_ASSERT(mono_connect_step_code(mono_connect_step_name(i)) == (int) i,
					"step %zu does not survive its name", i);
		if (s && mono_valid_account_id(s))
			FUZZ_ASSERT(strlen(s) >= 1 && strlen(s) <= CONNECT_ID_MAX &&
						strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") == strlen(s),
						"account id \"%s\" accepted", s);
		json_decref(root);
	}
	(void) mono_connect_step_name((int) (len % 7) - 2);
	fuzz_end_input();
	return 0;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	json_object_seed(1);
	return 0;
}
