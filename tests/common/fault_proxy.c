#include "fault_proxy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_PAIRS 16
#define RECORD_MAX (4u << 20)

struct pair {
	struct fault_proxy *proxy;
	int host_fd;
	int target_fd;
	bool faulty;
	uint64_t rng;
	uint64_t moved[2];
	uint8_t *rec[2];
	size_t rec_len[2];
	pthread_t thread;
};

struct fault_proxy {
	struct fault_plan plan;
	int listen_fd;
	int target_port;
	pthread_t accept_thread;
	atomic_bool stop;
	atomic_bool fired;
	bool joined;
	struct pair pairs[MAX_PAIRS];
	unsigned num_pairs;
};

static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

const char *fault_kind_name(enum fault_kind kind)
{
	static const char *const names[] = {"none", "reset", "corrupt", "slow"};

	return kind < FAULT_NUM_KINDS ? names[kind] : "?";
}

static void rst_close(int fd)
{
	struct linger l = {.l_onoff = 1, .l_linger = 0};

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	close(fd);
}

static int write_all(int fd, const uint8_t *buf, size_t len)
{
	while (len > 0) {
		/* The far side may have closed (a terminated connection): no SIGPIPE for the test. */
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Moves up to one random-size chunk from `from` to `to`; returns -1 when the pair is done. */
static int pair_move(struct pair *p, int dir)
{
	struct fault_plan *plan = &p->proxy->plan;
	int from = dir == FAULT_HOST_TO_TARGET ? p->host_fd : p->target_fd;
	int to = dir == FAULT_HOST_TO_TARGET ? p->target_fd : p->host_fd;
	uint8_t buf[65536];
	size_t want = 1 + splitmix(&p->rng) % sizeof(buf);
	bool here = p->faulty && plan->dir == (enum fault_dir)dir && !atomic_load(&p->proxy->fired);
	ssize_t n;

	/* Stop exactly at the fault offset so it lands where the plan says. */
	if (here && (plan->kind == FAULT_RESET || plan->kind == FAULT_CORRUPT) &&
	    p->moved[dir] <= plan->offset && p->moved[dir] + want > plan->offset)
		want = plan->offset - p->moved[dir] + (plan->kind == FAULT_CORRUPT ? 1 : 0);
	if (want == 0) {
		atomic_store(&p->proxy->fired, true);
		return -1;	/* reset */
	}
	n = read(from, buf, want);
	if (n <= 0)
		return -1;
	if (here && plan->kind == FAULT_CORRUPT && p->moved[dir] + (uint64_t)n > plan->offset) {
		buf[plan->offset - p->moved[dir]] ^= 0x10;
		atomic_store(&p->proxy->fired, true);
	}
	if (p->rec[dir]) {
		size_t keep = p->rec_len[dir] + (size_t)n <= RECORD_MAX ? (size_t)n
								      : RECORD_MAX - p->rec_len[dir];

		memcpy(p->rec[dir] + p->rec_len[dir], buf, keep);
		p->rec_len[dir] += keep;
	}
	p->moved[dir] += (uint64_t)n;
	if (here && plan->kind == FAULT_SLOW &&
	    (p->moved[dir] - (uint64_t)n) / 65536 != p->moved[dir] / 65536) {
		atomic_store(&p->proxy->fired, true);
		usleep(plan->stall_ms * 1000);
	}
	/* Re-chunk the write side too: the receiver sees PDUs in pieces. */
	for (ssize_t off = 0; off < n;) {
		size_t chunk = 1 + splitmix(&p->rng) % (size_t)(n - off);

		if (write_all(to, buf + off, chunk))
			return -1;
		off += (ssize_t)chunk;
	}
	return 0;
}

static void *pair_main(void *arg)
{
	struct pair *p = arg;

	while (!atomic_load(&p->proxy->stop)) {
		struct pollfd pfd[2] = {{.fd = p->host_fd, .events = POLLIN},
					{.fd = p->target_fd, .events = POLLIN}};
		int rc = poll(pfd, 2, 50);

		if (rc < 0 && errno != EINTR)
			break;
		if (rc <= 0)
			continue;
		if ((pfd[0].revents & (POLLIN | POLLHUP | POLLERR)) &&
		    pair_move(p, FAULT_HOST_TO_TARGET))
			break;
		if ((pfd[1].revents & (POLLIN | POLLHUP | POLLERR)) &&
		    pair_move(p, FAULT_TARGET_TO_HOST))
			break;
	}
	rst_close(p->host_fd);
	rst_close(p->target_fd);
	return NULL;
}

static int connect_target(int port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	int one = 1;

	sa.sin_port = htons((uint16_t)port);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

static void *accept_main(void *arg)
{
	struct fault_proxy *proxy = arg;

	while (!atomic_load(&proxy->stop)) {
		struct pollfd pfd = {.fd = proxy->listen_fd, .events = POLLIN};
		struct pair *p;
		int fd, one = 1;

		if (poll(&pfd, 1, 50) <= 0)
			continue;
		fd = accept(proxy->listen_fd, NULL, NULL);
		if (fd < 0)
			continue;
		if (proxy->num_pairs >= MAX_PAIRS) {
			close(fd);
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		p = &proxy->pairs[proxy->num_pairs];
		p->proxy = proxy;
		p->host_fd = fd;
		p->target_fd = connect_target(proxy->target_port);
		if (p->target_fd < 0) {
			close(fd);
			continue;
		}
		p->faulty = proxy->num_pairs == proxy->plan.conn_index;
		if (proxy->plan.record) {
			p->rec[0] = malloc(RECORD_MAX);
			p->rec[1] = malloc(RECORD_MAX);
		}
		p->rng = proxy->plan.seed * 31 + proxy->num_pairs;
		if (pthread_create(&p->thread, NULL, pair_main, p) != 0) {
			close(p->host_fd);
			close(p->target_fd);
			continue;
		}
		proxy->num_pairs++;
	}
	return NULL;
}

int fault_proxy_start(const struct fault_plan *plan, int target_port, int *listen_port,
		      struct fault_proxy **out)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sa);
	struct fault_proxy *proxy = calloc(1, sizeof(*proxy));

	if (!proxy)
		return -ENOMEM;
	proxy->plan = *plan;
	proxy->target_port = target_port;
	proxy->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
	if (proxy->listen_fd < 0 || bind(proxy->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(proxy->listen_fd, 16) ||
	    getsockname(proxy->listen_fd, (struct sockaddr *)&sa, &len)) {
		if (proxy->listen_fd >= 0)
			close(proxy->listen_fd);
		free(proxy);
		return -errno;
	}
	*listen_port = ntohs(sa.sin_port);
	if (pthread_create(&proxy->accept_thread, NULL, accept_main, proxy) != 0) {
		close(proxy->listen_fd);
		free(proxy);
		return -EAGAIN;
	}
	*out = proxy;
	return 0;
}

bool fault_proxy_fired(struct fault_proxy *proxy)
{
	return atomic_load(&proxy->fired);
}

void fault_proxy_join(struct fault_proxy *proxy)
{
	if (proxy->joined)
		return;
	atomic_store(&proxy->stop, true);
	pthread_join(proxy->accept_thread, NULL);
	for (unsigned i = 0; i < proxy->num_pairs; i++)
		pthread_join(proxy->pairs[i].thread, NULL);
	close(proxy->listen_fd);
	proxy->joined = true;
}

unsigned fault_proxy_num_conns(struct fault_proxy *proxy)
{
	return proxy->num_pairs;
}

size_t fault_proxy_recorded(struct fault_proxy *proxy, unsigned conn, enum fault_dir dir,
			    const uint8_t **buf)
{
	if (!proxy->joined || conn >= proxy->num_pairs || !proxy->pairs[conn].rec[dir]) {
		*buf = NULL;
		return 0;
	}
	*buf = proxy->pairs[conn].rec[dir];
	return proxy->pairs[conn].rec_len[dir];
}

void fault_proxy_stop(struct fault_proxy *proxy)
{
	fault_proxy_join(proxy);
	for (unsigned i = 0; i < proxy->num_pairs; i++) {
		free(proxy->pairs[i].rec[0]);
		free(proxy->pairs[i].rec[1]);
	}
	free(proxy);
}
