/* The full method table of the target. */
#include "rpc/rpc.h"

void unvmf_rpc_methods_install(void)
{
	unvmf_rpc_methods_reset();
	unvmf_rpc_register_app_methods();
	unvmf_rpc_register_bdev_methods();
	unvmf_rpc_register_keyring_methods();
	unvmf_rpc_register_nvmf_transport_methods();
	unvmf_rpc_register_nvmf_methods();
	unvmf_rpc_register_nvmf_auth_methods();
	unvmf_rpc_register_nvmf_stats_methods();
	unvmf_rpc_register_compat_methods();
	unvmf_rpc_register_log_methods();
}
