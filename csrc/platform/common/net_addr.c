/*
 * net_addr.c: a kernel's IPv4 or IPv6 socket address as the core's
 * pnc_addr, the same on every OS.
 */
#include <string.h>

#include "net_common.h"

int
pnc_net_inet_addr(const struct sockaddr_storage *ss, pnc_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *) ss;
		a->family = PNC_AF_INET;
		a->port = ntohs(in->sin_port);
		memcpy(a->ip, &in->sin_addr, 4);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *) ss;
		a->family = PNC_AF_INET6;
		a->port = ntohs(in6->sin6_port);
		memcpy(a->ip, &in6->sin6_addr, 16);
	} else {
		return PNC_ENOTSUP;
	}
	return 0;
}
