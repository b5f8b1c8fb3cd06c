#pragma once
/*
 * The control plane: JSON-RPC 2.0 methods (SPDK's names and parameters), the
 * UNIX-socket server that carries them, and the JSON config loader that runs
 * the same methods from a file. Everything here runs on reactor 0.
 *
 * A request is owned by the dispatcher from unvmf_rpc_execute() until its
 * handler calls exactly one of unvmf_rpc_send_result() / unvmf_rpc_send_error()
 * (at once or later, from a callback on reactor 0); the owner's done callback
 * then sees the response and the request is freed.
 */
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/trid.h"
#include "util/json_params.h"

/*
 * JSON-RPC 2.0 error codes, plus SPDK's "not callable in this state" (-1).
 * Domain errors are -errno; -EPERM would read as -1, so unvmf_rpc_send_error
 * sends it as -EACCES and only unvmf_rpc_send_invalid_state sends -1.
 */
#define UNVMF_RPC_PARSE_ERROR -32700
#define UNVMF_RPC_INVALID_REQUEST -32600
#define UNVMF_RPC_METHOD_NOT_FOUND -32601
#define UNVMF_RPC_INVALID_PARAMS -32602
#define UNVMF_RPC_INTERNAL_ERROR -32603
#define UNVMF_RPC_INVALID_STATE -1

/* One request, including its pipelined-but-unparsed neighbours' share, may not exceed this. */
#define UNVMF_RPC_MAX_REQUEST (1024 * 1024)
#define UNVMF_RPC_DEFAULT_SOCKET "/var/tmp/unvmf.sock"

struct unvmf_rpc_request;

/* params is always an object (empty when the request had none); borrowed until completion. */
typedef void (*unvmf_rpc_handler)(struct unvmf_rpc_request *req, json_t *params);

/*
 * Called once per request. response is the whole JSON-RPC response object
 * (borrowed; NULL for a notification); code is 0 on success, else the error
 * code with message.
 */
typedef void (*unvmf_rpc_done_fn)(void *ctx, json_t *response, int code, const char *message);

struct unvmf_rpc_method {
	const char *name;
	unvmf_rpc_handler handler;
};

/* ---- registry and dispatch ---- */
void unvmf_rpc_methods_reset(void);
int unvmf_rpc_register_methods(const struct unvmf_rpc_method *methods, size_t count);
const struct unvmf_rpc_method *unvmf_rpc_method_find(const char *name);
/* Names in registration order; index past the end gives NULL. */
const char *unvmf_rpc_method_name(size_t index);
/* Validates the JSON-RPC envelope of msg (borrowed) and runs it; done always runs exactly once. */
void unvmf_rpc_execute(json_t *msg, unvmf_rpc_done_fn done, void *ctx);
/* Runs method with params (borrowed, may be NULL) without an envelope (config files). */
void unvmf_rpc_call(const char *method, json_t *params, unvmf_rpc_done_fn done, void *ctx);
/* The owner went away (socket closed, server stopped): done will not be called. */
void unvmf_rpc_request_orphan(struct unvmf_rpc_request *req);
/*
 * Start-up gate: init_state() says 0 while start-up runs, > 0 once it is
 * done, < 0 when it failed or the target stops (unvmf_tgt_app_init_state).
 * Without it (unit tests) nothing is gated.
 */
void unvmf_rpc_set_init_state(int (*init_state)(void));
/* What init_state() says now; 1 (done) without one. */
int unvmf_rpc_init_state(void);
bool unvmf_rpc_starting(void);
bool unvmf_rpc_method_allowed_at_startup(const char *name);
/* A standalone error response (parse errors found before any request exists). */
json_t *unvmf_rpc_error_response(json_t *id, int code, const char *message);

