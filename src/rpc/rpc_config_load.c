/*
 * Loading an SPDK-layout JSON config: {"subsystems": [{"subsystem": NAME,
 * "config": [{"method": M, "params": {...}}, ...]}, ...]}. Each entry runs
 * through the RPC method table, one after the other (a method may complete
 * later), bdev entries first and nvmf entries next, as SPDK orders them. The
 * first failure stops start-up with "FILE: method M: reason". The sections
 * of SPDK subsystems unvmf does not have (keyring, iobuf, sock, vmd, accel,
 * nbd, scheduler) run like any other: their tuning methods are accepted
 * with no effect and the ones that ask for a missing feature are refused
 * with the reason (rpc_spdk_compat.c).
 */
#include "rpc/rpc.h"
#include "reactor/reactor.h"
#include "util/common.h"
#include "util/log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/*
 * Entries run back to back up to this many, then the loader yields to the
 * reactor by a message to itself: a long config must not starve the RPC
 * server (framework_wait_init, rpc_get_methods) or the signal poller.
 */
#define CONFIG_ENTRIES_PER_TURN 64

struct config_load {
	char path[512];
	json_t *entries; /* [{"method", "params"}] in execution order */
	size_t next;
	bool waiting; /* a method is executing */
	bool looping; /* inside config_run: completions must not recurse */
	int rc;
	void (*done)(void *arg, int rc);
	void *arg;
};

static void config_report(const struct config_load *cl, const char *method, const char *reason)
{
	if (method) {
		fprintf(stderr, "%s: method %s: %s\n", cl->path, method, reason);
		LOG_ERR("%s: method %s: %s", cl->path, method, reason);
	} else {
		fprintf(stderr, "%s: %s\n", cl->path, reason);
		LOG_ERR("%s: %s", cl->path, reason);
	}
	fflush(stderr);
}

static void config_finish(struct config_load *cl)
{
	void (*done)(void *arg, int rc) = cl->done;
	void *arg = cl->arg;
	int rc = cl->rc;

	json_decref(cl->entries);
	free(cl);
	done(arg, rc);
}

static void config_run(struct config_load *cl);

static void config_method_done(void *ctx, json_t *response, int code, const char *message)
{
	struct config_load *cl = ctx;
	json_t *entry = json_array_get(cl->entries, cl->next);

	if (code) {
		char reason[600];

		snprintf(reason, sizeof(reason), "%s (code %d)", message ? message : "failed",
		         code);
		config_report(cl, json_string_value(json_object_get(entry, "method")), reason);
		cl->rc = -EINVAL;
	}
	cl->next++;
	cl->waiting = false;
	if (!cl->looping)
		config_run(cl);
}

static void config_run_msg(void *arg)
{
	config_run(arg);
}

static void config_run(struct config_load *cl)
{
	unsigned turn = 0;

	cl->looping = true;
	while (!cl->waiting && cl->rc == 0 && cl->next < json_array_size(cl->entries)) {
		json_t *entry = json_array_get(cl->entries, cl->next);
		const char *method = json_string_value(json_object_get(entry, "method"));

		if (turn++ == CONFIG_ENTRIES_PER_TURN &&
		    unvmf_thread_send_msg(unvmf_thread_get(), config_run_msg, cl) == 0) {
			cl->looping = false;
			return;
		}
		cl->waiting = true;
		unvmf_rpc_call(method, json_object_get(entry, "params"), config_method_done, cl);
	}
	cl->looping = false;
	if (!cl->waiting)
		config_finish(cl);
}

/* Checks one subsystem's "config" list and appends its runnable entries. */
static int config_collect(struct config_load *cl, json_t *sub)
{
	json_t *config = json_object_get(sub, "config");
	const char *name = json_string_value(json_object_get(sub, "subsystem"));
	size_t i;
	json_t *entry;

	if (!config || json_is_null(config))
		return 0;
	if (!json_is_array(config)) {
		char reason[256];

		snprintf(reason, sizeof(reason), "subsystem %s: \"config\" must be an array", name);
		config_report(cl, NULL, reason);
		return -EINVAL;
	}
	json_array_foreach(config, i, entry)
	{
		json_t *method = json_object_get(entry, "method");
		json_t *params = json_object_get(entry, "params");
		char reason[256];

		if (!json_is_object(entry) || !json_is_string(method)) {
			snprintf(reason, sizeof(reason),
			         "subsystem %s: entry %zu needs a \"method\" string", name, i);
			config_report(cl, NULL, reason);
			return -EINVAL;
		}
		if (params && !json_is_object(params) && !json_is_null(params)) {
			config_report(cl, json_string_value(method),
			              "\"params\" must be an object");
			return -EINVAL;
		}
		if (!unvmf_rpc_method_find(json_string_value(method))) {
			const char *why = unvmf_rpc_compat_refused(json_string_value(method));

			snprintf(reason, sizeof(reason), "%s%s", why ? "not supported: " : "unknown method",
			         why ? why : "");
			config_report(cl, json_string_value(method), reason);
			return -EINVAL;
		}
		json_array_append(cl->entries, entry);
	}
	return 0;
}

static int config_prepare(struct config_load *cl)
{
	static const char *const order[] = {"keyring", "bdev", "nvmf", NULL};
	json_error_t jerr;
	json_t *root, *subs, *sub;
	size_t i;
	int rc = 0;
	char reason[400];

	root = json_load_file(cl->path, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		snprintf(reason, sizeof(reason), "%s at line %d column %d", jerr.text, jerr.line,
		         jerr.column);
		config_report(cl, NULL, reason);
		return -EINVAL;
	}
	subs = json_object_get(root, "subsystems");
	if (!json_is_object(root) || !json_is_array(subs)) {
		config_report(cl, NULL, "not a JSON config: expected {\"subsystems\": [...]}");
		json_decref(root);
		return -EINVAL;
	}
	json_array_foreach(subs, i, sub)
	{
		if (!json_is_object(sub) || !json_is_string(json_object_get(sub, "subsystem"))) {
			snprintf(reason, sizeof(reason),
			         "subsystems[%zu]: needs a \"subsystem\" name", i);
			config_report(cl, NULL, reason);
			json_decref(root);
			return -EINVAL;
		}
	}
	/* Known subsystems in dependency order, then the rest in file order. */
	for (size_t o = 0; rc == 0 && o <= UNVMF_ARRAY_SIZE(order) - 1; o++) {
		json_array_foreach(subs, i, sub)
		{
			const char *name = json_string_value(json_object_get(sub, "subsystem"));
			bool known = strcmp(name, "bdev") == 0 || strcmp(name, "nvmf") == 0 ||
			             strcmp(name, "keyring") == 0;

			if (order[o] ? strcmp(name, order[o]) != 0 : known)
				continue;
			rc = config_collect(cl, sub);
			if (rc)
				break;
		}
	}
	json_decref(root);
	return rc;
}

void unvmf_rpc_config_load(const char *path, void (*done)(void *arg, int rc), void *arg)
{
	struct config_load *cl = calloc(1, sizeof(*cl));
	int rc;

	if (!cl) {
		done(arg, -ENOMEM);
		return;
	}
	unvmf_strlcpy(cl->path, path, sizeof(cl->path));
	cl->done = done;
	cl->arg = arg;
	cl->entries = json_array();
	rc = cl->entries ? config_prepare(cl) : -ENOMEM;
	if (rc) {
		cl->rc = rc;
		config_finish(cl);
		return;
	}
	LOG_NOTICE("%s: running %zu method(s)", path, json_array_size(cl->entries));
	config_run(cl);
}
