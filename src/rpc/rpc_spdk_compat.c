/*
 * SPDK parameter compatibility: the parameters SPDK's save_config (and
 * rpc.py) send that unvmf has no option for. Each one is either
 *
 *  - neutral-only: accepted when its value is SPDK's default (or one that
 *    means the same thing here) and refused otherwise, because honouring it
 *    would change what hosts see (metadata, protection information, TLS...);
 *  - ignored: a tuning or resource knob of SPDK's implementation that has no
 *    effect on behaviour; accepted with any value, with one notice per
 *    (method, parameter) for the life of the process.
 *
 * Either way the parameter is removed before the method decodes its
 * parameters, so the methods keep refusing every other unknown name.
 * Parameters that unvmf implements are not listed here (they are the
 * methods' own).
 */
#include "rpc/rpc.h"
#include "util/common.h"
#include "util/log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

enum compat_kind {
	COMPAT_NEUTRAL, /* only the listed values */
	COMPAT_IGNORE,  /* any value, one notice */
};

struct compat_param {
	const char *method;
	const char *name; /* "obj.member" for a member of an object parameter */
	enum compat_kind kind;
	const char *neutral; /* JSON values separated by '|'; "null" = absent only */
	const char *why;
};

#define NEUTRAL(m, n, v, w)                                                                        \
	{                                                                                          \
		m, n, COMPAT_NEUTRAL, v, w                                                         \
	}
#define IGNORE(m, n, w)                                                                            \
	{                                                                                          \
		m, n, COMPAT_IGNORE, NULL, w                                                       \
	}

static const struct compat_param g_compat[] = {
    /* bdev_malloc_create / bdev_null_create: unvmf bdevs have no metadata or PI. */
    IGNORE("bdev_malloc_create", "optimal_io_boundary", "unvmf does not split I/O"),
    IGNORE("bdev_malloc_create", "physical_block_size", "a hint unvmf does not report"),
    NEUTRAL("bdev_malloc_create", "md_size", "0", "metadata is not supported"),
    NEUTRAL("bdev_malloc_create", "md_interleave", "false", "metadata is not supported"),
    NEUTRAL("bdev_malloc_create", "dif_type", "0", "protection information is not supported"),
    NEUTRAL("bdev_malloc_create", "dif_is_head_of_md", "false",
            "protection information is not supported"),
    NEUTRAL("bdev_malloc_create", "dif_pi_format", "0", "protection information is not supported"),
    IGNORE("bdev_null_create", "physical_block_size", "a hint unvmf does not report"),
    NEUTRAL("bdev_null_create", "md_size", "0", "metadata is not supported"),
    NEUTRAL("bdev_null_create", "md_interleave", "false", "metadata is not supported"),
    NEUTRAL("bdev_null_create", "dif_type", "0", "protection information is not supported"),
    NEUTRAL("bdev_null_create", "dif_is_head_of_md", "false",
            "protection information is not supported"),
    NEUTRAL("bdev_null_create", "dif_pi_format", "0", "protection information is not supported"),
    NEUTRAL("bdev_aio_create", "readonly", "false", "read-only bdevs are not supported"),
    IGNORE("bdev_aio_create", "fallocate", "unvmf does not preallocate files"),

    /* nvmf_create_transport: SPDK's resource and polling knobs. */
    IGNORE("nvmf_create_transport", "data_wr_pool_size", "unvmf sizes its own work requests"),
    IGNORE("nvmf_create_transport", "acceptor_poll_rate",
           "unvmf accepts on socket readiness, not by polling"),
    IGNORE("nvmf_create_transport", "no_wr_batching", "unvmf batches as it sees fit"),
    IGNORE("nvmf_create_transport", "control_msg_num", "unvmf sizes its own control buffers"),
    IGNORE("nvmf_create_transport", "disable_command_passthru",
           "unvmf has no command passthru to disable"),
    IGNORE("nvmf_create_transport", "kas", "unvmf reports its own keep-alive granularity"),
    IGNORE("nvmf_create_transport", "min_kato", "unvmf uses the host's keep-alive timeout"),

    /* Subsystem features unvmf does not have. */
    NEUTRAL("nvmf_create_subsystem", "max_discard_size_kib", "0",
            "a discard size limit is not supported"),
    NEUTRAL("nvmf_create_subsystem", "max_write_zeroes_size_kib", "0",
            "a write-zeroes size limit is not supported"),
    NEUTRAL("nvmf_create_subsystem", "passthrough", "false",
            "controller passthrough is not supported"),
    NEUTRAL("nvmf_subsystem_add_ns", "namespace.ptpl_file", "null",
            "persistent reservations are not supported"),
    NEUTRAL("nvmf_subsystem_add_ns", "namespace.no_auto_visible", "false",
            "per-host namespace visibility is not supported"),
    NEUTRAL("nvmf_subsystem_add_ns", "namespace.hide_metadata", "false",
            "metadata is not supported"),
    NEUTRAL("nvmf_subsystem_add_host", "dhchap_key", "null",
            "DH-HMAC-CHAP authentication is not supported"),
    NEUTRAL("nvmf_subsystem_add_host", "dhchap_ctrlr_key", "null",
            "DH-HMAC-CHAP authentication is not supported"),
    IGNORE("nvmf_subsystem_add_listener", "sock_impl", "unvmf has one socket implementation"),
    NEUTRAL("nvmf_subsystem_add_listener", "ana_state", "\"optimized\"",
            "ANA states other than optimized are not supported"),

    /* Target-wide settings (methods below). */
    NEUTRAL("nvmf_set_config", "discovery_filter", "\"match_any\"",
            "discovery log filtering is not supported"),
    NEUTRAL("nvmf_set_config", "admin_cmd_passthru", "{\"identify_ctrlr\": false}|{}",
            "admin command passthru is not supported"),
    IGNORE("nvmf_set_config", "poll_groups_mask", "unvmf runs a poll group on every reactor"),
    IGNORE("nvmf_set_config", "dhchap_digests",
           "no DH-HMAC-CHAP key can be configured, so the list changes nothing"),
    IGNORE("nvmf_set_config", "dhchap_dhgroups",
           "no DH-HMAC-CHAP key can be configured, so the list changes nothing"),
    NEUTRAL("nvmf_set_crdt", "crdt1", "0", "command retry delays are not supported"),
    NEUTRAL("nvmf_set_crdt", "crdt2", "0", "command retry delays are not supported"),
    NEUTRAL("nvmf_set_crdt", "crdt3", "0", "command retry delays are not supported"),
};

