#include "app/tgt_app.h"
#include "app/tgt_notify.h"
#include "bdev/bdev.h"
#include "nvmf/nvmf.h"
#include "reactor/poll_policy.h"
#include "reactor/reactor.h"
#include "nvmf/transport.h"
#include "util/log.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

struct unvmf_tgt_app_hooks g_tgt_app_hooks;

enum app_state {
	APP_STARTING,
	APP_RUNNING,
	APP_STOPPING,
	APP_STOPPED,
};

static struct {
	const struct unvmf_tgt_app_opts *opts;
	enum app_state state;
	int exit_status;
	int signal_fd;
	struct unvmf_poller *signal_poller;
	volatile sig_atomic_t stop_requested;
} g_app;

void unvmf_tgt_app_opts_init(struct unvmf_tgt_app_opts *opts)
{
	memset(opts, 0, sizeof(*opts));
	opts->cpumask = 0x1;
	opts->spin_us = UNVMF_POLL_SPIN_US_DEFAULT;
	opts->listen_addr = "127.0.0.1";
	opts->listen_port = "4420";
	opts->malloc_size_mb = 1024;
	opts->block_size = 512;
}

static void app_release_signals(void)
{
	if (g_app.signal_poller) {
		unvmf_poller_unregister(&g_app.signal_poller);
		unvmf_thread_remove_wake_fd(g_app.signal_fd);
	}
}

static void app_shutdown_done(void *arg)
{
	if (g_tgt_app_hooks.rpc_stop)
		g_tgt_app_hooks.rpc_stop();
	unvmf_tgt_fini();
	unvmf_bdev_delete_all();
	g_app.state = APP_STOPPED;
	LOG_NOTICE("unvmf-tgt stopped");
	app_release_signals();
	unvmf_reactors_stop();
}

static void app_begin_shutdown(int status)
{
	if (g_app.state == APP_STOPPING || g_app.state == APP_STOPPED)
		return;
	if (status && !g_app.exit_status)
		g_app.exit_status = status;
	g_app.state = APP_STOPPING;
	LOG_NOTICE("unvmf-tgt shutting down");
	tgt_notify_stopping();
	if (g_tgt_app_hooks.metrics_stop)
		g_tgt_app_hooks.metrics_stop();
	unvmf_tgt_shutdown(app_shutdown_done, NULL);
}

