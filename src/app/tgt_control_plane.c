/*
 * Wires the control plane (src/rpc) into the target application: the RPC
 * layer sits below the app and knows nothing of it, so the app hands it the
 * start-up state and takes its server and config loader as hooks.
 */
#include "app/tgt_app.h"
#include "rpc/rpc.h"
#if UNVMF_WITH_METRICS
#include "app/tgt_metrics.h"
#endif

void unvmf_control_plane_install(void)
{
	unvmf_rpc_methods_install();
	unvmf_rpc_set_init_state(unvmf_tgt_app_init_state);
	g_tgt_app_hooks.load_config = unvmf_rpc_config_load;
	g_tgt_app_hooks.rpc_start = unvmf_rpc_server_start;
	g_tgt_app_hooks.rpc_stop = unvmf_rpc_server_stop;
#if UNVMF_WITH_METRICS
	g_tgt_app_hooks.metrics_start = tgt_metrics_start;
	g_tgt_app_hooks.metrics_stop = tgt_metrics_stop;
#endif
}
