/*
 * unvmf-identify: connects to an NVMe-oF controller and prints Identify
 * Controller, every active namespace, or the discovery log of a discovery
 * controller; as text or (--json) one JSON object.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unvmf/host.h"
#include "proto/trid.h"
#include "util/common.h"
#include "util/log.h"

struct identify_args {
	struct unvmf_trid trid;
	char hostnqn[UNVMF_HOST_NQN_BUF];
	bool json;
	const char *psk_path;
	const char *psk_identity;
	const char *dhchap_key;       /* key files, as spdk_nvme_perf's --dhchap-key */
	const char *dhchap_ctrlr_key;
	const char *dhchap_digests;   /* comma-separated names offered */
	const char *dhchap_dhgroups;
};

static void usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s -r 'trtype:TCP adrfam:IPv4 traddr:ADDR trsvcid:PORT [subnqn:NQN]'\n"
		"          [--hostnqn NQN] [--json] [--psk-path FILE [--psk-identity ID]]\n"
		"  without subnqn (or with the discovery NQN) prints the discovery log\n"
		"  --psk-path FILE     NVMe/TCP over TLS 1.3 with the PSK in FILE (interchange\n"
		"                      format, mode 0600); --psk-identity overrides the identity\n"
		"  --dhchap-key FILE   DH-HMAC-CHAP with the host secret in FILE (DHHC-1, 0600)\n"
		"  --dhchap-ctrlr-key FILE  authenticate the controller too, with its secret\n"
		"  --dhchap-digests LIST, --dhchap-dhgroups LIST  offer only these (default all)\n",
		prog);
}

static int parse_args(int argc, char **argv, struct identify_args *a)
{
	static const struct option longopts[] = {
		{"trid", required_argument, NULL, 'r'},
		{"hostnqn", required_argument, NULL, 'H'},
		{"json", no_argument, NULL, 'j'},
		{"psk-path", required_argument, NULL, 'k'},
		{"psk-identity", required_argument, NULL, 'I'},
		{"dhchap-key", required_argument, NULL, 0x100},
		{"dhchap-ctrlr-key", required_argument, NULL, 0x101},
		{"dhchap-digests", required_argument, NULL, 0x102},
		{"dhchap-dhgroups", required_argument, NULL, 0x103},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	bool have_trid = false;
	int opt;

	memset(a, 0, sizeof(*a));
	while ((opt = getopt_long(argc, argv, "r:H:jh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'r':
			if (unvmf_trid_parse(&a->trid, optarg)) {
				fprintf(stderr, "invalid transport ID: '%s'\n", optarg);
				return -EINVAL;
			}
			have_trid = true;
			break;
		case 'H':
			if (unvmf_strlcpy(a->hostnqn, optarg, sizeof(a->hostnqn)) ||
			    !unvmf_nqn_valid(optarg)) {
				fprintf(stderr, "invalid host NQN: '%s'\n", optarg);
				return -EINVAL;
			}
			break;
		case 'j':
			a->json = true;
			break;
		case 'k':
			a->psk_path = optarg;
			break;
		case 'I':
			a->psk_identity = optarg;
			break;
		case 0x100:
			a->dhchap_key = optarg;
			break;
		case 0x101:
			a->dhchap_ctrlr_key = optarg;
			break;
		case 0x102:
			a->dhchap_digests = optarg;
			break;
		case 0x103:
			a->dhchap_dhgroups = optarg;
			break;
		default:
			return -EINVAL;
		}
	}
	if (!have_trid || optind != argc || (a->psk_identity && !a->psk_path) ||
	    (a->dhchap_ctrlr_key && !a->dhchap_key))
		return -EINVAL;
	return 0;
}

/* Identify strings are space padded, not NUL terminated. */
static void field_str(char *dst, size_t dst_len, const void *src, size_t len)
{
	size_t n = UNVMF_MIN(len, dst_len - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
	while (n > 0 && (dst[n - 1] == ' ' || dst[n - 1] == '\0'))
		dst[--n] = '\0';
}

static void hex_str(char *dst, const uint8_t *src, size_t len)
{
	for (size_t i = 0; i < len; i++)
		sprintf(dst + 2 * i, "%02x", src[i]);
	dst[2 * len] = '\0';
}

static bool all_zero(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (p[i])
			return false;
	}
	return true;
}

static void uuid_str(char *dst, const uint8_t *u)
{
	sprintf(dst, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0],
		u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13],
		u[14], u[15]);
}

