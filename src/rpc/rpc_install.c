/* Wires the control plane into the target application. */
#include "rpc/rpc.h"
#include "app/tgt_app.h"

void unvmf_control_plane_install(void)
{
	unvmf_rpc_methods_reset();
	unvmf_rpc_register_app_methods();
	unvmf_rpc_register_bdev_methods();
	unvmf_rpc_register_nvmf_transport_methods();
	unvmf_rpc_register_nvmf_methods();
	unvmf_rpc_register_nvmf_stats_methods();
	unvmf_rpc_register_compat_methods();
	unvmf_rpc_set_init_state(unvmf_tgt_app_init_state);
	g_tgt_app_hooks.load_config = unvmf_rpc_config_load;
	g_tgt_app_hooks.rpc_start = unvmf_rpc_server_start;
	g_tgt_app_hooks.rpc_stop = unvmf_rpc_server_stop;
}
