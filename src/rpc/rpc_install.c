/* The full method table of the target. */
#include "rpc/rpc.h"

void unvmf_rpc_methods_install(void)
{
	unvmf_rpc_methods_reset();
	unvmf_rpc_register_app_methods();
	unvmf_rpc_register_bdev_methods();
#if UNVMF_WITH_RBD
	unvmf_rpc_register_rbd_methods();
#endif
	unvmf_rpc_register_bdev_iostat_methods();
	unvmf_rpc_register_keyring_methods();
	unvmf_rpc_register_nvmf_transport_methods();
	unvmf_rpc_register_nvmf_methods();
	unvmf_rpc_register_nvmf_auth_methods();
	unvmf_rpc_register_nvmf_stats_methods();
	unvmf_rpc_register_compat_methods();
	unvmf_rpc_register_log_methods();
}