static bool g_noticed[UNVMF_ARRAY_SIZE(g_compat)];

static bool value_is_neutral(const json_t *v, const char *neutral)
{
	char buf[128];

	for (const char *s = neutral; s && *s;) {
		const char *bar = strchr(s, '|');
		size_t len = bar ? (size_t)(bar - s) : strlen(s);
		json_t *n;
		bool eq;

		snprintf(buf, sizeof(buf), "%.*s", (int)len, s);
		n = json_loads(buf, JSON_DECODE_ANY, NULL);
		eq = n && json_equal(n, v);
		json_decref(n);
		if (eq)
			return true;
		s = bar ? bar + 1 : NULL;
	}
	return false;
}

/* The object that holds the member name refers to (params or one of its objects), or NULL. */
static json_t *compat_holder(json_t *params, const char *name, const char **member)
{
	const char *dot = strchr(name, '.');
	char outer[64];

	if (!dot) {
		*member = name;
		return params;
	}
	snprintf(outer, sizeof(outer), "%.*s", (int)(dot - name), name);
	*member = dot + 1;
	params = json_object_get(params, outer);
	return json_is_object(params) ? params : NULL;
}

int unvmf_rpc_compat_filter(const char *method, json_t *params, json_t **out, char *err,
                            size_t errlen)
{
	json_t *copy = NULL;

	*out = json_incref(params);
	if (!json_is_object(params))
		return 0;
	for (size_t i = 0; i < UNVMF_ARRAY_SIZE(g_compat); i++) {
		const struct compat_param *c = &g_compat[i];
		const char *member;
		json_t *holder, *v;

		if (strcmp(c->method, method) != 0)
			continue;
		holder = compat_holder(copy ? copy : params, c->name, &member);
		v = holder ? json_object_get(holder, member) : NULL;
		if (!v)
			continue;
		if (c->kind == COMPAT_NEUTRAL && !json_is_null(v) &&
		    !value_is_neutral(v, c->neutral)) {
			char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);

			if (strcmp(c->neutral, "null") == 0)
				snprintf(err, errlen, "invalid parameter '%s': %s by unvmf",
				         c->name, c->why);
			else
				snprintf(err, errlen,
				         "invalid parameter '%s': %s is not supported (%s); unvmf "
				         "accepts only %s, SPDK's default",
				         c->name, text ? text : "this value", c->why, c->neutral);
			free(text);
			json_decref(copy);
			json_decref(*out);
			*out = NULL;
			return -EINVAL;
		}
		if (c->kind == COMPAT_IGNORE && !g_noticed[i]) {
			g_noticed[i] = true;
			LOG_NOTICE("%s: ignoring SPDK parameter '%s' (%s)", method, c->name,
			           c->why);
		}
		if (!copy) {
			copy = json_deep_copy(params);
			if (!copy) {
				snprintf(err, errlen, "out of memory");
				json_decref(*out);
				*out = NULL;
				return -ENOMEM;
			}
			holder = compat_holder(copy, c->name, &member);
		}
		json_object_del(holder, member);
	}
	if (copy) {
		json_decref(*out);
		*out = copy;
	}
	return 0;
}

/*
 * nvmf_set_config and nvmf_set_crdt: SPDK's save_config writes both. Every
 * parameter is in the table above, so after filtering nothing may be left.
 */
static void rpc_nvmf_neutral_settings(struct unvmf_rpc_request *req, json_t *params)
{
	if (unvmf_rpc_decode_or_reply(req, params, NULL, 0, NULL, NULL))
		return;
	unvmf_rpc_send_bool(req, true);
}

static const struct unvmf_rpc_method g_compat_methods[] = {
    {"nvmf_set_config", rpc_nvmf_neutral_settings},
    {"nvmf_set_crdt", rpc_nvmf_neutral_settings},
};

void unvmf_rpc_register_compat_methods(void)
{
	unvmf_rpc_register_methods(g_compat_methods, UNVMF_ARRAY_SIZE(g_compat_methods));
}
