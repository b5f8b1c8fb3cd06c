/*
 * The metrics endpoint's pure parts: the --metrics address and the
 * exposition text rendered from nvmf_get_stats-shaped JSON (families grouped
 * under one TYPE line, cumulative histogram buckets, escaped label values,
 * transport counters by name).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "app/tgt_metrics.h"

static void test_parse_addr(void **state)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *in = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
	char buf[INET6_ADDRSTRLEN];
	socklen_t len;
	static const char *const bad[] = {"",          "x",         "0",          "65536",
	                                  "1.2.3.4:",  "1.2.3.4:0", "::1:9100",   "[::1]9100",
	                                  "[::1:9100", "host:9100", "1.2.3.4:9x", ":9100"};

	(void)state;
	/* A bare port is loopback: the endpoint has no authentication. */
	assert_int_equal(tgt_metrics_parse_addr("9100", &ss, &len), 0);
	assert_int_equal(ss.ss_family, AF_INET);
	assert_int_equal(len, sizeof(*in));
	assert_int_equal(ntohs(in->sin_port), 9100);
	assert_string_equal(inet_ntop(AF_INET, &in->sin_addr, buf, sizeof(buf)), "127.0.0.1");
	assert_int_equal(tgt_metrics_parse_addr("0.0.0.0:80", &ss, &len), 0);
	assert_string_equal(inet_ntop(AF_INET, &in->sin_addr, buf, sizeof(buf)), "0.0.0.0");
	assert_int_equal(ntohs(in->sin_port), 80);
	assert_int_equal(tgt_metrics_parse_addr("[::1]:9100", &ss, &len), 0);
	assert_int_equal(ss.ss_family, AF_INET6);
	assert_int_equal(len, sizeof(*in6));
	assert_string_equal(inet_ntop(AF_INET6, &in6->sin6_addr, buf, sizeof(buf)), "::1");
	assert_int_equal(ntohs(in6->sin6_port), 9100);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (tgt_metrics_parse_addr(bad[i], &ss, &len) != -EINVAL)
			fail_msg("'%s' was accepted", bad[i]);
	}
}

static const char g_stats[] =
    "{\"tick_rate\": 1000000, \"poll_groups\": ["
    " {\"name\": \"nvmf_tgt_poll_group_0\", \"thread\": 0, \"qpairs\": 3, \"current_qpairs\": 2,"
    "  \"current_admin_qpairs\": 1, \"current_io_qpairs\": 1, \"completed_nvme_io\": 10,"
    "  \"bytes_read\": 4096, \"bytes_written\": 0, \"errors\": 1, \"pending_bdev_io\": 0,"
    "  \"latency\": {\"count\": 10, \"sum_us\": 1500000, \"avg_us\": 150000, \"buckets\": ["
    "    {\"lt_us\": 4, \"count\": 7}, {\"lt_us\": 2147483648, \"count\": 3}]},"
    "  \"reactor\": {\"iterations\": 5, \"busy_iterations\": 2, \"sleeps\": 1},"
    "  \"limits\": {\"connect_timeouts\": 0, \"connect_refused_host_limit\": 4,"
    "   \"connect_refused_group_limit\": 0, \"connect_refused_kato\": 0,"
    "   \"kato_zero_reclaims\": 0},"
    "  \"transports\": [{\"trtype\": \"RDMA\", \"provider\": \"verbs\", \"qpairs_current\": 1,"
    "   \"recvs\": 9, \"pending_buffer\": 2, \"qpairs\": [{\"id\": 1}],"
    "   \"wc\": {\"completions\": 8, \"errors_by_status\": {\"RETRY_EXC_ERR\": 1,"
    "    \"WR_FLUSH_ERR\": 6}}, \"state_events\": {\"FREE\": {\"x\": 1}}}]},"
    " {\"name\": \"nvmf_tgt_poll_group_1\", \"thread\": 1, \"qpairs\": 1, \"current_qpairs\": 1,"
    "  \"current_admin_qpairs\": 0, \"current_io_qpairs\": 1, \"completed_nvme_io\": 5,"
    "  \"bytes_read\": 0, \"bytes_written\": 512, \"errors\": 0, \"pending_bdev_io\": 1,"
    "  \"latency\": {\"count\": 0, \"sum_us\": 0, \"avg_us\": 0, \"buckets\": []},"
    "  \"reactor\": {\"iterations\": 7, \"busy_iterations\": 3, \"sleeps\": 0},"
    "  \"transports\": []}],"
    " \"connect_refusals\": {\"host_not_allowed\": 2, \"unknown_subsystem\": 0}}";

static const char g_subsystems[] =
    "[{\"nqn\": \"nqn.x:a\\\"b\", \"namespaces\": 2, \"controllers\": [{}],"
    "  \"qpairs\": [{\"stats\": {\"requests\": 3, \"bytes_read\": 1024, \"bytes_written\": 0,"
    "   \"errors\": 0}}, {\"stats\": {\"requests\": 4, \"bytes_read\": 0, \"bytes_written\": 8,"
    "   \"errors\": 1}}]}]";

