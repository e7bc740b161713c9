// loopback.so, preloaded (LD_PRELOAD) into DynamoDB Local, binds its
// listening socket to the loopback address instead of all interfaces:
// DynamoDB Local has no option to choose the address it listens on, and
// make dev and the tests keep every local server on 127.0.0.1. The Makefile
// builds it into .tools/ when a C compiler is there.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

int bind(int fd, const struct sockaddr *addr, socklen_t len) {
	static int (*real_bind)(int, const struct sockaddr *, socklen_t);
	if (!real_bind) real_bind = (int (*)(int, const struct sockaddr *, socklen_t))dlsym(RTLD_NEXT, "bind");
	if (addr && addr->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
		struct sockaddr_in in4;
		memcpy(&in4, addr, sizeof in4);
		if (in4.sin_addr.s_addr == htonl(INADDR_ANY)) {
			in4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
			return real_bind(fd, (struct sockaddr *)&in4, sizeof in4);
		}
	}
	if (addr && addr->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
		struct sockaddr_in6 in6;
		memcpy(&in6, addr, sizeof in6);
		if (IN6_IS_ADDR_UNSPECIFIED(&in6.sin6_addr)) {
			/* ::ffff:127.0.0.1: a dual-stack socket that only takes IPv4 loopback */
			memset(&in6.sin6_addr, 0, sizeof in6.sin6_addr);
			in6.sin6_addr.s6_addr[10] = 0xff;
			in6.sin6_addr.s6_addr[11] = 0xff;
			in6.sin6_addr.s6_addr[12] = 127;
			in6.sin6_addr.s6_addr[15] = 1;
			return real_bind(fd, (struct sockaddr *)&in6, sizeof in6);
		}
	}
	return real_bind(fd, addr, len);
}