static int app_signal_poll(void *arg)
{
	struct signalfd_siginfo si;
	bool stop = g_app.stop_requested;

	while (read(g_app.signal_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		LOG_NOTICE("received signal %u", si.ssi_signo);
		stop = true;
	}
	if (!stop)
		return 0;
	g_app.stop_requested = 0;
	if (g_app.state == APP_STOPPING) {
		return 0;
	}
	app_begin_shutdown(0);
	return 1;
}

int unvmf_tgt_app_init_state(void)
{
	switch (g_app.state) {
	case APP_STARTING:
		return 0;
	case APP_RUNNING:
		return 1;
	case APP_STOPPING:
	case APP_STOPPED:
		break;
	}
	return -1;
}

void unvmf_tgt_app_stop(void)
{
	g_app.stop_requested = 1;
}

/* ---- default configuration ---- */

static void app_started(void)
{
	g_app.state = APP_RUNNING;
	LOG_NOTICE("unvmf-tgt running on %u core(s)", unvmf_reactor_count());
	/* Both start-up paths add their listeners synchronously before getting here. */
	tgt_notify_ready(unvmf_reactor_count());
}

/* The default configuration serves the first built-in transport. */
static const struct unvmf_transport_ops *default_config_transport(void)
{
	return unvmf_transport_ops_get(0);
}

static void default_config_transport_done(void *arg, int rc)
{
	const struct unvmf_transport_ops *ops = default_config_transport();
	const struct unvmf_tgt_app_opts *o = g_app.opts;
	struct unvmf_subsystem *subsys;
	struct unvmf_bdev *bdev;
	struct unvmf_trid trid;
	char lower[16];

	if (rc) {
		LOG_ERR("default configuration: %s transport: %s", ops ? ops->name : "no",
		        strerror(-rc));
		goto err;
	}
	if (o->null_bdev)
		rc = unvmf_bdev_null_create("Null0", o->malloc_size_mb * 1024 * 1024 / o->block_size,
					    o->block_size, NULL, &bdev);
	else
		rc = unvmf_bdev_malloc_create("Malloc0",
					      o->malloc_size_mb * 1024 * 1024 / o->block_size,
					      o->block_size, NULL, &bdev);
	if (rc) {
		LOG_ERR("default configuration: malloc bdev: %s", strerror(-rc));
		goto err;
	}
	rc = unvmf_subsystem_create(UNVMF_DEFAULT_SUBSYS_NQN, UNVMF_SUBSYSTEM_NVME, 32, &subsys);
	if (rc) {
		LOG_ERR("default configuration: subsystem: %s", strerror(-rc));
		goto err;
	}
	unvmf_subsystem_set_sn(subsys, "UNVMF000000000001");
	unvmf_subsystem_allow_any_host(subsys, true);
	rc = unvmf_subsystem_add_ns(subsys, bdev, 1, NULL, NULL, NULL);
	if (rc < 0) {
		LOG_ERR("default configuration: namespace: %s", strerror(-rc));
		goto err;
	}
	memset(&trid, 0, sizeof(trid));
	trid.trtype = ops->trtype;
	trid.adrfam = strchr(o->listen_addr, ':') ? NVMF_ADRFAM_IPV6 : NVMF_ADRFAM_IPV4;
	unvmf_strlcpy(trid.traddr, o->listen_addr, sizeof(trid.traddr));
	unvmf_strlcpy(trid.trsvcid, o->listen_port, sizeof(trid.trsvcid));
	rc = unvmf_subsystem_add_listener(subsys, &trid);
	if (rc) {
		LOG_ERR("default configuration: listen on %s:%s: %s", o->listen_addr,
			o->listen_port, strerror(-rc));
		goto err;
	}
	/* nvme-cli spells the transport in lower case. */
	for (size_t i = 0; i < sizeof(lower); i++) {
		lower[i] = (char)tolower((unsigned char)ops->name[i]);
		if (!lower[i])
			break;
	}
	lower[sizeof(lower) - 1] = '\0';
	fprintf(
	    stdout,
	    "unvmf-tgt: serving %s (namespace 1: %lu MiB %s, %u-byte blocks) on %s %s:%s\n"
	    "  identify:  unvmf-identify -r 'trtype:%s adrfam:%s traddr:%s trsvcid:%s subnqn:%s'\n"
	    "  perf:      unvmf-perf -r 'trtype:%s adrfam:%s traddr:%s trsvcid:%s subnqn:%s' -q 32 "
	    "-o 4096 -w randread -t 10\n"
	    "  linux:     nvme connect -t %s -a %s -s %s -n %s\n",
	    UNVMF_DEFAULT_SUBSYS_NQN, (unsigned long)o->malloc_size_mb,
	    o->null_bdev ? "null" : "RAM", o->block_size, ops->name, o->listen_addr, o->listen_port,
	    ops->name, unvmf_adrfam_str(trid.adrfam), o->listen_addr, o->listen_port,
	    UNVMF_DEFAULT_SUBSYS_NQN, ops->name, unvmf_adrfam_str(trid.adrfam), o->listen_addr,
	    o->listen_port, UNVMF_DEFAULT_SUBSYS_NQN, lower, o->listen_addr, o->listen_port,
	    UNVMF_DEFAULT_SUBSYS_NQN);
	fflush(stdout);
	app_started();
	return;
err:
	app_begin_shutdown(1);
}

static void default_config(void)
{
	const struct unvmf_transport_ops *ops = default_config_transport();
	struct unvmf_transport_opts topts;
	int rc;

	if (!ops) {
		default_config_transport_done(NULL, -EPROTONOSUPPORT);
		return;
	}
	memset(&topts, 0, sizeof(topts));
	ops->opts_init(&topts);
	topts.busy_poll = g_app.opts->busy_poll;
	rc = unvmf_tgt_add_transport(&topts, default_config_transport_done, NULL);
	if (rc)
		default_config_transport_done(NULL, rc);
}

static void config_loaded(void *arg, int rc)
{
	if (rc) {
		app_begin_shutdown(1);
		return;
	}
	app_started();
}

static void groups_created(void *arg, int rc)
{
	if (rc) {
		LOG_ERR("cannot create poll groups: %s", strerror(-rc));
		app_begin_shutdown(1);
		return;
	}
	/* The RPC socket first: a start-up that is going to fail must not accept hosts first. */
	if (g_app.opts->rpc_socket && g_tgt_app_hooks.rpc_start) {
		rc = g_tgt_app_hooks.rpc_start(g_app.opts->rpc_socket);
		if (rc) {
			LOG_ERR("cannot start the RPC server on %s: %s", g_app.opts->rpc_socket,
				strerror(-rc));
			app_begin_shutdown(1);
			return;
		}
	}
	if (g_app.opts->metrics_addr) {
		rc = g_tgt_app_hooks.metrics_start
		         ? g_tgt_app_hooks.metrics_start(g_app.opts->metrics_addr)
		         : -EOPNOTSUPP;
		if (rc) {
			LOG_ERR("cannot serve metrics on %s: %s", g_app.opts->metrics_addr,
			        rc == -EOPNOTSUPP
			            ? "this build has no metrics server (UNVMF_METRICS)"
			            : strerror(-rc));
			app_begin_shutdown(1);
			return;
		}
	}
	if (g_app.opts->config_file) {
		if (!g_tgt_app_hooks.load_config) {
			LOG_ERR("%s: this build has no config loader", g_app.opts->config_file);
			app_begin_shutdown(1);
			return;
		}
		g_tgt_app_hooks.load_config(g_app.opts->config_file, config_loaded, NULL);
		return;
	}
	default_config();
}

static void app_start(void *arg)
{
	struct unvmf_tgt_opts topts = {0};
	int rc;

	g_app.signal_poller = unvmf_poller_register(app_signal_poll, NULL, 20000, "signals");
	unvmf_thread_add_wake_fd(g_app.signal_fd);
	rc = unvmf_tgt_init(&topts);
	if (rc) {
		LOG_ERR("cannot initialise the target: %s", strerror(-rc));
		g_app.exit_status = 1;
		g_app.state = APP_STOPPED;
		app_release_signals();
		unvmf_reactors_stop();
		return;
	}
	unvmf_tgt_set_fault_injection(g_app.opts->enable_fault_injection);
	rc = unvmf_tgt_create_poll_groups(groups_created, NULL);
	if (rc)
		groups_created(NULL, rc);
}

int unvmf_tgt_app_run(const struct unvmf_tgt_app_opts *opts)
{
	struct unvmf_reactor_opts ropts = {
		.cpumask = opts->cpumask,
		.busy_poll = opts->busy_poll,
		.pin_threads = true,
		.spin_us = opts->spin_us,
	};
	sigset_t mask;
	int rc;

	memset(&g_app, 0, sizeof(g_app));
	g_app.opts = opts;
	g_app.state = APP_STARTING;
	unvmf_transports_register_all();
	/* Block the signals in every thread; reactor 0 reads them from a signalfd. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	g_app.signal_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (g_app.signal_fd < 0) {
		LOG_ERR("signalfd: %s", strerror(errno));
		return 1;
	}
	rc = unvmf_reactors_init(&ropts);
	if (rc) {
		LOG_ERR("cannot start reactors on cpumask 0x%lx: %s", (unsigned long)opts->cpumask,
			strerror(-rc));
		close(g_app.signal_fd);
		return 1;
	}
	unvmf_thread_send_msg(unvmf_reactor_thread(0), app_start, NULL);
	rc = unvmf_reactors_run();
	unvmf_reactors_fini();
	close(g_app.signal_fd);
	if (rc && !g_app.exit_status)
		g_app.exit_status = 1;
	return g_app.exit_status;
}
