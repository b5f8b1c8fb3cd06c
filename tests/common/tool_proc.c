#include "tool_proc.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static atomic_uint g_tool_seq;

int tool_proc_spawn(struct tool_proc *p, const char *tool, const char *const *args)
{
	const char *bindir = getenv("UNVMF_BIN_DIR");
	unsigned seq = atomic_fetch_add(&g_tool_seq, 1);
	const char *argv[64];
	char path[512];
	int argc = 0;

	memset(p, 0, sizeof(*p));
	snprintf(path, sizeof(path), "%s/%s", bindir ? bindir : "build/bin", tool);
	snprintf(p->out_path, sizeof(p->out_path), "/tmp/unvmf-tool-%d-%u.out", getpid(), seq);
	snprintf(p->err_path, sizeof(p->err_path), "/tmp/unvmf-tool-%d-%u.err", getpid(), seq);
	argv[argc++] = path;
	for (int i = 0; args && args[i] && argc < 63; i++)
		argv[argc++] = args[i];
	argv[argc] = NULL;
	p->pid = fork();
	if (p->pid < 0)
		return -errno;
	if (p->pid == 0) {
		int out = open(p->out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int err = open(p->err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (out < 0 || err < 0)
			_exit(126);
		dup2(out, STDOUT_FILENO);
		dup2(err, STDERR_FILENO);
		close(out);
		close(err);
		execv(path, (char *const *)argv);
		_exit(127);
	}
	return 0;
}

static int tool_status(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

int tool_proc_wait(struct tool_proc *p, int timeout_s)
{
	int status;

	if (p->pid <= 0)
		return -1;
	for (int i = 0; i < timeout_s * 100; i++) {
		if (waitpid(p->pid, &status, WNOHANG) == p->pid) {
			p->pid = 0;
			return tool_status(status);
		}
		usleep(10000);
	}
	kill(p->pid, SIGKILL);
	waitpid(p->pid, &status, 0);
	p->pid = 0;
	return -1;
}

static char *file_slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t len = 0, cap = 0, n;

	do {
		if (len + 4096 + 1 > cap) {
			char *nb = realloc(buf, cap = len + 4096 + 1);

			if (!nb)
				break;
			buf = nb;
		}
		n = f ? fread(buf + len, 1, 4096, f) : 0;
		len += n;
	} while (n > 0);
	if (f)
		fclose(f);
	if (buf)
		buf[len] = '\0';
	return buf;
}

char *tool_proc_stdout(const struct tool_proc *p)
{
	return file_slurp(p->out_path);
}

char *tool_proc_stderr(const struct tool_proc *p)
{
	return file_slurp(p->err_path);
}

void tool_proc_cleanup(struct tool_proc *p)
{
	unlink(p->out_path);
	unlink(p->err_path);
}

int tool_run(const char *tool, const char *const *args, int timeout_s, char **out, char **err)
{
	struct tool_proc p;
	int rc = tool_proc_spawn(&p, tool, args);

	if (rc)
		return rc;
	rc = tool_proc_wait(&p, timeout_s);
	if (out)
		*out = tool_proc_stdout(&p);
	if (err)
		*err = tool_proc_stderr(&p);
	tool_proc_cleanup(&p);
	return rc;
}

int tool_run_expect(const char *tool, const char *const *args, int timeout_s, int want, char **out,
                    char **err)
{
	char *o = NULL, *e = NULL;
	int rc = tool_run(tool, args, timeout_s, &o, &e);

	if (rc == want && o) {
		if (out)
			*out = o;
		else
			free(o);
		if (err)
			*err = e;
		else
			free(e);
		return 0;
	}
	fprintf(stderr,
	        "%s: exit status %d, expected %d\n---- stdout ----\n%s---- stderr ----\n%s\n", tool,
	        rc, want, o ? o : "(none)\n", e ? e : "(none)");
	free(o);
	free(e);
	return -1;
}

json_t *tool_run_json(const char *tool, const char *const *args, int timeout_s)
{
	json_error_t jerr;
	char *out = NULL;
	json_t *j;

	if (tool_run_expect(tool, args, timeout_s, 0, &out, NULL))
		return NULL;
	j = json_loads(out, 0, &jerr);
	if (!j)
		fprintf(stderr, "%s: stdout is not one JSON value (%s):\n%s\n", tool, jerr.text,
		        out);
	free(out);
	return j;
}
