/* TLS settings of the host options: the PSK from a key file. */
#include "unvmf/host.h"
#include "sock/sock_tls.h"
#include "util/common.h"
#include "util/tls_psk.h"

#include <errno.h>
#include <string.h>

int unvmf_host_opts_set_psk_file(struct unvmf_host_opts *opts, const char *path,
                                 const char *identity)
{
	struct unvmf_psk_identity id;
	struct unvmf_psk_key key;
	int rc;

	if (!unvmf_sock_tls_available())
		return -EOPNOTSUPP;
	if (identity && (strlen(identity) >= sizeof(opts->tls_psk_identity) ||
	                 unvmf_psk_identity_parse(identity, strlen(identity), &id) != 0))
		return -EINVAL;
	rc = unvmf_psk_file_load(path, &key);
	if (rc == 0)
		rc = unvmf_psk_interchange_format(&key, opts->tls_psk, sizeof(opts->tls_psk));
	memset(&key, 0, sizeof(key));
	if (rc)
		return rc;
	unvmf_strlcpy(opts->tls_psk_identity, identity ? identity : "",
	              sizeof(opts->tls_psk_identity));
	return 0;
}
