/*
 * SPDK parameter compatibility: the parameters SPDK's decoders (v25.09 and
 * master) take that unvmf has no option for. One table, by parameter, each
 * row naming every method that takes it. A row is either
 *
 *  - neutral-only: accepted when its value is SPDK's default (or one that
 *    means the same thing here) and refused otherwise, naming the parameter,
 *    because honouring it would change what hosts see (metadata, protection
 *    information, TLS...);
 *  - ignored: a tuning or resource knob of SPDK's implementation that has no
 *    effect on behaviour; accepted with any value.
 *
 * Either way the parameter is removed before the method decodes its
 * parameters, so the methods keep refusing every other unknown name, and
 * each accepted row is logged once (info) for the life of the process.
 * Parameters that unvmf implements are not listed here (they are the
 * methods' own); nvmf_create_transport's are the transports' (transport.h).
 *
 * The same file holds the SPDK methods of subsystems unvmf does not have:
 * the ones whose every parameter only tunes SPDK (accepted, all parameters
 * ignored) and the ones that ask for a feature unvmf lacks (refused by name
 * with the reason, as an unknown method).
 */
#include "rpc/rpc.h"
#include "util/common.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

struct compat_param {
	const char *methods; /* method names separated by '|' */
	const char *name;    /* "obj.member" for a member of an object parameter; "*" = every one */
	enum unvmf_json_param_kind kind; /* NEUTRAL: only the listed values; IGNORED: any */
	const char *neutral;             /* JSON values separated by '|'; "null" = absent only */
	const char *why;
};

#define NEUTRAL(m, n, v, w)                                                                        \
	{                                                                                          \
		m, n, UNVMF_JSON_PARAM_NEUTRAL, v, w                                               \
	}
#define IGNORE(m, n, w)                                                                            \
	{                                                                                          \
		m, n, UNVMF_JSON_PARAM_IGNORED, NULL, w                                            \
	}

#define SIZED_BDEVS "bdev_malloc_create|bdev_null_create"
#define FILE_BDEVS "bdev_aio_create|bdev_uring_create"
#define NO_MD "metadata is not supported"
#define NO_PI "protection information is not supported"
#define NO_CRDT "command retry delays are not supported"
#define NO_PASSTHRU "admin command passthru is not supported"

