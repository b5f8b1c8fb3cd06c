/*
 * The method table and the life of one request: envelope checks, dispatch to
 * the handler, and exactly one response built from its result or error.
 */
#include "rpc/rpc.h"
#include "nvmf/nvmf.h"
#include "util/common.h"
#include "util/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define RPC_MAX_METHODS 192

struct unvmf_rpc_request {
	json_t *id;   /* NULL: the response carries a null id */
	bool respond; /* false for a notification */
	json_t *params;
	char method[64];
	unvmf_rpc_done_fn done; /* NULL once orphaned */
	void *ctx;
	bool completed;
};

static const struct unvmf_rpc_method *g_methods[RPC_MAX_METHODS];
static size_t g_num_methods;
static int (*g_init_state)(void);

/*
 * What a client may call while start-up (the config file) is still running,
 * as SPDK allows only its "startup" methods then: nothing that changes or
 * reads half-built state, so a script's calls cannot interleave with the
 * config's. The config loader's own calls (unvmf_rpc_call) are not gated.
 */
static const char *const g_startup_methods[] = {
    "rpc_get_methods",
    "unvmf_get_version",
    "spdk_get_version",
    "framework_wait_init",
};

void unvmf_rpc_set_init_state(int (*init_state)(void))
{
	g_init_state = init_state;
}

int unvmf_rpc_init_state(void)
{
	return g_init_state ? g_init_state() : 1;
}

bool unvmf_rpc_starting(void)
{
	return g_init_state && g_init_state() == 0;
}

bool unvmf_rpc_method_allowed_at_startup(const char *name)
{
	for (size_t i = 0; i < UNVMF_ARRAY_SIZE(g_startup_methods); i++) {
		if (strcmp(g_startup_methods[i], name) == 0)
			return true;
	}
	return false;
}

void unvmf_rpc_methods_reset(void)
{
	g_num_methods = 0;
}

int unvmf_rpc_register_methods(const struct unvmf_rpc_method *methods, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		if (unvmf_rpc_method_find(methods[i].name))
			return -EEXIST;
		if (g_num_methods == RPC_MAX_METHODS)
			return -ENOSPC;
		g_methods[g_num_methods++] = &methods[i];
	}
	return 0;
}

const struct unvmf_rpc_method *unvmf_rpc_method_find(const char *name)
{
	for (size_t i = 0; i < g_num_methods; i++) {
		if (strcmp(g_methods[i]->name, name) == 0)
			return g_methods[i];
	}
	return NULL;
}

const char *unvmf_rpc_method_name(size_t index)
{
	return index < g_num_methods ? g_methods[index]->name : NULL;
}

const char *unvmf_rpc_request_method(const struct unvmf_rpc_request *req)
{
	return req->method;
}

json_t *unvmf_rpc_error_response(json_t *id, int code, const char *message)
{
	return json_pack("{s:s, s:O, s:{s:i, s:s}}", "jsonrpc", "2.0", "id", id ? id : json_null(),
	                 "error", "code", code, "message", message);
}

static void request_finish(struct unvmf_rpc_request *req, json_t *result, int code,
                           const char *message)
{
	json_t *response = NULL;

	UNVMF_ASSERT(!req->completed);
	req->completed = true;
	if (req->respond) {
		if (code)
			response = unvmf_rpc_error_response(req->id, code, message);
		else
			response = json_pack("{s:s, s:O, s:O}", "jsonrpc", "2.0", "id",
			                     req->id ? req->id : json_null(), "result", result);
	}
	if (req->done)
		req->done(req->ctx, response, code, message);
	json_decref(response);
	json_decref(result);
	json_decref(req->id);
	json_decref(req->params);
	free(req);
}

void unvmf_rpc_send_result(struct unvmf_rpc_request *req, json_t *result)
{
	if (!result) {
		unvmf_rpc_send_error(req, UNVMF_RPC_INTERNAL_ERROR, "out of memory");
		return;
	}
	request_finish(req, result, 0, NULL);
}

void unvmf_rpc_send_bool(struct unvmf_rpc_request *req, bool value)
{
	unvmf_rpc_send_result(req, json_boolean(value));
}

