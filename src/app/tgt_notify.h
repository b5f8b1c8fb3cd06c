#pragma once
/*
 * Start-up and shutdown reports to the service manager (systemd's
 * Type=notify protocol, sd_notify(3)). Without NOTIFY_SOCKET in the
 * environment, as when started from a shell, they send nothing.
 */
#if UNVMF_WITH_SYSTEMD
/* Every listener of the configuration accepts connections. */
void tgt_notify_ready(unsigned int cores);
/* Shutdown has begun; the service manager waits for the exit. */
void tgt_notify_stopping(void);
#else
/* Built without libsystemd: the unit is Type=simple, nobody waits for these. */
static inline void tgt_notify_ready(unsigned int cores)
{
	(void)cores;
}
static inline void tgt_notify_stopping(void)
{
}
#endif