static json_t *ctrlr_to_json(struct unvmf_host_ctrlr *ctrlr)
{
	const struct nvme_id_ctrl *cd = unvmf_host_ctrlr_data(ctrlr);
	uint32_t vs = unvmf_host_ctrlr_vs(ctrlr);
	char sn[21], mn[41], fr[9], subnqn[257], ver[32];

	field_str(sn, sizeof(sn), cd->sn, sizeof(cd->sn));
	field_str(mn, sizeof(mn), cd->mn, sizeof(cd->mn));
	field_str(fr, sizeof(fr), cd->fr, sizeof(cd->fr));
	field_str(subnqn, sizeof(subnqn), cd->subnqn, sizeof(cd->subnqn));
	snprintf(ver, sizeof(ver), "%u.%u.%u", vs >> 16, (vs >> 8) & 0xff, vs & 0xff);
	return json_pack("{s:s, s:i, s:i, s:s, s:s, s:s, s:i, s:s, s:i, s:i, s:i, s:i, s:i, s:i,"
			 " s:i, s:i, s:i, s:i, s:s, s:I, s:I, s:i, s:i, s:s}",
			 "subnqn", subnqn, "vid", cd->vid, "ssvid", cd->ssvid, "serial_number", sn,
			 "model_number", mn, "firmware_revision", fr, "cntlid",
			 unvmf_host_ctrlr_cntlid(ctrlr), "version", ver, "mdts", cd->mdts,
			 "max_xfer_bytes", (int)unvmf_host_ctrlr_max_xfer(ctrlr), "sgls",
			 (int)cd->sgls, "ioccsz", (int)cd->ioccsz, "iorcsz", (int)cd->iorcsz,
			 "num_namespaces", (int)cd->nn, "oncs", (int)cd->oncs, "vwc", (int)cd->vwc,
			 "kas", (int)cd->kas, "maxcmd", (int)cd->maxcmd, "hostnqn",
			 unvmf_host_ctrlr_hostnqn(ctrlr), "cap", (json_int_t)unvmf_host_ctrlr_cap(ctrlr),
			 "in_capsule_data_size", (json_int_t)unvmf_host_ctrlr_in_capsule_size(ctrlr),
			 "num_io_queues", unvmf_host_ctrlr_num_io_queues(ctrlr), "aerl", cd->aerl,
			 "transport", "TCP");
}