static unsigned count_of(const char *text, const char *needle)
{
	unsigned n = 0;

	for (const char *p = text; (p = strstr(p, needle)) != NULL; p++)
		n++;
	return n;
}

static void test_render(void **state)
{
	json_t *stats = json_loads(g_stats, 0, NULL), *subs = json_loads(g_subsystems, 0, NULL);
	char *text;
	const char *a, *b;

	(void)state;
	assert_non_null(stats);
	assert_non_null(subs);
	text = tgt_metrics_render(stats, subs);
	assert_non_null(text);
	/* One TYPE line per family, its samples together from both groups. */
	assert_int_equal(
	    count_of(text, "# TYPE unvmf_poll_group_commands_completed_total counter\n"), 1);
	a = strstr(text, "unvmf_poll_group_commands_completed_total{group=\"0\"} 10\n");
	b = strstr(text, "unvmf_poll_group_commands_completed_total{group=\"1\"} 5\n");
	assert_non_null(a);
	assert_true(b == a + strlen("unvmf_poll_group_commands_completed_total{group=\"0\"} 10\n"));
	assert_non_null(strstr(text, "unvmf_poll_group_io_qpairs{group=\"1\"} 1\n"));
	assert_non_null(strstr(text, "# TYPE unvmf_poll_group_io_qpairs gauge\n"));
	/* Buckets are cumulative over powers of two of µs, +Inf = count, sum in seconds. */
	assert_int_equal(
	    count_of(text, "# TYPE unvmf_poll_group_command_latency_seconds histogram\n"), 1);
	assert_non_null(strstr(text, "_bucket{group=\"0\",le=\"0.000002\"} 0\n"));
	assert_non_null(strstr(text, "_bucket{group=\"0\",le=\"0.000004\"} 7\n"));
	assert_non_null(strstr(text, "_bucket{group=\"0\",le=\"1073.741824\"} 7\n"));
	assert_non_null(strstr(text, "_bucket{group=\"0\",le=\"2147.483648\"} 10\n"));
	assert_non_null(strstr(text, "_bucket{group=\"0\",le=\"+Inf\"} 10\n"));
	assert_non_null(
	    strstr(text, "unvmf_poll_group_command_latency_seconds_sum{group=\"0\"} 1.500000\n"));
	assert_non_null(
	    strstr(text, "unvmf_poll_group_command_latency_seconds_count{group=\"1\"} 0\n"));
	assert_non_null(strstr(
	    text, "unvmf_limits_connect_refused_total{group=\"0\",reason=\"host_limit\"} 4\n"));
	assert_non_null(
	    strstr(text, "unvmf_connect_refused_total{reason=\"host_not_allowed\"} 2\n"));
	assert_non_null(
	    strstr(text, "unvmf_connect_refused_total{reason=\"unknown_subsystem\"} 0\n"));
	/* Transport counters by name; maps of counts get a label; arrays and coverage stay out. */
	assert_non_null(
	    strstr(text, "unvmf_transport_recvs_total{group=\"0\",trtype=\"RDMA\"} 9\n"));
	assert_non_null(strstr(text, "# TYPE unvmf_transport_pending_buffer gauge\n"));
	assert_non_null(strstr(text, "# TYPE unvmf_transport_qpairs_current gauge\n"));
	assert_non_null(
	    strstr(text, "unvmf_transport_wc_completions_total{group=\"0\",trtype=\"RDMA\"} 8\n"));
	assert_non_null(
	    strstr(text, "unvmf_transport_wc_errors_by_status_total{group=\"0\",trtype=\"RDMA\","
	                 "status=\"RETRY_EXC_ERR\"} 1\n"));
	assert_null(strstr(text, "state_events"));
	assert_null(strstr(text, "provider"));
	assert_null(strstr(text, "unvmf_transport_qpairs{"));
	/* Subsystems: the quote in the NQN is escaped; sums over the connected qpairs. */
	assert_non_null(strstr(text, "unvmf_subsystem_namespaces{nqn=\"nqn.x:a\\\"b\"} 2\n"));
	assert_non_null(strstr(text, "unvmf_subsystem_controllers{nqn=\"nqn.x:a\\\"b\"} 1\n"));
	assert_non_null(strstr(text, "unvmf_subsystem_qpairs{nqn=\"nqn.x:a\\\"b\"} 2\n"));
	assert_non_null(
	    strstr(text, "unvmf_subsystem_connected_requests{nqn=\"nqn.x:a\\\"b\"} 7\n"));
	free(text);
	json_decref(stats);
	json_decref(subs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_addr),
	    cmocka_unit_test(test_render),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
