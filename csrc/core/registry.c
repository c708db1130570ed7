/* registry.c: the protocols and transports, by name. */
#include "core.h"

extern const pnc_proto_ops pnc_proto_pair0;
extern const pnc_proto_ops pnc_proto_pair1;
extern const pnc_proto_ops pnc_proto_push0;
extern const pnc_proto_ops pnc_proto_pull0;

extern const pnc_tran_ops pnc_tran_tcp;
extern const pnc_tran_ops pnc_tran_ipc;
extern const pnc_tran_ops pnc_tran_unix;
extern const pnc_tran_ops pnc_tran_inproc;

static const struct {
	const char *name;
	const pnc_proto_ops *ops;
} protocols[] = {
	{ "pair0", &pnc_proto_pair0 },
	{ "pair1", &pnc_proto_pair1 },
	{ "push0", &pnc_proto_push0 },
	{ "pull0", &pnc_proto_pull0 },
};

static const pnc_tran_ops *const transports[] = {
	&pnc_tran_tcp,
	&pnc_tran_ipc,
	&pnc_tran_unix,
	&pnc_tran_inproc,
};

const pnc_proto_ops *
pnc_proto_find(const char *name)
{
	for (size_t i = 0; i < sizeof(protocols) / sizeof(protocols[0]); i++)
		if (strcmp(protocols[i].name, name) == 0)
			return protocols[i].ops;
	return NULL;
}

const pnc_tran_ops *
pnc_tran_find(const char *scheme)
{
	for (size_t i = 0; i < sizeof(transports) / sizeof(transports[0]); i++)
		if (strcmp(transports[i]->scheme, scheme) == 0)
			return transports[i];
	return NULL;
}
