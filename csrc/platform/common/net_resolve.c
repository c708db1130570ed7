/*
 * net_resolve.c: name resolution, the same on every OS (getaddrinfo,
 * declared by the impl header).  platform/common is compiled everywhere.
 */
#include <string.h>

#include "../platform.h"

int
pnc_net_resolve(const char *host, const char *port, int passive, int family,
    pnc_sockaddr *sa)
{
	struct addrinfo hints, *res;
	int rv;

	if ((rv = pnc_net_ready()) != 0)
		return rv;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = family == PNC_AF_INET ? AF_INET
	                : family == PNC_AF_INET6 ? AF_INET6 : AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0);
	if (host != NULL && host[0] == '\0')
		host = NULL;
	if (host == NULL && passive && family == PNC_AF_UNSPEC)
		hints.ai_family = AF_INET; /* "*" binds every IPv4 address, as nng */
	rv = getaddrinfo(host, port, &hints, &res);
	if (rv != 0)
		return rv == EAI_MEMORY ? PNC_ENOMEM : PNC_EADDRINVAL;
	memcpy(&sa->ss, res->ai_addr, res->ai_addrlen);
	sa->len = (int) res->ai_addrlen; /* Windows' is a size_t; both fit */
	freeaddrinfo(res);
	return 0;
}
