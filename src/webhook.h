/*
 * webhook.h
 *		Webhooks, from Mono to the database:
 *
 *	webhook_ingest.c	mono_handle_webhook(): the secret, the body's checks,
 *						and the ingest (SQL applies the event)
 *
 * The HTTP receiver is a program of its own, outside the server's process
 * tree: receiver/mono_pay_receiver.c (it calls mono_handle_webhook()).
 */
#ifndef MONO_WEBHOOK_H
#define MONO_WEBHOOK_H

#include "common.h"

/* The form of the secret argument bound to one body (mono_pay_receiver passes it). */
#define MONO_HMAC_PREFIX "hmac-sha256:"

/* webhook_ingest.c: what mono_handle_webhook() and the receiver share */
typedef enum MonoSecretCheck
{
	MONO_SECRET_MATCH,
	MONO_SECRET_MISMATCH,
	MONO_SECRET_UNSET /* the product's secret is not set */
} MonoSecretCheck;

extern const char *mono_webhook_secret_for(const char *event, const char **setting);
extern MonoSecretCheck mono_webhook_check_secret(const char *given, const char *event,
												 const char *body, size_t len);
extern void mono_webhook_read_event(char *body, size_t len, char **event, char **event_id);
extern Datum mono_webhook_ingest(const char *event_id, const char *event, const char *body);

#endif /* MONO_WEBHOOK_H */