/* ---- for handlers ---- */
/* Steals result. */
void unvmf_rpc_send_result(struct unvmf_rpc_request *req, json_t *result);
void unvmf_rpc_send_bool(struct unvmf_rpc_request *req, bool value);
void unvmf_rpc_send_error(struct unvmf_rpc_request *req, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The request cannot run in the target's current state (start-up, shutdown, disabled): -1. */
void unvmf_rpc_send_invalid_state(struct unvmf_rpc_request *req, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
const char *unvmf_rpc_request_method(const struct unvmf_rpc_request *req);

/*
 * ---- parameter decoding: util/json_params.h, in the methods' spelling ----
 * A method's table lists its rows as UNVMF_RPC_ROW(name, type, required,
 * struct, field, min, max); the SPDK-compat fields after them stay zero.
 */
#define unvmf_rpc_param unvmf_json_param
#define UNVMF_RPC_STRING UNVMF_JSON_STRING
#define UNVMF_RPC_BOOL UNVMF_JSON_BOOL
#define UNVMF_RPC_UINT UNVMF_JSON_UINT
#define UNVMF_RPC_INT UNVMF_JSON_INT
#define UNVMF_RPC_OBJECT UNVMF_JSON_OBJECT
#define UNVMF_RPC_ROW(n, t, req, st, field, lo, hi)                                                \
	{                                                                                          \
		.name = (n), .type = (t), .required = (req), .offset = offsetof(st, field),        \
		.size = sizeof(((st *)0)->field), .min = (lo), .max = (hi)                         \
	}

/*
 * unvmf_json_params_decode for a method's params; on failure sends -32602
 * with the message naming the parameter. Returns 0 or -EINVAL.
 */
int unvmf_rpc_decode_or_reply(struct unvmf_rpc_request *req, const json_t *params,
                              const struct unvmf_rpc_param *spec, size_t count, void *out,
                              uint64_t *present);
/*
 * {"trtype", "adrfam", "traddr", "trsvcid"} (what names it in messages).
 * adrfam defaults to IPv6 when traddr has a ':', else IPv4.
 */
int unvmf_rpc_decode_trid(const json_t *obj, const char *what, struct unvmf_trid *trid, char *err,
                          size_t errlen);
json_t *unvmf_rpc_trid_json(const struct unvmf_trid *trid);
/* Hex bytes, dashes ignored ("nguid": 16 bytes, "eui64": 8). */
int unvmf_rpc_parse_hex(const char *s, uint8_t *out, size_t len);
void unvmf_rpc_format_hex(const uint8_t *in, size_t len, char *out);

/*
 * SPDK parameters unvmf has no option for (rpc_spdk_compat.c): checks that
 * method's such parameters in params (borrowed) and sets *out to the params
 * without them (a new reference). Fails with a message naming the parameter
 * when a value would need a feature unvmf does not have.
 */
int unvmf_rpc_compat_filter(const char *method, json_t *params, json_t **out, char *err,
                            size_t errlen);
/* Why unvmf refuses an SPDK method it does not have, or NULL (rpc_spdk_compat.c). */
const char *unvmf_rpc_compat_refused(const char *method);

/* ---- request framing on a byte stream ---- */
enum unvmf_rpc_frame_result {
	UNVMF_RPC_FRAME_NEED_MORE,   /* incomplete value; read more */
	UNVMF_RPC_FRAME_OK,          /* *out holds one JSON value; *consumed bytes used */
	UNVMF_RPC_FRAME_PARSE_ERROR, /* not JSON: reply -32700 and close */
	UNVMF_RPC_FRAME_TOO_LARGE,   /* a value longer than limit: reply and close */
};
enum unvmf_rpc_frame_result unvmf_rpc_frame_next(const char *buf, size_t len, size_t limit,
                                                 json_t **out, size_t *consumed, char *err,
                                                 size_t errlen);

/* ---- server, config, install ---- */
int unvmf_rpc_server_start(const char *path);
void unvmf_rpc_server_stop(void);
void unvmf_rpc_config_load(const char *path, void (*done)(void *arg, int rc), void *arg);
/* The whole configuration in SPDK's layout: {"subsystems": [...]}. */
json_t *unvmf_rpc_config_save(void);
/* Subsystem i of the config (NULL past the end) and the one it depends on (or NULL). */
const char *unvmf_rpc_config_subsystem(unsigned i, const char **depends_on);
/* One subsystem's "config" list (framework_get_config), or NULL for an unknown name. */
json_t *unvmf_rpc_config_subsystem_save(const char *name);
struct unvmf_bdev;
/* The parameters that recreate bdev with its create method (save_config, driver_specific). */
json_t *unvmf_rpc_bdev_create_params(struct unvmf_bdev *bdev);
struct unvmf_transport;
/* A transport's options as nvmf_create_transport parameters (plus "trtype"). */
json_t *unvmf_rpc_transport_json(const struct unvmf_transport *t);
/* Method groups. */
void unvmf_rpc_register_app_methods(void);
void unvmf_rpc_register_bdev_methods(void);
/* bdev_<type>_delete: refuses a bdev of another type or one a namespace holds. */
void unvmf_rpc_bdev_delete_typed(struct unvmf_rpc_request *req, json_t *params, const char *type);
#if UNVMF_WITH_RBD
void unvmf_rpc_register_rbd_methods(void);
/* Appends a bdev_rbd_register_cluster call per registered cluster (save_config). */
void unvmf_rpc_rbd_config_save(json_t *list);
#endif
/* rpc_bdev_iostat.c: bdev_get_iostat. */
void unvmf_rpc_register_bdev_iostat_methods(void);
void unvmf_rpc_register_nvmf_methods(void);
/* rpc_nvmf_auth_methods.c: nvmf_subsystem_set_keys. */
void unvmf_rpc_register_nvmf_auth_methods(void);
/*
 * Gives hostnqn's entry its DH-HMAC-CHAP keys by keyring name (both NULL:
 * nothing to do): 0, or the error already sent to req.
 */
struct unvmf_subsystem;
int unvmf_rpc_host_dhchap_set(struct unvmf_rpc_request *req, struct unvmf_subsystem *subsys,
                              const char *hostnqn, const char *key, const char *ctrlr_key);
/* rpc_keyring_methods.c: keyring_file_add_key, keyring_file_remove_key, keyring_get_keys. */
void unvmf_rpc_register_keyring_methods(void);
/* The keyring's save_config entries (a new list). */
json_t *unvmf_rpc_keyring_config(void);
void unvmf_rpc_register_nvmf_transport_methods(void);
void unvmf_rpc_register_nvmf_stats_methods(void);
void unvmf_rpc_register_compat_methods(void);
void unvmf_rpc_register_log_methods(void);
/* Registers every method group (the target's full table), replacing what was registered. */
void unvmf_rpc_methods_install(void);
