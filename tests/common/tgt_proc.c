#include "tgt_proc.h"
#include "util/common.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int tgt_proc_free_port(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	int port = -1;

	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
		port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

static bool port_open(const char *port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	bool ok;

	sa.sin_port = htons((uint16_t)atoi(port));
	ok = fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	if (fd >= 0)
		close(fd);
	return ok;
}

void tgt_proc_prepare(struct tgt_proc *tp)
{
	memset(tp, 0, sizeof(*tp));
	snprintf(tp->port, sizeof(tp->port), "%d", tgt_proc_free_port());
	snprintf(tp->rpc_sock, sizeof(tp->rpc_sock), "/tmp/unvmf-test-%d-%s.sock", getpid(),
	         tp->port);
	snprintf(tp->log_path, sizeof(tp->log_path), "/tmp/unvmf-test-%d-%s.log", getpid(),
	         tp->port);
}

int tgt_proc_exec(struct tgt_proc *tp, const char *const *args, bool wait_port)
{
	const char *bindir = getenv("UNVMF_BIN_DIR");
	char path[512];
	const char *argv[64];
	int argc = 0;

	snprintf(path, sizeof(path), "%s/unvmf-tgt", bindir ? bindir : "build/bin");
	argv[argc++] = path;
	for (int i = 0; args && args[i] && argc < 62; i++)
		argv[argc++] = args[i];
	argv[argc] = NULL;
	tp->pid = fork();
	if (tp->pid < 0)
		return -errno;
	if (tp->pid == 0) {
		int fd = open(tp->log_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (fd >= 0) {
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
			close(fd);
		}
		execv(path, (char *const *)argv);
		_exit(127);
	}
	for (int i = 0; i < 1000; i++) {
		int status;

		if (waitpid(tp->pid, &status, WNOHANG) == tp->pid) {
			tp->pid = 0;
			return -ECHILD;
		}
		if (wait_port ? port_open(tp->port) : access(tp->rpc_sock, F_OK) == 0)
			return 0;
		usleep(10000);
	}
	return -ETIMEDOUT;
}

int tgt_proc_start(struct tgt_proc *tp, const char *const *extra_args)
{
	const char *args[64];
	int n = 0;

	tgt_proc_prepare(tp);
	args[n++] = "-p";
	args[n++] = tp->port;
	args[n++] = "-r";
	args[n++] = tp->rpc_sock;
	args[n++] = "-s";
	args[n++] = "64";
	for (int i = 0; extra_args && extra_args[i] && n < 62; i++)
		args[n++] = extra_args[i];
	args[n] = NULL;
	return tgt_proc_exec(tp, args, true);
}

bool tgt_proc_alive(struct tgt_proc *tp)
{
	int status;

	if (tp->pid <= 0)
		return false;
	return waitpid(tp->pid, &status, WNOHANG) == 0;
}

int tgt_proc_stop(struct tgt_proc *tp, int timeout_s)
{
	return tgt_proc_stop_signal(tp, SIGTERM, timeout_s);
}

int tgt_proc_stop_signal(struct tgt_proc *tp, int sig, int timeout_s)
{
	int status = 0;

	if (tp->pid <= 0)
		return -1;
	kill(tp->pid, sig);
	for (int i = 0; i < timeout_s * 100; i++) {
		if (waitpid(tp->pid, &status, WNOHANG) == tp->pid) {
			tp->pid = 0;
			unlink(tp->rpc_sock);
			if (WIFEXITED(status))
				return WEXITSTATUS(status);
			return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
		}
		usleep(10000);
	}
	kill(tp->pid, SIGKILL);
	waitpid(tp->pid, &status, 0);
	tp->pid = 0;
	unlink(tp->rpc_sock);
	return -1;
}

void tgt_proc_trid(const struct tgt_proc *tp, const char *subnqn, struct unvmf_trid *trid)
{
	memset(trid, 0, sizeof(*trid));
	trid->trtype = NVMF_TRTYPE_TCP;
	trid->adrfam = NVMF_ADRFAM_IPV4;
	strcpy(trid->traddr, "127.0.0.1");
	unvmf_strlcpy(trid->trsvcid, tp->port, sizeof(trid->trsvcid));
	unvmf_strlcpy(trid->subnqn, subnqn ? subnqn : NVMF_DISCOVERY_NQN, sizeof(trid->subnqn));
}

void tgt_proc_dump_log(const struct tgt_proc *tp)
{
	char buf[4096];
	FILE *f = fopen(tp->log_path, "r");
	size_t n;

	if (!f)
		return;
	fprintf(stderr, "---- target log %s ----\n", tp->log_path);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		fwrite(buf, 1, n, stderr);
	fclose(f);
	fprintf(stderr, "---- end of target log ----\n");
}

bool tgt_proc_log_has_sanitizer_report(const struct tgt_proc *tp)
{
	static const char *const marks[] = {"AddressSanitizer", "LeakSanitizer",
	                                    "runtime error:", "UndefinedBehaviorSanitizer"};
	char line[4096];
	bool found = false;
	FILE *f = fopen(tp->log_path, "r");

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		for (size_t i = 0; i < UNVMF_ARRAY_SIZE(marks); i++)
			found = found || strstr(line, marks[i]) != NULL;
	}
	fclose(f);
	return found;
}