static const struct compat_param g_compat[] = {
    /* bdevs: unvmf's have no metadata, no PI and report no placement hints. */
    NEUTRAL(SIZED_BDEVS, "md_size", "0", NO_MD),
    NEUTRAL(SIZED_BDEVS, "md_interleave", "false", NO_MD),
    NEUTRAL(SIZED_BDEVS, "dif_type", "0", NO_PI),
    NEUTRAL(SIZED_BDEVS, "dif_is_head_of_md", "false", NO_PI),
    NEUTRAL(SIZED_BDEVS, "dif_pi_format", "0", NO_PI),
    IGNORE(SIZED_BDEVS, "physical_block_size", "a hint unvmf does not report"),
    IGNORE("bdev_malloc_create", "optimal_io_boundary", "unvmf does not split I/O"),
    IGNORE("bdev_malloc_create", "numa_id", "unvmf allocates on the creating thread's node"),
    NEUTRAL("bdev_null_create", "preferred_write_granularity", "0",
            "write granularity hints (NPWG) are not reported"),
    NEUTRAL("bdev_null_create", "preferred_write_alignment", "0",
            "write alignment hints (NPWA) are not reported"),
    NEUTRAL("bdev_null_create", "optimal_write_size", "0",
            "optimal write size hints (NOWS) are not reported"),
    NEUTRAL("bdev_null_create", "preferred_unmap_granularity", "0",
            "deallocate granularity hints (NPDG) are not reported"),
    NEUTRAL("bdev_null_create", "preferred_unmap_alignment", "0",
            "deallocate alignment hints (NPDA) are not reported"),
    NEUTRAL(FILE_BDEVS, "readonly", "false", "read-only bdevs are not supported"),
    IGNORE(FILE_BDEVS, "fallocate", "unvmf does not preallocate files"),
    IGNORE(FILE_BDEVS, "nowait", "unvmf submits through io_uring, which never blocks"),
    NEUTRAL("bdev_get_bdevs", "timeout", "0", "waiting for a bdev to appear is not supported"),

    /* Subsystem features unvmf does not have. */
    NEUTRAL("nvmf_create_subsystem", "max_discard_size_kib|dmrsl", "0",
            "a discard size limit is not supported"),
    NEUTRAL("nvmf_create_subsystem", "max_write_zeroes_size_kib|wzsl", "0",
            "a write-zeroes size limit is not supported"),
    NEUTRAL("nvmf_create_subsystem", "passthrough", "false",
            "controller passthrough is not supported"),
    NEUTRAL("nvmf_create_subsystem", "enable_nssr", "false",
            "NVM subsystem reset is not supported"),
    NEUTRAL("nvmf_create_subsystem", "admin_label", "null",
            "extended discovery admin labels are not supported"),
    NEUTRAL("nvmf_subsystem_add_ns", "namespace.no_auto_visible", "false",
            "per-host namespace visibility is not supported"),
    NEUTRAL("nvmf_subsystem_add_ns", "namespace.hide_metadata", "false", NO_MD),
    NEUTRAL("nvmf_subsystem_add_ns", "namespace.anagrpid", "null",
            "ANA groups other than the namespace's own are not supported"),
    NEUTRAL("nvmf_subsystem_listener_set_ana_state", "anagrpid", "null",
            "ANA groups other than the namespace's own are not supported"),
    IGNORE("nvmf_subsystem_remove_host", "timeout_ms",
           "unvmf disconnects the host's controllers at once"),
    IGNORE("nvmf_subsystem_add_listener", "sock_impl", "unvmf has one socket implementation"),
    IGNORE("nvmf_subsystem_add_listener", "numa_id", "unvmf spreads qpairs over every reactor"),
    NEUTRAL("nvmf_subsystem_add_listener", "ana_state", "\"optimized\"",
            "ANA states other than optimized are not supported"),

    /* Target-wide settings. */
    NEUTRAL("nvmf_set_config", "discovery_filter", "\"match_any\"",
            "discovery log filtering is not supported"),
    NEUTRAL("nvmf_set_config", "discovery_filters", "\"match_any\"|0|[]",
            "discovery log filtering is not supported"),
    NEUTRAL("nvmf_set_config", "admin_cmd_passthru",
            "{}|{\"identify_ctrlr\": false}|{\"identify_ctrlr\": false, \"vendor_specific\": "
            "false}",
            NO_PASSTHRU),
    NEUTRAL("nvmf_set_config", "dup_host_policy", "\"allow\"",
            "restricting duplicate host connections is not supported"),
    IGNORE("nvmf_set_config", "poll_groups_mask", "unvmf runs a poll group on every reactor"),
    IGNORE("nvmf_set_config", "dhchap_digests|dhchap_dhgroups",
           "unvmf offers every DH-HMAC-CHAP digest and DH group (the lists are not applied)"),
    NEUTRAL("nvmf_set_crdt", "crdt1|crdt2|crdt3", "0", NO_CRDT),
    IGNORE("rpc_get_methods", "include_aliases", "unvmf lists each name it answers to"),
    IGNORE("framework_get_config", "with_batches", "unvmf writes one call per object"),

    /*
     * Methods of SPDK subsystems unvmf does not have, written by SPDK's
     * save_config: they only tune SPDK's own buffers, sockets, accel
     * engine, scheduler and NVMe initiator, so any value changes nothing.
     */
    IGNORE("iobuf_set_options", "*", "unvmf sizes its buffer pools per transport"),
    IGNORE("sock_impl_set_options", "*", "socket tuning of SPDK's socket implementations"),
    NEUTRAL("sock_set_default_impl", "impl_name", "\"posix\"|\"uring\"",
            "unvmf listeners are plain TCP (no ssl default)"),
    IGNORE("accel_set_options|accel_assign_opc", "*", "unvmf has no accel framework"),
    IGNORE("bdev_set_options", "*", "unvmf's bdev layer has no I/O pools to size"),
    IGNORE("bdev_nvme_set_options|bdev_nvme_set_hotplug", "*",
           "unvmf has no NVMe initiator bdev to tune"),
    IGNORE("bdev_raid_set_options|bdev_iscsi_set_options", "*",
           "unvmf has no raid or iSCSI bdev to tune"),
    IGNORE("framework_set_scheduler", "*", "unvmf's reactors poll without a scheduler"),
    IGNORE("keyring_linux_set_options", "*",
           "unvmf's keys come from files (keyring_file_add_key), not the Linux keyring"),
};