void unvmf_rpc_send_error(struct unvmf_rpc_request *req, int code, const char *fmt, ...)
{
	char message[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	if (code == 0)
		code = UNVMF_RPC_INTERNAL_ERROR;
	/* -EPERM is -1, which clients read as "invalid state": keep the two apart. */
	if (code == -EPERM)
		code = -EACCES;
	request_finish(req, NULL, code, message);
}

void unvmf_rpc_send_invalid_state(struct unvmf_rpc_request *req, const char *fmt, ...)
{
	char message[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	request_finish(req, NULL, UNVMF_RPC_INVALID_STATE, message);
}

void unvmf_rpc_request_orphan(struct unvmf_rpc_request *req)
{
	req->done = NULL;
}

static void request_run(struct unvmf_rpc_request *req)
{
	const struct unvmf_rpc_method *m = unvmf_rpc_method_find(req->method);
	json_t *filtered;
	char err[512];

	if (!m) {
		const char *why = unvmf_rpc_compat_refused(req->method);

		unvmf_rpc_send_error(req, UNVMF_RPC_METHOD_NOT_FOUND, "Method not found: '%s'%s%s",
		                     req->method, why ? ": " : "", why ? why : "");
		return;
	}
	if (unvmf_tgt_is_shutting_down()) {
		unvmf_rpc_send_invalid_state(req, "the target is shutting down");
		return;
	}
	if (unvmf_rpc_compat_filter(req->method, req->params, &filtered, err, sizeof(err))) {
		unvmf_rpc_send_error(req, UNVMF_RPC_INVALID_PARAMS, "%s", err);
		return;
	}
	json_decref(req->params);
	req->params = filtered;
	LOG_DEBUG("rpc: %s", req->method);
	m->handler(req, req->params);
}

static struct unvmf_rpc_request *request_new(unvmf_rpc_done_fn done, void *ctx)
{
	struct unvmf_rpc_request *req = calloc(1, sizeof(*req));

	if (!req) {
		done(ctx, NULL, UNVMF_RPC_INTERNAL_ERROR, "out of memory");
		return NULL;
	}
	req->done = done;
	req->ctx = ctx;
	req->respond = true;
	return req;
}

void unvmf_rpc_execute(json_t *msg, unvmf_rpc_done_fn done, void *ctx)
{
	struct unvmf_rpc_request *req = request_new(done, ctx);
	json_t *id, *version, *method, *params;

	if (!req)
		return;
	snprintf(req->method, sizeof(req->method), "?");
	if (!json_is_object(msg)) {
		/* No id can be trusted: the error goes out with a null id. */
		unvmf_rpc_send_error(req, UNVMF_RPC_INVALID_REQUEST,
		                     json_is_array(msg) ? "batch requests are not supported"
		                                        : "a request must be a JSON object");
		return;
	}
	id = json_object_get(msg, "id");
	if (id && !json_is_string(id) && !json_is_number(id) && !json_is_null(id)) {
		unvmf_rpc_send_error(req, UNVMF_RPC_INVALID_REQUEST,
		                     "\"id\" must be a string, a number or null");
		return;
	}
	req->id = id && !json_is_null(id) ? json_incref(id) : NULL;
	version = json_object_get(msg, "jsonrpc");
	if (!json_is_string(version) || strcmp(json_string_value(version), "2.0") != 0) {
		unvmf_rpc_send_error(req, UNVMF_RPC_INVALID_REQUEST, "\"jsonrpc\" must be \"2.0\"");
		return;
	}
	method = json_object_get(msg, "method");
	if (!json_is_string(method)) {
		unvmf_rpc_send_error(req, UNVMF_RPC_INVALID_REQUEST, "\"method\" must be a string");
		return;
	}
	unvmf_strlcpy(req->method, json_string_value(method), sizeof(req->method));
	/* A well-formed request without an id is a notification: it runs, nobody hears back. */
	req->respond = id != NULL;
	params = json_object_get(msg, "params");
	if (params && json_is_array(params)) {
		unvmf_rpc_send_error(req, UNVMF_RPC_INVALID_PARAMS,
		                     "params must be an object (named parameters)");
		return;
	}
	if (params && !json_is_object(params) && !json_is_null(params)) {
		unvmf_rpc_send_error(req, UNVMF_RPC_INVALID_REQUEST,
		                     "\"params\" must be an object");
		return;
	}
	req->params = json_is_object(params) ? json_incref(params) : json_object();
	if (!req->params) {
		unvmf_rpc_send_error(req, UNVMF_RPC_INTERNAL_ERROR, "out of memory");
		return;
	}
	if (strlen(json_string_value(method)) >= sizeof(req->method)) {
		unvmf_rpc_send_error(req, UNVMF_RPC_METHOD_NOT_FOUND, "Method not found: '%s...'",
		                     req->method);
		return;
	}
	if (unvmf_rpc_starting() && unvmf_rpc_method_find(req->method) &&
	    !unvmf_rpc_method_allowed_at_startup(req->method)) {
		unvmf_rpc_send_invalid_state(req,
		                             "method %s may only be called after start-up "
		                             "completed (framework_wait_init waits for it)",
		                             req->method);
		return;
	}
	request_run(req);
}

void unvmf_rpc_call(const char *method, json_t *params, unvmf_rpc_done_fn done, void *ctx)
{
	struct unvmf_rpc_request *req = request_new(done, ctx);

	if (!req)
		return;
	unvmf_strlcpy(req->method, method, sizeof(req->method));
	if (params && !json_is_object(params)) {
		unvmf_rpc_send_error(req, UNVMF_RPC_INVALID_PARAMS, "params must be an object");
		return;
	}
	req->params = params ? json_incref(params) : json_object();
	if (!req->params) {
		unvmf_rpc_send_error(req, UNVMF_RPC_INTERNAL_ERROR, "out of memory");
		return;
	}
	if (strlen(method) >= sizeof(req->method)) {
		unvmf_rpc_send_error(req, UNVMF_RPC_METHOD_NOT_FOUND, "Method not found");
		return;
	}
	request_run(req);
}
