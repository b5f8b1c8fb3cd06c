/* unvmf-tgt: the NVMe-oF target. */
#include "app/tgt_app.h"
#include "util/log.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s [options]\n"
		"  -m, --cpumask MASK        cores to run reactors on (default 0x1)\n"
		"  -c, --config FILE         JSON config (SPDK layout); default: a 1 GiB RAM\n"
		"                            namespace in nqn.2024-11.io.unvmf:default on TCP 127.0.0.1:4420\n"
		"  -r, --rpc-socket PATH     JSON-RPC socket (default /var/tmp/unvmf.sock)\n"
		"      --no-rpc              no RPC server\n"
		"  -b, --busy-poll           never sleep when idle\n"
		"  -a, --addr ADDR           default config: listen address (default 127.0.0.1)\n"
		"  -p, --port PORT           default config: listen port (default 4420)\n"
		"  -s, --malloc-size MB      default config: namespace size (default 1024)\n"
		"      --block-size N        default config: 512 or 4096 (default 512)\n"
		"      --null                default config: a null namespace (no data kept)\n"
		"  -L, --log-level LEVEL     error|warn|notice|info|debug (default notice)\n"
		"      --log-format FORMAT   text|json: one JSON object per log line (default text)\n"
		"      --metrics [ADDR:]PORT Prometheus metrics at http://ADDR:PORT/metrics\n"
		"                            (off by default; ADDR defaults to 127.0.0.1)\n"
		"      --enable-fault-injection  allow the fault-injection RPCs\n"
		"      --spin-us US          without -b: keep polling US microseconds after the\n"
		"                            last work before sleeping (default 200; 0 = none)\n"
		"  -h, --help\n",
		prog);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"cpumask", required_argument, NULL, 'm'},
		{"config", required_argument, NULL, 'c'},
		{"rpc-socket", required_argument, NULL, 'r'},
		{"no-rpc", no_argument, NULL, 1},
		{"busy-poll", no_argument, NULL, 'b'},
		{"addr", required_argument, NULL, 'a'},
		{"port", required_argument, NULL, 'p'},
		{"malloc-size", required_argument, NULL, 's'},
		{"block-size", required_argument, NULL, 2},
		{"log-level", required_argument, NULL, 'L'},
		{"enable-fault-injection", no_argument, NULL, 3},
		{"null", no_argument, NULL, 4},
		{"log-format", required_argument, NULL, 5},
		{"metrics", required_argument, NULL, 6},
		{"spin-us", required_argument, NULL, 7},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct unvmf_tgt_app_opts opts;
	enum unvmf_log_level level;
	enum unvmf_log_format format;
	char *end;
	int c;

	unvmf_tgt_app_opts_init(&opts);
	opts.rpc_socket = "/var/tmp/unvmf.sock";
	while ((c = getopt_long(argc, argv, "m:c:r:ba:p:s:L:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'm':
			opts.cpumask = strtoull(optarg, &end, 0);
			if (*end || opts.cpumask == 0) {
				fprintf(stderr, "unvmf-tgt: bad cpumask '%s'\n", optarg);
				return 1;
			}
			break;
		case 'c':
			opts.config_file = optarg;
			break;
		case 'r':
			opts.rpc_socket = optarg;
			break;
		case 1:
			opts.rpc_socket = NULL;
			break;
		case 'b':
			opts.busy_poll = true;
			break;
		case 'a':
			opts.listen_addr = optarg;
			break;
		case 'p':
			opts.listen_port = optarg;
			break;
		case 's':
			opts.malloc_size_mb = strtoull(optarg, &end, 0);
			if (*end || opts.malloc_size_mb == 0) {
				fprintf(stderr, "unvmf-tgt: bad size '%s'\n", optarg);
				return 1;
			}
			break;
		case 2:
			opts.block_size = (uint32_t)strtoul(optarg, &end, 0);
			if (*end || (opts.block_size != 512 && opts.block_size != 4096)) {
				fprintf(stderr, "unvmf-tgt: block size must be 512 or 4096\n");
				return 1;
			}
			break;
		case 'L':
			if (unvmf_log_level_parse(optarg, &level)) {
				fprintf(stderr, "unvmf-tgt: bad log level '%s'\n", optarg);
				return 1;
			}
			unvmf_log_set_level(level);
			break;
		case 3:
			opts.enable_fault_injection = true;
			break;
		case 4:
			opts.null_bdev = true;
			break;
		case 5:
			if (unvmf_log_format_parse(optarg, &format)) {
				fprintf(stderr, "unvmf-tgt: log format must be text or json\n");
				return 1;
			}
			unvmf_log_set_format(format);
			break;
		case 6:
			opts.metrics_addr = optarg;
			break;
		case 7:
			opts.spin_us = (uint32_t)strtoul(optarg, &end, 0);
			if (*end || opts.spin_us > 1000000) {
				fprintf(stderr, "unvmf-tgt: --spin-us takes 0..1000000\n");
				return 1;
			}
			break;
		case 'h':
			usage(argv[0]);
			return 0;
		default:
			usage(argv[0]);
			return 1;
		}
	}
	if (optind < argc) {
		usage(argv[0]);
		return 1;
	}
	unvmf_control_plane_install();
	return unvmf_tgt_app_run(&opts);
}