/* Methods that take nothing but the table's parameters: accepted, nothing to do. */
static const char *const g_noop_methods[] = {
    "nvmf_set_config",        "nvmf_set_crdt",           "iobuf_set_options",
    "sock_impl_set_options",  "sock_set_default_impl",   "accel_set_options",
    "accel_assign_opc",       "bdev_set_options",        "bdev_wait_for_examine",
    "bdev_nvme_set_options",  "bdev_nvme_set_hotplug",   "bdev_raid_set_options",
    "bdev_iscsi_set_options", "framework_set_scheduler", "keyring_linux_set_options",
};

struct compat_refusal {
	const char *method;
	const char *why;
};

/* SPDK methods that would need a feature unvmf does not have. */
static const struct compat_refusal g_refused_methods[] = {
    {"vmd_enable", "VMD (PCIe NVMe device enumeration) is not supported"},
    {"nbd_start_disk", "exporting a bdev as an NBD block device is not supported"},
    {"nvmf_create_target", "unvmf has one target"},
    {"nvmf_delete_target", "unvmf has one target"},
    {"nvmf_get_targets", "unvmf has one target"},
    {"nvmf_ns_remove_host", "per-host namespace visibility is not supported"},
    {"nvmf_publish_mdns_prr", "mDNS discovery is not supported"},
    {"nvmf_subsystem_set_ns_ana_group", "ANA groups other than the namespace's own"},
    {"nvmf_ns_add_host", "per-host namespace visibility is not supported"},
    {"bdev_nvme_attach_controller", "unvmf has no NVMe initiator bdev"},
    {"bdev_lvol_create_lvstore", "unvmf has no logical volumes"},
    {"bdev_reset_iostat", "resetting I/O statistics is not supported (bdev_get_iostat counts "
                          "from the bdev's creation)"},
    {"bdev_enable_histogram", "bdev latency histograms are not supported (nvmf_get_stats has "
                              "one per poll group)"},
    {"bdev_get_histogram", "bdev latency histograms are not supported (nvmf_get_stats has "
                           "one per poll group)"},
    {"bdev_get_histogram_borders", "bdev latency histograms are not supported"},
    {"bdev_set_qos_limit", "bdev QoS rate limits are not supported"},
    {"bdev_set_qd_sampling_period", "queue depth sampling is not supported"},
    {"bdev_examine", "unvmf has no bdev modules that examine (no stacked bdevs)"},
    {"framework_start_init", "unvmf has no --wait-for-rpc: start-up runs at once"},
    {"framework_get_reactors", "unvmf's reactors are reported by nvmf_get_stats"},
    {"framework_get_scheduler", "unvmf's reactors poll without a scheduler"},
    {"framework_get_governor", "unvmf has no CPU frequency governor"},
    {"framework_get_pci_devices", "unvmf does not enumerate PCI devices"},
    {"framework_monitor_context_switch", "unvmf's reactors keep no context switch monitor"},
    {"framework_enable_cpumask_locks", "unvmf takes no per-core lock files"},
    {"framework_disable_cpumask_locks", "unvmf takes no per-core lock files"},
    {"nvmf_stop_mdns_prr", "mDNS discovery is not supported"},
};

/* Whether word is one of the '|'-separated words of list. */
static bool list_has(const char *list, const char *word)
{
	size_t len = strlen(word);

	for (const char *s = list; s;) {
		const char *bar = strchr(s, '|');
		size_t n = bar ? (size_t)(bar - s) : strlen(s);

		if (n == len && strncmp(s, word, len) == 0)
			return true;
		s = bar ? bar + 1 : NULL;
	}
	return false;
}

