/* registry.c: the protocols and transports, by name. */
#include "core.h"

#define PROTOCOL(name) extern const pnc_proto_ops pnc_proto_##name
PROTOCOL(pair0);
PROTOCOL(pair1);
PROTOCOL(xpair1);
PROTOCOL(push0);
PROTOCOL(pull0);
PROTOCOL(req0);
PROTOCOL(xreq0);
PROTOCOL(rep0);
PROTOCOL(xrep0);
PROTOCOL(pub0);
PROTOCOL(sub0);
PROTOCOL(xsub0);
PROTOCOL(surveyor0);
PROTOCOL(xsurveyor0);
PROTOCOL(respondent0);
PROTOCOL(xrespondent0);
PROTOCOL(bus0);
PROTOCOL(xbus0);

extern const pnc_tran_ops pnc_tran_tcp;
extern const pnc_tran_ops pnc_tran_tls;
extern const pnc_tran_ops pnc_tran_ipc;
extern const pnc_tran_ops pnc_tran_abstract;
extern const pnc_tran_ops pnc_tran_inproc;
extern const pnc_tran_ops pnc_tran_ws;

/*
 * Cooked and raw tables.  pair0, push, pull and pub have no header and no
 * state machine, so their raw mode is the cooked one (the socket says raw).
 */
static const struct {
	const char *name;
	const pnc_proto_ops *cooked;
	const pnc_proto_ops *raw;
} protocols[] = {
	{ "pair0", &pnc_proto_pair0, &pnc_proto_pair0 },
	{ "pair1", &pnc_proto_pair1, &pnc_proto_xpair1 },
	{ "push0", &pnc_proto_push0, &pnc_proto_push0 },
	{ "pull0", &pnc_proto_pull0, &pnc_proto_pull0 },
	{ "req0", &pnc_proto_req0, &pnc_proto_xreq0 },
	{ "rep0", &pnc_proto_rep0, &pnc_proto_xrep0 },
	{ "pub0", &pnc_proto_pub0, &pnc_proto_pub0 },
	{ "sub0", &pnc_proto_sub0, &pnc_proto_xsub0 },
	{ "surveyor0", &pnc_proto_surveyor0, &pnc_proto_xsurveyor0 },
	{ "respondent0", &pnc_proto_respondent0, &pnc_proto_xrespondent0 },
	{ "bus0", &pnc_proto_bus0, &pnc_proto_xbus0 },
};

static const struct {
	const char *scheme;
	const pnc_tran_ops *ops;
} transports[] = {
	{ "tcp", &pnc_tran_tcp },
	{ "tcp4", &pnc_tran_tcp }, /* tcp reads the family from the scheme */
	{ "tcp6", &pnc_tran_tcp },
	{ "tls+tcp", &pnc_tran_tls },
	{ "tls+tcp4", &pnc_tran_tls },
	{ "tls+tcp6", &pnc_tran_tls },
	{ "ipc", &pnc_tran_ipc },
	{ "unix", &pnc_tran_ipc },
	{ "abstract", &pnc_tran_abstract },
	{ "inproc", &pnc_tran_inproc },
	{ "ws", &pnc_tran_ws },
	{ "ws4", &pnc_tran_ws }, /* ws reads the family from the scheme */
	{ "ws6", &pnc_tran_ws },
	{ "wss", &pnc_tran_ws }, /* ws inside TLS: ws reads that from the scheme too */
	{ "wss4", &pnc_tran_ws },
	{ "wss6", &pnc_tran_ws },
};

const pnc_proto_ops *
pnc_proto_find(const char *name, int raw)
{
	for (size_t i = 0; i < sizeof(protocols) / sizeof(protocols[0]); i++)
		if (strcmp(protocols[i].name, name) == 0)
			return raw ? protocols[i].raw : protocols[i].cooked;
	return NULL;
}

const pnc_tran_ops *
pnc_tran_find(const char *scheme)
{
	for (size_t i = 0; i < sizeof(transports) / sizeof(transports[0]); i++)
		if (strcmp(transports[i].scheme, scheme) == 0)
			return transports[i].ops;
	return NULL;
}