static void ctrlr_print(json_t *c)
{
	printf("=====================================================\n");
	printf("NVMe over Fabrics controller at %s\n", json_string_value(json_object_get(c, "subnqn")));
	printf("=====================================================\n");
	printf("Vendor ID:                      0x%04llx\n", json_integer_value(json_object_get(c, "vid")));
	printf("Subsystem Vendor ID:            0x%04llx\n", json_integer_value(json_object_get(c, "ssvid")));
	printf("Serial Number:                  %s\n", json_string_value(json_object_get(c, "serial_number")));
	printf("Model Number:                   %s\n", json_string_value(json_object_get(c, "model_number")));
	printf("Firmware Version:               %s\n", json_string_value(json_object_get(c, "firmware_revision")));
	printf("Controller ID:                  %lld\n", json_integer_value(json_object_get(c, "cntlid")));
	printf("NVMe Specification Version:     %s\n", json_string_value(json_object_get(c, "version")));
	printf("Max Data Transfer Size (MDTS):  %lld (%lld bytes)\n",
	       json_integer_value(json_object_get(c, "mdts")), json_integer_value(json_object_get(c, "max_xfer_bytes")));
	printf("SGL Support (SGLS):             0x%08llx\n", json_integer_value(json_object_get(c, "sgls")));
	printf("IOCCSZ / IORCSZ:                %lld / %lld (in-capsule data %lld bytes)\n",
	       json_integer_value(json_object_get(c, "ioccsz")), json_integer_value(json_object_get(c, "iorcsz")),
	       json_integer_value(json_object_get(c, "in_capsule_data_size")));
	printf("Number of Namespaces:           %lld\n", json_integer_value(json_object_get(c, "num_namespaces")));
	printf("ONCS:                           0x%04llx\n", json_integer_value(json_object_get(c, "oncs")));
	printf("Volatile Write Cache (VWC):     0x%02llx\n", json_integer_value(json_object_get(c, "vwc")));
	printf("Keep Alive Support (KAS):       %lld (x100 ms)\n", json_integer_value(json_object_get(c, "kas")));
	printf("Max Outstanding Cmds (MAXCMD):  %lld\n", json_integer_value(json_object_get(c, "maxcmd")));
	printf("Async Event Request Limit:      %lld\n", json_integer_value(json_object_get(c, "aerl")) + 1);
	printf("CAP:                            0x%016llx\n", json_integer_value(json_object_get(c, "cap")));
	printf("I/O queues granted:             %lld\n", json_integer_value(json_object_get(c, "num_io_queues")));
	printf("Host NQN:                       %s\n", json_string_value(json_object_get(c, "hostnqn")));
}

/* Namespace Identification Descriptors: type 1 EUI64 (8), 2 NGUID (16), 3 UUID (16), 4 CSI (1). */
static void ns_descs_to_json(const uint8_t *buf, json_t *ns)
{
	for (uint32_t off = 0; off + 4 <= 4096;) {
		uint8_t type = buf[off], len = buf[off + 1];
		char s[64];

		if (type == 0 || len == 0 || off + 4u + len > 4096)
			break;
		if (type == 1 && len == 8) {
			hex_str(s, buf + off + 4, 8);
			json_object_set_new(ns, "desc_eui64", json_string(s));
		} else if (type == 2 && len == 16) {
			hex_str(s, buf + off + 4, 16);
			json_object_set_new(ns, "desc_nguid", json_string(s));
		} else if (type == 3 && len == 16) {
			uuid_str(s, buf + off + 4);
			json_object_set_new(ns, "uuid", json_string(s));
		} else if (type == 4 && len == 1) {
			json_object_set_new(ns, "csi", json_integer(buf[off + 4]));
		}
		off += 4u + len;
	}
}

static json_t *ns_to_json(struct unvmf_host_ctrlr *ctrlr, uint32_t nsid)
{
	struct nvme_id_ns *nd = calloc(1, sizeof(*nd));
	uint8_t *descs = calloc(1, 4096);
	json_t *ns = NULL, *lbafs;
	uint32_t cur, lbads;
	char s[64];
	int rc;

	if (!nd || !descs)
		goto out_free;
	rc = unvmf_host_identify_ns(ctrlr, nsid, nd);
	if (rc) {
		fprintf(stderr, "Identify Namespace %u failed: %s\n", nsid, strerror(-rc));
		goto out_free;
	}
	cur = nd->flbas & 0xf;
	lbads = nd->lbaf[cur].lbads;
	ns = json_pack("{s:I, s:I, s:I, s:I, s:i, s:i, s:I, s:i}", "nsid", (json_int_t)nsid, "size_blocks",
		       (json_int_t)nd->nsze, "capacity_blocks", (json_int_t)nd->ncap,
		       "utilization_blocks", (json_int_t)nd->nuse, "block_size", 1 << lbads,
		       "current_lba_format", cur, "size_bytes",
		       (json_int_t)(nd->nsze << lbads), "nsfeat", nd->nsfeat);
	lbafs = json_array();
	for (uint32_t i = 0; i <= nd->nlbaf && i < 16; i++) {
		json_array_append_new(lbafs, json_pack("{s:i, s:i, s:i, s:i}", "index", i, "data_size",
						       1 << nd->lbaf[i].lbads, "metadata_size",
						       nd->lbaf[i].ms, "relative_performance",
						       nd->lbaf[i].rp));
	}
	json_object_set_new(ns, "lba_formats", lbafs);
	if (!all_zero(nd->nguid, sizeof(nd->nguid))) {
		hex_str(s, nd->nguid, sizeof(nd->nguid));
		json_object_set_new(ns, "nguid", json_string(s));
	}
	if (!all_zero(nd->eui64, sizeof(nd->eui64))) {
		hex_str(s, nd->eui64, sizeof(nd->eui64));
		json_object_set_new(ns, "eui64", json_string(s));
	}
	if (unvmf_host_identify_ns_id_desc(ctrlr, nsid, descs) == 0)
		ns_descs_to_json(descs, ns);
out_free:
	free(nd);
	free(descs);
	return ns;
}

