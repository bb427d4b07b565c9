/*
 * worker_settings.c
 *		The worker ignores settings made per database or per role (issue
 *		23): ALTER DATABASE ... SET and ALTER ROLE ... SET are open to a
 *		database owner who is not a superuser, and must not change what the
 *		worker sends, where or when (default_transaction_read_only pausing
 *		it, mono_pay.request_timeout timing every send out, DateStyle or
 *		TimeZone changing a date it sends). Before connecting it keeps the
 *		postmaster's value of every setting a session may change; once
 *		connected, each one that a database or role setting changed gets its
 *		postmaster value and source back, so that a reload of
 *		postgresql.conf still reaches it.
 */
#include "worker.h"

#include "utils/guc.h"
#include "utils/guc_tables.h"
#include "utils/memutils.h"

/* A setting's value and source before the worker connected. */
typedef struct KeptSetting
{
	char *name;
	char *value;
	GucSource source;
} KeptSetting;

static KeptSetting *kept = NULL;
static int kept_count = 0;

/* Is the source a per-database or per-role setting (pg_db_role_setting)? */
static bool
per_database_or_role(GucSource source)
{
	return source == PGC_S_GLOBAL || source == PGC_S_DATABASE ||
		source == PGC_S_USER || source == PGC_S_DATABASE_USER;
}

/* Before connecting: keep every session-settable setting's value and source. */
void
mono_settings_keep(void)
{
	int n = 0;
	struct config_generic **vars = mono_guc_variables(&n);
	int i;

	kept = MemoryContextAlloc(TopMemoryContext, sizeof(KeptSetting) * n);
	for (i = 0; i < n; i++)
	{
		struct config_generic *v = vars[i];
		const char *value;

		if (v->context != PGC_USERSET && v->context != PGC_SUSET)
			continue;
		value = GetConfigOption(v->name, true, false);
		if (value == NULL)
			continue;
		kept[kept_count].name = MemoryContextStrdup(TopMemoryContext, v->name);
		kept[kept_count].value = MemoryContextStrdup(TopMemoryContext, value);
		kept[kept_count].source = v->source;
		kept_count++;
	}
}

/* The kept setting of that name, or NULL. */
static KeptSetting *
find_kept(const char *name)
{
	int i;

	for (i = 0; i < kept_count; i++)
		if (strcmp(kept[i].name, name) == 0)
			return &kept[i];
	return NULL;
}

/*
 * Once connected: give every setting that a database or role setting
 * changed its kept value and source back, and log which ones it ignored.
 */
void
mono_settings_ignore_per_database(void)
{
	int n = 0;
	struct config_generic **vars = mono_guc_variables(&n);
	int i;

	for (i = 0; i < n; i++)
	{
		struct config_generic *v = vars[i];
		KeptSetting *k;

		if (!per_database_or_role(v->source) || (k = find_kept(v->name)) == NULL)
			continue;
		if (set_config_option(v->name, k->value, PGC_SUSET, v->source, GUC_ACTION_SET,
							  true, WARNING, false) <= 0)
			continue;
		v->source = k->source;
		v->reset_source = k->source;
		ereport(LOG,
				(errmsg("mono_pay worker: ignores %s set per database or per role; it keeps \"%s\"",
						v->name, k->value),
				 errdetail("Only postgresql.conf, ALTER SYSTEM and the server's command line steer the worker.")));
	}
}
