/*
 * TCP transport options: defaults, the checks create() applies, and their
 * JSON form (SPDK's parameter names) for nvmf_create_transport,
 * nvmf_get_transports and save_config.
 */
#include "transport/tcp/tcp_opts.h"
#include "transport/tcp/tcp_internal.h"
#include "util/common.h"

#include <errno.h>
#include <jansson.h>

_Static_assert(sizeof(struct unvmf_tcp_opts) <= sizeof(union unvmf_transport_opts_specific),
               "the TCP options fit in the transport-specific part");

struct unvmf_tcp_opts *unvmf_tcp_opts(struct unvmf_transport_opts *opts)
{
	return (struct unvmf_tcp_opts *)opts->specific.bytes;
}

const struct unvmf_tcp_opts *unvmf_tcp_opts_const(const struct unvmf_transport_opts *opts)
{
	return (const struct unvmf_tcp_opts *)opts->specific.bytes;
}

void tcp_opts_init(struct unvmf_transport_opts *o)
{
	struct unvmf_tcp_opts *t;

	unvmf_transport_opts_defaults(o, NVMF_TRTYPE_TCP);
	o->num_shared_buffers = 8191;
	o->buf_cache_size = 128;
	t = unvmf_tcp_opts(o);
	t->c2h_success = true;
	t->sock_priority = 0;
	t->ack_timeout_ms = 0;
	/* The Linux host sends ICReq as soon as it connects: 10 s is slack for any host. */
	t->icreq_timeout_ms = 10000;
}

int tcp_opts_check(const struct unvmf_transport_opts *o)
{
	return unvmf_transport_opts_check_common(o, "TCP");
}

/*
 * SPDK's ack_timeout for TCP is in milliseconds (TCP_USER_TIMEOUT).
 * rpc.py sends c2h_success=true with every transport: that value is neutral
 * for the others.
 */
static const struct unvmf_json_param g_tcp_params[] = {
    {.name = "c2h_success",
     .type = UNVMF_JSON_BOOL,
     .offset = offsetof(struct unvmf_tcp_opts, c2h_success),
     .size = sizeof(bool),
     .neutral = "true"},
    {.name = "c2h_success_sq_flow_control",
     .type = UNVMF_JSON_BOOL,
     .offset = offsetof(struct unvmf_tcp_opts, c2h_success_sq_flow_control),
     .size = sizeof(bool)},
    UNVMF_JSON_OPTION("sock_priority", struct unvmf_tcp_opts, sock_priority, UINT, 0, 6),
    UNVMF_JSON_OPTION("ack_timeout", struct unvmf_tcp_opts, ack_timeout_ms, UINT, 0, 3600000),
    UNVMF_JSON_OPTION("icreq_timeout_ms", struct unvmf_tcp_opts, icreq_timeout_ms, UINT, 0,
                      3600000),
    UNVMF_JSON_PARAM_COMPAT("control_msg_num", UINT, IGNORED, NULL,
                            "unvmf sizes its own control buffers"),
};

const struct unvmf_json_param *tcp_opts_accepts(const char *name)
{
	const struct unvmf_json_param *p =
	    unvmf_json_param_find(g_tcp_params, UNVMF_ARRAY_SIZE(g_tcp_params), name);

	return p ? p : unvmf_qpair_limits_accepts(name);
}

int tcp_opts_decode(struct unvmf_transport_opts *opts, const json_t *params, char *err,
                    size_t err_len)
{
	struct unvmf_tcp_opts t = *unvmf_tcp_opts(opts);
	struct unvmf_qpair_limits limits = opts->limits;
	json_t *own = json_object(), *core = json_object();
	const char *key;
	json_t *v;
	int rc = -ENOMEM;

	if (!own || !core)
		goto out_free;
	/* The core's limits share the namespace; each table refuses the other's names. */
	json_object_foreach((json_t *)params, key, v)
	    json_object_set(unvmf_qpair_limits_accepts(key) ? core : own, key, v);
	/* Into copies: a refused parameter leaves opts as they were. */
	rc = unvmf_json_params_decode(UNVMF_TRANSPORT_PARAMS_METHOD, own, g_tcp_params,
	                              UNVMF_ARRAY_SIZE(g_tcp_params), &t, NULL, err, err_len);
	if (rc == 0)
		rc = unvmf_qpair_limits_decode(&limits, core, err, err_len);
	if (rc == 0) {
		*unvmf_tcp_opts(opts) = t;
		opts->limits = limits;
	}
out_free:
	json_decref(own);
	json_decref(core);
	return rc;
}

void tcp_opts_dump(const struct unvmf_transport_opts *opts, json_t *j)
{
	const struct unvmf_tcp_opts *t = unvmf_tcp_opts_const(opts);

	json_object_set_new(j, "c2h_success", json_boolean(t->c2h_success));
	json_object_set_new(j, "c2h_success_sq_flow_control",
	                    json_boolean(t->c2h_success_sq_flow_control));
	json_object_set_new(j, "sock_priority", json_integer(t->sock_priority));
	json_object_set_new(j, "ack_timeout", json_integer(t->ack_timeout_ms));
	json_object_set_new(j, "icreq_timeout_ms", json_integer(t->icreq_timeout_ms));
	unvmf_qpair_limits_dump(&opts->limits, j);
}

/* The core set TREQ from the listener: a secure channel over NVMe/TCP is TLS 1.3. */
void tcp_listener_discover(const struct unvmf_trid *trid, struct nvmf_discovery_log_entry *e)
{
	(void)trid;
	e->tsas.tcp.sectype =
	    (e->treq & NVMF_TREQ_SECURE_CHANNEL_MASK) == NVMF_TREQ_SECURE_CHANNEL_REQUIRED
	        ? NVMF_TCP_SECTYPE_TLS13
	        : NVMF_TCP_SECTYPE_NONE;
}
