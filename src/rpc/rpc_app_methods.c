/* Framework methods: method list, version, init wait, save_config. */
#include "rpc/rpc.h"
#include "util/common.h"
#include "reactor/reactor.h"

#include "util/log.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef UNVMF_VERSION_STRING
#define UNVMF_VERSION_STRING "0.0.0"
#endif

struct get_methods_params {
	bool current;
};

static void rpc_get_methods(struct unvmf_rpc_request *req, json_t *params)
{
	static const struct unvmf_rpc_param spec[] = {
	    UNVMF_RPC_ROW("current", UNVMF_RPC_BOOL, false, struct get_methods_params, current, 0,
	                  0),
	};
	struct get_methods_params p = {0};
	json_t *list;
	const char *name;

	if (unvmf_rpc_decode_or_reply(req, params, spec, UNVMF_ARRAY_SIZE(spec), &p, NULL))
		return;
	/* "current": what can be called now; during start-up that is the startup set only. */
	list = json_array();
	for (size_t i = 0; list && (name = unvmf_rpc_method_name(i)) != NULL; i++) {
		if (p.current && unvmf_rpc_starting() && !unvmf_rpc_method_allowed_at_startup(name))
			continue;
		json_array_append_new(list, json_string(name));
	}
	unvmf_rpc_send_result(req, list);
}

static void rpc_get_version(struct unvmf_rpc_request *req, json_t *params)
{
	unsigned major = 0, minor = 0, patch = 0;
	char version[64];

	if (unvmf_rpc_decode_or_reply(req, params, NULL, 0, NULL, NULL))
		return;
	sscanf(UNVMF_VERSION_STRING, "%u.%u.%u", &major, &minor, &patch);
	snprintf(version, sizeof(version), "unvmf v%s", UNVMF_VERSION_STRING);
	unvmf_rpc_send_result(req, json_pack("{s:s, s:{s:i, s:i, s:i, s:s}}", "version", version,
	                                     "fields", "major", major, "minor", minor, "patch",
	                                     patch, "suffix", ""));
}

/*
 * The RPC server starts before the config file is applied (so a failing
 * start-up can be watched and a long one waited for): framework_wait_init
 * answers once start-up finished, or with an error if it failed.
 */
struct wait_init {
	struct unvmf_rpc_request *req;
	struct unvmf_poller *poller;
};

static int wait_init_poll(void *arg)
{
	struct wait_init *w = arg;
	int st = unvmf_rpc_init_state();

	if (st == 0)
		return 0;
	if (st > 0)
		unvmf_rpc_send_bool(w->req, true);
	else
		unvmf_rpc_send_invalid_state(w->req, "start-up failed or the target is stopping");
	unvmf_poller_unregister(&w->poller);
	free(w);
	return 1;
}

static void rpc_framework_wait_init(struct unvmf_rpc_request *req, json_t *params)
{
	struct wait_init *w;

	if (unvmf_rpc_decode_or_reply(req, params, NULL, 0, NULL, NULL))
		return;
	if (unvmf_rpc_init_state() > 0) {
		unvmf_rpc_send_bool(req, true);
		return;
	}
	if (unvmf_rpc_init_state() < 0) {
		unvmf_rpc_send_invalid_state(req, "start-up failed or the target is stopping");
		return;
	}
	w = calloc(1, sizeof(*w));
	if (!w) {
		unvmf_rpc_send_error(req, -ENOMEM, "out of memory");
		return;
	}
	w->req = req;
	w->poller = unvmf_poller_register(wait_init_poll, w, 10000, "wait_init");
	if (!w->poller) {
		free(w);
		unvmf_rpc_send_error(req, -ENOMEM, "out of memory");
	}
}

static void rpc_save_config(struct unvmf_rpc_request *req, json_t *params)
{
	if (unvmf_rpc_decode_or_reply(req, params, NULL, 0, NULL, NULL))
		return;
	unvmf_rpc_send_result(req, unvmf_rpc_config_save());
}

/* rpc.py's save_config is built by the client from these two. */
static void rpc_framework_get_subsystems(struct unvmf_rpc_request *req, json_t *params)
{
	json_t *list;
	const char *name, *dep;

	if (unvmf_rpc_decode_or_reply(req, params, NULL, 0, NULL, NULL))
		return;
	list = json_array();
	for (unsigned i = 0; list && (name = unvmf_rpc_config_subsystem(i, &dep)) != NULL; i++) {
		json_t *deps = dep ? json_pack("[s]", dep) : json_array();

		json_array_append_new(
		    list, json_pack("{s:s, s:o*}", "subsystem", name, "depends_on", deps));
	}
	unvmf_rpc_send_result(req, list);
}