static void ns_print(json_t *ns)
{
	json_t *f;
	size_t i;

	printf("\nActive Namespace %lld\n", json_integer_value(json_object_get(ns, "nsid")));
	printf("  Size:         %lld blocks (%lld bytes)\n",
	       json_integer_value(json_object_get(ns, "size_blocks")),
	       json_integer_value(json_object_get(ns, "size_bytes")));
	printf("  Capacity:     %lld blocks\n", json_integer_value(json_object_get(ns, "capacity_blocks")));
	printf("  Utilization:  %lld blocks\n", json_integer_value(json_object_get(ns, "utilization_blocks")));
	printf("  Block size:   %lld (LBA format %lld)\n", json_integer_value(json_object_get(ns, "block_size")),
	       json_integer_value(json_object_get(ns, "current_lba_format")));
	json_array_foreach(json_object_get(ns, "lba_formats"), i, f) {
		printf("  LBA Format #%02lld: data %lld, metadata %lld\n",
		       json_integer_value(json_object_get(f, "index")),
		       json_integer_value(json_object_get(f, "data_size")),
		       json_integer_value(json_object_get(f, "metadata_size")));
	}
	if (json_object_get(ns, "nguid"))
		printf("  NGUID:        %s\n", json_string_value(json_object_get(ns, "nguid")));
	if (json_object_get(ns, "eui64"))
		printf("  EUI64:        %s\n", json_string_value(json_object_get(ns, "eui64")));
	if (json_object_get(ns, "uuid"))
		printf("  UUID:         %s\n", json_string_value(json_object_get(ns, "uuid")));
}

static int namespaces_to_json(struct unvmf_host_ctrlr *ctrlr, json_t *arr)
{
	uint32_t *list = calloc(1024, sizeof(uint32_t));
	uint32_t start = 0;
	int rc = 0;

	if (!list)
		return -ENOMEM;
	for (;;) {
		uint32_t i;

		rc = unvmf_host_identify_active_ns_list(ctrlr, start, list);
		if (rc) {
			fprintf(stderr, "Identify Active Namespace List failed: %s\n", strerror(-rc));
			break;
		}
		for (i = 0; i < 1024 && list[i]; i++) {
			json_t *ns = ns_to_json(ctrlr, list[i]);

			if (ns)
				json_array_append_new(arr, ns);
			start = list[i];
		}
		if (i < 1024)
			break;
	}
	free(list);
	return rc;
}

static const char *subtype_str(uint8_t st)
{
	switch (st) {
	case 1:
		return "referral";
	case 2:
		return "nvme";
	case 3:
		return "current discovery subsystem";
	default:
		return "unknown";
	}
}

