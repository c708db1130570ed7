/*
 * net_common.h: what the OS layers' socket code shares (platform/common),
 * for platform/ only: the core sees platform.h.
 */
#ifndef PNC_NET_COMMON_H
#define PNC_NET_COMMON_H

#include "../platform.h"

/* An IPv4 or IPv6 address and port into a; PNC_ENOTSUP for other families. */
int pnc_net_inet_addr(const struct sockaddr_storage *ss, pnc_addr *a);

#endif