struct get_config_params {
	const char *name;
};

static void rpc_framework_get_config(struct unvmf_rpc_request *req, json_t *params)
{
	static const struct unvmf_rpc_param spec[] = {
	    UNVMF_RPC_ROW("name", UNVMF_RPC_STRING, true, struct get_config_params, name, 0, 64),
	};
	struct get_config_params p = {0};
	json_t *config;

	if (unvmf_rpc_decode_or_reply(req, params, spec, UNVMF_ARRAY_SIZE(spec), &p, NULL))
		return;
	config = unvmf_rpc_config_subsystem_save(p.name);
	if (!config) {
		unvmf_rpc_send_error(req, UNVMF_RPC_INVALID_PARAMS,
		                     "invalid parameter 'name': no subsystem '%s' (bdev or nvmf)",
		                     p.name);
		return;
	}
	unvmf_rpc_send_result(req, config);
}

/*
 * spdk_kill_instance: the signal goes to the target itself a moment after
 * the reply was queued, so the client hears back before shutdown closes
 * the socket; the target handles it as if it came from outside.
 */
struct kill_instance {
	struct unvmf_poller *poller;
	int sig;
};

/* At most one pending: a second call before it fires only changes the signal. */
static struct kill_instance g_kill;

static int kill_instance_poll(void *arg)
{
	struct kill_instance *k = arg;

	unvmf_poller_unregister(&k->poller);
	LOG_NOTICE("rpc: spdk_kill_instance: raising signal %d", k->sig);
	kill(getpid(), k->sig);
	return 1;
}

struct kill_params {
	const char *sig_name;
};

static void rpc_spdk_kill_instance(struct unvmf_rpc_request *req, json_t *params)
{
	static const struct {
		const char *name;
		int sig;
	} signals[] = {
	    {"SIGINT", SIGINT}, {"SIGTERM", SIGTERM}, {"SIGQUIT", SIGQUIT},
	    {"SIGHUP", SIGHUP}, {"SIGKILL", SIGKILL}, {"SIGUSR1", SIGUSR1},
	};
	static const struct unvmf_rpc_param spec[] = {
	    UNVMF_RPC_ROW("sig_name", UNVMF_RPC_STRING, true, struct kill_params, sig_name, 0, 16),
	};
	struct kill_params p = {0};
	int sig = 0;

	if (unvmf_rpc_decode_or_reply(req, params, spec, UNVMF_ARRAY_SIZE(spec), &p, NULL))
		return;
	for (size_t i = 0; i < UNVMF_ARRAY_SIZE(signals); i++) {
		/* SPDK takes "SIGTERM" and "TERM" alike. */
		if (strcmp(p.sig_name, signals[i].name) == 0 ||
		    strcmp(p.sig_name, signals[i].name + 3) == 0)
			sig = signals[i].sig;
	}
	if (!sig) {
		unvmf_rpc_send_error(
		    req, UNVMF_RPC_INVALID_PARAMS,
		    "invalid parameter 'sig_name': '%s' (SIGINT, SIGTERM, SIGQUIT, "
		    "SIGHUP, SIGKILL or SIGUSR1)",
		    p.sig_name);
		return;
	}
	g_kill.sig = sig;
	if (!g_kill.poller)
		g_kill.poller =
		    unvmf_poller_register(kill_instance_poll, &g_kill, 20000, "kill_instance");
	if (!g_kill.poller) {
		unvmf_rpc_send_error(req, -ENOMEM, "out of memory");
		return;
	}
	unvmf_rpc_send_bool(req, true);
}

static const struct unvmf_rpc_method g_app_methods[] = {
    {"rpc_get_methods", rpc_get_methods},
    {"unvmf_get_version", rpc_get_version},
    {"spdk_get_version", rpc_get_version},
    {"framework_wait_init", rpc_framework_wait_init},
    {"save_config", rpc_save_config},
    {"framework_get_subsystems", rpc_framework_get_subsystems},
    {"framework_get_config", rpc_framework_get_config},
    {"spdk_kill_instance", rpc_spdk_kill_instance},
};

void unvmf_rpc_register_app_methods(void)
{
	unvmf_rpc_register_methods(g_app_methods, UNVMF_ARRAY_SIZE(g_app_methods));
}