int tgt_proc_start_or_dump(struct tgt_proc *tp, const char *const *extra_args)
{
	if (tgt_proc_start(tp, extra_args) == 0)
		return 0;
	tgt_proc_dump_log(tp);
	return -1;
}

/* Writes text to path with every "@PORT@" replaced by port. */
static int config_write(const char *path, const char *text, const char *port)
{
	static const char token[] = "@PORT@";
	FILE *f = fopen(path, "w");
	const char *p = text, *hit;
	int rc;

	if (!f)
		return -errno;
	while ((hit = strstr(p, token)) != NULL) {
		fwrite(p, 1, (size_t)(hit - p), f);
		fputs(port, f);
		p = hit + sizeof(token) - 1;
	}
	fputs(p, f);
	rc = ferror(f) ? -EIO : 0;
	if (fclose(f) != 0 && rc == 0)
		rc = -errno;
	return rc;
}

int tgt_proc_start_config(struct tgt_proc *tp, const char *const *extra_args, const char *json_fmt,
                          ...)
{
	const char *args[64];
	char *text = NULL;
	va_list ap;
	int n = 0, rc;

	tgt_proc_prepare(tp);
	snprintf(tp->config_path, sizeof(tp->config_path), "/tmp/unvmf-test-%d-%s.json", getpid(),
	         tp->port);
	va_start(ap, json_fmt);
	rc = vasprintf(&text, json_fmt, ap);
	va_end(ap);
	if (rc < 0) {
		fprintf(stderr, "tgt_proc: cannot format the config\n");
		return -1;
	}
	rc = config_write(tp->config_path, text, tp->port);
	free(text);
	if (rc) {
		fprintf(stderr, "tgt_proc: cannot write %s: %s\n", tp->config_path, strerror(-rc));
		goto remove_config;
	}
	args[n++] = "-c";
	args[n++] = tp->config_path;
	args[n++] = "-r";
	args[n++] = tp->rpc_sock;
	for (int i = 0; extra_args && extra_args[i] && n < 62; i++)
		args[n++] = extra_args[i];
	args[n] = NULL;
	if (tgt_proc_exec(tp, args, true) == 0)
		return 0;
	tgt_proc_dump_log(tp);
remove_config:
	unlink(tp->config_path);
	tp->config_path[0] = '\0';
	return -1;
}

int tgt_proc_finish(struct tgt_proc *tp, int timeout_s)
{
	int rc = tgt_proc_stop(tp, timeout_s);

	if (tp->config_path[0]) {
		unlink(tp->config_path);
		tp->config_path[0] = '\0';
	}
	if (rc == 0)
		return 0;
	tgt_proc_dump_log(tp);
	fprintf(stderr, "target exit status %d\n", rc);
	return -1;
}