static json_t *discovery_to_json(struct unvmf_host_ctrlr *ctrlr)
{
	struct nvmf_discovery_log_header *log = NULL;
	const struct nvmf_discovery_log_entry *e;
	uint32_t len = 0;
	json_t *out, *arr;
	int rc;

	rc = unvmf_host_get_discovery_log(ctrlr, &log, &len);
	if (rc) {
		fprintf(stderr, "Get Log Page (Discovery) failed: %s\n", strerror(-rc));
		return NULL;
	}
	arr = json_array();
	e = (const struct nvmf_discovery_log_entry *)(log + 1);
	for (uint64_t i = 0; i < log->numrec; i++, e++) {
		char traddr[257], trsvcid[33], subnqn[257];

		field_str(traddr, sizeof(traddr), e->traddr, sizeof(e->traddr));
		field_str(trsvcid, sizeof(trsvcid), e->trsvcid, sizeof(e->trsvcid));
		field_str(subnqn, sizeof(subnqn), e->subnqn, sizeof(e->subnqn));
		json_t *j = json_pack("{s:s, s:s, s:s, s:i, s:i, s:s, s:s, s:s, s:i, s:i}", "trtype",
				      unvmf_trtype_str(e->trtype), "adrfam",
				      unvmf_adrfam_str(e->adrfam), "subtype",
				      subtype_str(e->subtype), "treq", e->treq, "portid", e->portid,
				      "trsvcid", trsvcid, "traddr", traddr, "subnqn", subnqn,
				      "cntlid", e->cntlid, "asqsz", e->asqsz);

		/* TSAS of NVMe/TCP: the security type (0 none, 1 TLS 1.2, 2 TLS 1.3). */
		if (e->trtype == NVMF_TRTYPE_TCP)
			json_object_set_new(j, "tcp_sectype", json_integer(e->tsas.tcp.sectype));
		json_array_append_new(arr, j);
	}
	out = json_pack("{s:I, s:I, s:i, s:o}", "genctr", (json_int_t)log->genctr, "numrec",
			(json_int_t)log->numrec, "recfmt", log->recfmt, "entries", arr);
	free(log);
	return out;
}

static void discovery_print(json_t *d)
{
	json_t *e;
	size_t i;

	printf("Discovery Log Page\n==================\n");
	printf("Generation Counter: %lld\nNumber of Records:  %lld\nRecord Format:      %lld\n",
	       json_integer_value(json_object_get(d, "genctr")),
	       json_integer_value(json_object_get(d, "numrec")),
	       json_integer_value(json_object_get(d, "recfmt")));
	json_array_foreach(json_object_get(d, "entries"), i, e) {
		printf("\nDiscovery Log Entry %zu\n----------------------\n", i);
		printf("Transport Type:        %s\n", json_string_value(json_object_get(e, "trtype")));
		printf("Address Family:        %s\n", json_string_value(json_object_get(e, "adrfam")));
		printf("Subsystem Type:        %s\n", json_string_value(json_object_get(e, "subtype")));
		printf("Transport Requirements: 0x%02llx\n", json_integer_value(json_object_get(e, "treq")));
		if (json_object_get(e, "tcp_sectype"))
			printf("Security Type:         %lld\n",
			       json_integer_value(json_object_get(e, "tcp_sectype")));
		printf("Port ID:               %lld\n", json_integer_value(json_object_get(e, "portid")));
		printf("Controller ID:         %lld\n", json_integer_value(json_object_get(e, "cntlid")));
		printf("Admin Max SQ Size:     %lld\n", json_integer_value(json_object_get(e, "asqsz")));
		printf("Transport Service Id:  %s\n", json_string_value(json_object_get(e, "trsvcid")));
		printf("Transport Address:     %s\n", json_string_value(json_object_get(e, "traddr")));
		printf("Subsystem NQN:         %s\n", json_string_value(json_object_get(e, "subnqn")));
	}
}