/* The object that holds a member (params or one of its objects), or NULL. */
static json_t *compat_holder(json_t *params, const char *name, char *member, size_t len)
{
	const char *dot = strchr(name, '.');
	char outer[64];

	if (!dot) {
		snprintf(member, len, "%s", name);
		return params;
	}
	snprintf(outer, sizeof(outer), "%.*s", (int)(dot - name), name);
	snprintf(member, len, "%s", dot + 1);
	params = json_object_get(params, outer);
	return json_is_object(params) ? params : NULL;
}

/* Row c's verdict on value v of member name: 0 (drop it) or -EINVAL with err. */
static int compat_check(const struct compat_param *c, const char *method, const char *name,
                        const json_t *v, char *err, size_t errlen)
{
	if (c->kind == UNVMF_JSON_PARAM_NEUTRAL && !json_is_null(v) &&
	    !unvmf_json_value_in(v, c->neutral)) {
		char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);

		if (strcmp(c->neutral, "null") == 0)
			snprintf(err, errlen, "invalid parameter '%s': %s by unvmf", name, c->why);
		else
			snprintf(err, errlen,
			         "invalid parameter '%s': %s is not supported (%s); unvmf accepts "
			         "only %s, SPDK's default",
			         name, text ? text : "this value", c->why, c->neutral);
		free(text);
		return -EINVAL;
	}
	unvmf_json_param_log_once(c, method, name, c->why);
	return 0;
}

/* Applies row c to the members it names in params (a private copy); 0 or -EINVAL. */
static int compat_apply(const struct compat_param *c, const char *method, json_t *params, char *err,
                        size_t errlen)
{
	char member[64];
	const char *key;
	json_t *holder, *v;
	void *tmp;

	if (strcmp(c->name, "*") == 0) {
		json_object_foreach_safe(params, tmp, key, v)
		{
			if (compat_check(c, method, key, v, err, errlen))
				return -EINVAL;
			json_object_del(params, key);
		}
		return 0;
	}
	/* "a|b": one row for several members that mean the same thing. */
	for (const char *s = c->name; s;) {
		const char *bar = strchr(s, '|');
		char one[64];

		snprintf(one, sizeof(one), "%.*s", (int)(bar ? (size_t)(bar - s) : strlen(s)), s);
		s = bar ? bar + 1 : NULL;
		holder = compat_holder(params, one, member, sizeof(member));
		v = holder ? json_object_get(holder, member) : NULL;
		if (!v)
			continue;
		if (compat_check(c, method, one, v, err, errlen))
			return -EINVAL;
		json_object_del(holder, member);
	}
	return 0;
}

int unvmf_rpc_compat_filter(const char *method, json_t *params, json_t **out, char *err,
                            size_t errlen)
{
	json_t *copy;

	*out = NULL;
	if (!json_is_object(params)) {
		*out = json_incref(params);
		return 0;
	}
	copy = json_deep_copy(params);
	if (!copy) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (size_t i = 0; i < UNVMF_ARRAY_SIZE(g_compat); i++) {
		if (!list_has(g_compat[i].methods, method))
			continue;
		if (compat_apply(&g_compat[i], method, copy, err, errlen)) {
			json_decref(copy);
			return -EINVAL;
		}
	}
	*out = copy;
	return 0;
}

const char *unvmf_rpc_compat_refused(const char *method)
{
	for (size_t i = 0; i < UNVMF_ARRAY_SIZE(g_refused_methods); i++) {
		if (strcmp(g_refused_methods[i].method, method) == 0)
			return g_refused_methods[i].why;
	}
	return NULL;
}

/* Every parameter was the table's, so after filtering nothing may be left. */
static void rpc_compat_noop(struct unvmf_rpc_request *req, json_t *params)
{
	if (unvmf_rpc_decode_or_reply(req, params, NULL, 0, NULL, NULL))
		return;
	unvmf_rpc_send_bool(req, true);
}

static struct unvmf_rpc_method g_compat_methods[UNVMF_ARRAY_SIZE(g_noop_methods)];

void unvmf_rpc_register_compat_methods(void)
{
	for (size_t i = 0; i < UNVMF_ARRAY_SIZE(g_noop_methods); i++)
		g_compat_methods[i] = (struct unvmf_rpc_method){.name = g_noop_methods[i],
		                                                .handler = rpc_compat_noop};
	unvmf_rpc_register_methods(g_compat_methods, UNVMF_ARRAY_SIZE(g_compat_methods));
}
