/*
 * url.c: splitting SP URLs.  scheme://address, where the transport says what
 * the address means; host:port addresses (tcp, later ws) share the parser
 * here, as abstract:// names share the percent-decoding.  Anything nng
 * would refuse (a query, a fragment, user info, a path on tcp, a bad
 * escape) is PNC_EADDRINVAL.
 */
#include <stdlib.h>

#include "core.h"

int
pnc_url_parse(const char *url, pnc_url *u)
{
	const char *sep = strstr(url, "://");
	size_t n;

	memset(u, 0, sizeof(*u));
	if (sep == NULL || sep == url || strlen(url) >= PNC_URL_MAX)
		return PNC_EADDRINVAL;
	n = (size_t) (sep - url);
	if (n >= sizeof(u->scheme))
		return PNC_ENOTSUP;
	memcpy(u->scheme, url, n);
	for (size_t i = 0; i < n; i++) {
		char c = u->scheme[i];
		if (c >= 'A' && c <= 'Z')
			u->scheme[i] = (char) (c - 'A' + 'a');
	}
	if (strlen(sep + 3) >= sizeof(u->addr))
		return PNC_EADDRINVAL;
	strcpy(u->addr, sep + 3);
	return 0;
}

static int
port_valid(const char *port)
{
	long v;
	char *end;

	if (port[0] == '\0' || strlen(port) > 5)
		return 0;
	for (const char *c = port; *c; c++)
		if (*c < '0' || *c > '9')
			return 0;
	v = strtol(port, &end, 10);
	return v >= 0 && v <= 65535;
}

int
pnc_url_hostport(pnc_url *u, int listener)
{
	char addr[PNC_URL_MAX];
	char *p = addr, *colon, *slash;
	size_t n;

	strcpy(addr, u->addr);
	if (strpbrk(addr, "?#@") != NULL)
		return PNC_EADDRINVAL;
	if ((slash = strchr(addr, '/')) != NULL) {
		if (strcmp(slash, "/") != 0)
			return PNC_EADDRINVAL; /* only an empty path is allowed */
		*slash = '\0';
	}
	if (*p == '[') { /* [v6-address]:port */
		char *close = strchr(p, ']');
		if (close == NULL || close[1] != ':')
			return PNC_EADDRINVAL;
		n = (size_t) (close - p - 1);
		if (n == 0 || n >= sizeof(u->host))
			return PNC_EADDRINVAL;
		memcpy(u->host, p + 1, n);
		u->host[n] = '\0';
		colon = close + 1;
	} else {
		if ((colon = strrchr(p, ':')) == NULL)
			return PNC_EADDRINVAL;
		n = (size_t) (colon - p);
		if (n >= sizeof(u->host) || memchr(p, ':', n) != NULL)
			return PNC_EADDRINVAL;
		memcpy(u->host, p, n);
		u->host[n] = '\0';
	}
	if (!port_valid(colon + 1))
		return PNC_EADDRINVAL;
	strcpy(u->port, colon + 1);
	if (strcmp(u->host, "*") == 0)
		u->host[0] = '\0';
	if (u->host[0] == '\0' && !listener)
		return PNC_EADDRINVAL; /* a dialer needs somewhere to go */
	return 0;
}

static int
hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
pnc_url_decode(const char *text, uint8_t *out, size_t cap, size_t *lenp)
{
	size_t n = 0;

	for (const char *c = text; *c != '\0'; c++) {
		int v = (uint8_t) *c;
		if (*c == '%') {
			int hi = hex_value(c[1]), lo = hi < 0 ? -1 : hex_value(c[2]);
			if (lo < 0)
				return PNC_EADDRINVAL;
			v = hi * 16 + lo;
			c += 2;
		}
		if (n == cap)
			return PNC_EADDRINVAL;
		out[n++] = (uint8_t) v;
	}
	*lenp = n;
	return 0;
}
