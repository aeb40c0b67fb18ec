/*
 * server.h -- internal to fcgi/: the threads of handoff-fcgi and the
 * config they share. Used by main.c only.
 */
#ifndef HK_FCGI_SERVER_H
#define HK_FCGI_SERVER_H

#include <stddef.h>

#include "fcgi/fcgi.h"

/* Makes cfg, with its handoffs compiled (sla, from hk_sla_new(cfg)), the
 * config of new requests (takes ownership of both); the previous ones are
 * freed once their last request is done. */
void hk_server_set_config(struct hk_config *cfg, struct hk_sla *sla);
/* Drops the current config (at exit, after hk_server_stop). */
void hk_server_clear_config(void);

/* Starts n threads accepting on fd. Returns -1 when libfcgi or a thread
 * cannot start. */
int hk_server_start(int fd, size_t n);

/* Stops accepting, lets requests in hand finish, joins the threads. */
void hk_server_stop(void);

#endif
