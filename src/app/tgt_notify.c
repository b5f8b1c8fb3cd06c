#include "app/tgt_notify.h"
#include "util/log.h"

#include <stdio.h>
#include <string.h>
#include <systemd/sd-daemon.h>

/*
 * A failed report is logged, not fatal: the target serves hosts either way,
 * and systemd acts on the missing READY=1 by its own start timeout.
 */
static void notify_send(const char *state)
{
	int rc = sd_notify(0, state);

	if (rc < 0)
		LOG_WARN("sd_notify: %s", strerror(-rc));
}

void tgt_notify_ready(unsigned int cores)
{
	char state[96];

	snprintf(state, sizeof(state), "READY=1\nSTATUS=running on %u core(s)", cores);
	notify_send(state);
}

void tgt_notify_stopping(void)
{
	notify_send("STOPPING=1\nSTATUS=shutting down");
}
