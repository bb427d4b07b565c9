/*
 * common_seal.c
 *		The node seal (issue 23): the file mono_pay.node in the data
 *		directory says where this data directory runs (host name, data
 *		directory path, system identifier) and how it last started: as the
 *		primary, as a streaming standby (with its application_name), or from
 *		a base backup or an archive recovery. The postmaster writes it at
 *		start, mono_resume() and a promoted named standby's worker rewrite
 *		it; the worker reads it before it claims anything. A physical copy
 *		(pg_basebackup started as a primary, a PITR restore, a copied data
 *		directory) finds a restored seal or another place's, and pauses.
 */
#include "common.h"

#include <sys/stat.h>
#include <unistd.h>

#include "access/xlog.h"
#include "miscadmin.h"
#include "storage/fd.h"
#include "utils/guc.h"

#define SEAL_FILE "mono_pay.node"
#define SEAL_TEMP "mono_pay.node.tmp"
#define SEAL_MAX 4096

/* Does the file exist in the data directory (the current directory)? */
static bool
exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

/* This place: system identifier, host name and data directory, one per line. */
static char *
seal_place(void)
{
	char host[256];

	if (gethostname(host, sizeof(host)) != 0)
		strlcpy(host, "?", sizeof(host));
	host[sizeof(host) - 1] = '\0';
	return psprintf("system_identifier " UINT64_FORMAT "\nhost %s\ndata_directory %s\n",
					GetSystemIdentifier(), host, DataDir);
}

/* The seal's place on one line: "host h, data_directory d" (in place). */
static char *
one_line(char *seal)
{
	char *host = strstr(seal, "host ");
	char *p;

	if (host == NULL)
		return "an unknown place";
	for (p = host; *p; p++)
		if (*p == '\n')
			*p = p[1] == 'r' || p[1] == '\0' ? '\0' : ',';
	return host;
}

/* The seal's text (palloc'd), or NULL when there is none. */
static char *
seal_read(void)
{
	char *buf = palloc0(SEAL_MAX + 1);
	int fd = OpenTransientFile(SEAL_FILE, O_RDONLY | PG_BINARY);
	int n;

	if (fd < 0)
		return NULL;
	n = read(fd, buf, SEAL_MAX);
	CloseTransientFile(fd);
	if (n < 0)
		return NULL;
	buf[n] = '\0';
	return buf;
}

/* Write the seal for this place with the given role, durably; false on failure (logged). */
static bool
seal_write(const char *role)
{
	char *text = psprintf("%srole %s\n", seal_place(), role);
	int fd = OpenTransientFile(SEAL_TEMP, O_WRONLY | O_CREAT | O_TRUNC | PG_BINARY);
	bool ok;

	if (fd < 0)
	{
		ereport(WARNING,
				(errcode_for_file_access(),
				 errmsg("mono_pay: could not write \"%s\": %m", SEAL_TEMP)));
		return false;
	}
	ok = write(fd, text, strlen(text)) == (ssize_t) strlen(text) && pg_fsync(fd) == 0;
	if (!ok)
		ereport(WARNING,
				(errcode_for_file_access(),
				 errmsg("mono_pay: could not write \"%s\": %m", SEAL_TEMP)));
	CloseTransientFile(fd);
	return ok && durable_rename(SEAL_TEMP, SEAL_FILE, WARNING) == 0;
}

/*
 * The application_name a streaming standby connects with: the one in
 * primary_conninfo, else cluster_name, else "walreceiver" (as the WAL
 * receiver does). A promoted standby keeps its primary_conninfo: this is
 * then the name it streamed under.
 */
char *
mono_seal_own_name(void)
{
	const char *conninfo = GetConfigOption("primary_conninfo", true, false);
	const char *cluster = GetConfigOption("cluster_name", true, false);
	const char *p = conninfo ? strstr(conninfo, "application_name") : NULL;
	StringInfoData name;

	initStringInfo(&name);
	if (p != NULL)
	{
		p += strlen("application_name");
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p++ == '=')
		{
			bool quoted;

			while (*p == ' ' || *p == '\t')
				p++;
			quoted = *p == '\'';
			p += quoted;
			for (; *p && (quoted ? *p != '\'' : (*p != ' ' && *p != '&')); p++)
			{
				if (*p == '\\' && p[1])
					p++;
				appendStringInfoChar(&name, *p);
			}
		}
	}
	if (name.len > 0)
		return name.data;
	return pstrdup(cluster && cluster[0] ? cluster : "walreceiver");
}