static void connect_error_print(const struct identify_args *a, const struct unvmf_host_error *err)
{
	fprintf(stderr, "failed to connect to %s:%s subnqn %s: %s", a->trid.traddr, a->trid.trsvcid,
		a->trid.subnqn[0] ? a->trid.subnqn : NVMF_DISCOVERY_NQN, strerror(-err->rc));
	if (err->has_cqe)
		fprintf(stderr, " (NVMe status sct 0x%x sc 0x%02x: %s)", err->cqe.status.s.sct,
			err->cqe.status.s.sc,
			unvmf_host_status_str(err->cqe.status.s.sct, err->cqe.status.s.sc));
	if (err->stage == UNVMF_HOST_STAGE_TLS)
		fprintf(stderr, " (in the TLS handshake)");
	if (err->stage == UNVMF_HOST_STAGE_AUTH)
		fprintf(stderr, " (in DH-HMAC-CHAP authentication%s%s)",
			err->auth_failure ? ": the controller refused, reason " : "",
			err->auth_failure ? (err->auth_failure == 1 ? "failed" : "code") : "");
	if (err->term_fes)
		fprintf(stderr, " (NVMe/TCP termination FES 0x%x: %s)", err->term_fes,
			unvmf_host_fes_str(err->term_fes));
	fprintf(stderr, "\n");
}

int main(int argc, char **argv)
{
	struct unvmf_host_ctrlr *ctrlr = NULL;
	struct unvmf_host_opts opts;
	struct unvmf_host_error err;
	struct identify_args a;
	json_t *out = NULL;
	int rc, status = 1;

	if (parse_args(argc, argv, &a)) {
		usage(argv[0]);
		return 1;
	}
	unvmf_host_opts_init(&opts);
	unvmf_strlcpy(opts.hostnqn, a.hostnqn, sizeof(opts.hostnqn));
	opts.num_io_queues = 1;
	if (a.psk_path) {
		rc = unvmf_host_opts_set_psk_file(&opts, a.psk_path, a.psk_identity);
		if (rc) {
			fprintf(stderr, "PSK from %s: %s\n", a.psk_path, strerror(-rc));
			return 1;
		}
	}
	if (a.dhchap_key) {
		rc = unvmf_host_opts_set_dhchap_files(&opts, a.dhchap_key, a.dhchap_ctrlr_key);
		if (rc) {
			fprintf(stderr, "DH-HMAC-CHAP keys from %s%s%s: %s\n", a.dhchap_key,
			        a.dhchap_ctrlr_key ? ", " : "",
			        a.dhchap_ctrlr_key ? a.dhchap_ctrlr_key : "", strerror(-rc));
			return 1;
		}
	}
	if (unvmf_host_opts_set_dhchap_lists(&opts, a.dhchap_digests, a.dhchap_dhgroups)) {
		fprintf(stderr, "--dhchap-digests / --dhchap-dhgroups: unknown name\n");
		return 1;
	}
	rc = unvmf_host_connect(&a.trid, &opts, &ctrlr, &err);
	if (rc) {
		connect_error_print(&a, &err);
		return 1;
	}
	if (unvmf_host_ctrlr_is_discovery(ctrlr)) {
		json_t *d = discovery_to_json(ctrlr);

		if (!d)
			goto out_disconnect;
		out = json_pack("{s:o, s:o}", "controller", ctrlr_to_json(ctrlr), "discovery", d);
		if (!a.json)
			discovery_print(d);
	} else {
		json_t *c = ctrlr_to_json(ctrlr), *nss = json_array();

		rc = namespaces_to_json(ctrlr, nss);
		out = json_pack("{s:o, s:o}", "controller", c, "namespaces", nss);
		if (!a.json) {
			json_t *ns;
			size_t i;

			ctrlr_print(c);
			json_array_foreach(nss, i, ns)
				ns_print(ns);
		}
		if (rc)
			goto out_disconnect;
	}
	if (a.json) {
		char *s = json_dumps(out, JSON_INDENT(2));

		if (s)
			printf("%s\n", s);
		free(s);
	}
	status = 0;
out_disconnect:
	json_decref(out);
	unvmf_host_disconnect(ctrlr);
	return status;
}