/* Does mono_pay.standby_names name the standby (or is it empty)? */
static bool
mono_seal_names_standby(const char *name)
{
	MonoQuorum q;
	const char *err;
	int i;

	if (!mono_quorum_parse(mono_standby_names, &q, &err))
		return false;
	if (q.count == 0)
		return true;
	for (i = 0; i < q.count; i++)
		if (mono_quorum_names(&q, i, name))
			return true;
	return false;
}

/*
 * At the postmaster's start (not under pg_upgrade): a node started as a
 * streaming standby (standby.signal) is sealed as one, under its
 * application_name; one started from a base backup (backup_label) or by
 * an archive recovery (recovery.signal: PITR) as restored; a data
 * directory without a seal (a fresh one, or the first start of this
 * version) as the primary. Else the seal stays as it is: the original
 * restarted after a crash keeps its own, a copied directory another
 * place's.
 */
void
mono_seal_at_start(void)
{
	if (exists("standby.signal"))
		(void) seal_write(psprintf("standby %s", mono_seal_own_name()));
	else if (exists("recovery.signal") || exists("backup_label"))
		(void) seal_write("restored");
	else if (!exists(SEAL_FILE))
		(void) seal_write("primary");
}

/* Sealed by mono_resume(): this place is the primary that talks to Mono. */
void
mono_seal_resume(void)
{
	if (!seal_write("primary"))
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not record this node in \"%s\" in the data directory", SEAL_FILE),
				 errhint("Check that the server may write its data directory, then call mono_resume() again.")));
}

/*
 * Is the seal this place's, as the primary (a promoted standby that
 * mono_pay.standby_names names, or any when it is empty, is sealed as
 * "promoted" now: the primary, its reconciliation with Mono still due)?
 * Else why says why the worker pauses.
 */
bool
mono_seal_ok(char *why, size_t len)
{
	char *seal = seal_read();
	char *place = seal_place();
	const char *hint = "a superuser's SELECT mono_resume() lets it work";
	char *role;

	if (seal == NULL)
		snprintf(why, len, "paused: no %s in the data directory (it is written at the server's start); %s", SEAL_FILE, hint);
	else if (strncmp(seal, place, strlen(place)) != 0 || (role = strstr(seal, "\nrole ")) == NULL)
		snprintf(why, len, "paused: a copy of another data directory (sealed for %s); %s",
				 one_line(seal), hint);
	else if (strncmp(role + 6, "primary", 7) == 0 || strncmp(role + 6, "promoted", 8) == 0)
		return true;
	else if (strncmp(role + 6, "restored", 8) == 0)
		snprintf(why, len, "paused: started from a base backup or by an archive recovery (a pg_basebackup copy or a PITR restore); %s", hint);
	else
	{
		char *name = pstrdup(role + 6 + strlen("standby "));

		name[strcspn(name, "\n")] = '\0';
		if (mono_seal_names_standby(name) && seal_write("promoted"))
			return true;
		if (mono_seal_names_standby(name))
			snprintf(why, len, "paused: could not seal this promoted standby (%s) as the primary in %s (see the log); %s", name, SEAL_FILE, hint);
		else
			snprintf(why, len, "paused: a promoted standby (%s) that mono_pay.standby_names does not name; %s", name, hint);
	}
	return false;
}

/* Is this place sealed as a promoted standby whose reconciliation is due? */
bool
mono_seal_reconcile_due(void)
{
	char *seal = seal_read();
	char *place = seal_place();

	return seal != NULL && strncmp(seal, place, strlen(place)) == 0 &&
		strstr(seal, "\nrole promoted") != NULL;
}

/* The promoted standby has reconciled with Mono: sealed as the primary. */
bool
mono_seal_reconciled(void)
{
	return seal_write("primary");
}
