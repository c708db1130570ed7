/* error.c: the words for NNG's error codes (wire.md section 5). */
#include "core.h"

static const char *const messages[] = {
	[0] = "Success",
	[PNC_EINTR] = "Interrupted",
	[PNC_ENOMEM] = "Out of memory",
	[PNC_EINVAL] = "Invalid argument",
	[PNC_EBUSY] = "Resource busy",
	[PNC_ETIMEDOUT] = "Timed out",
	[PNC_ECONNREFUSED] = "Connection refused",
	[PNC_ECLOSED] = "Object closed",
	[PNC_EAGAIN] = "Try again",
	[PNC_ENOTSUP] = "Not supported",
	[PNC_EADDRINUSE] = "Address in use",
	[PNC_ESTATE] = "Incorrect state",
	[PNC_ENOENT] = "Entry not found",
	[PNC_EPROTO] = "Protocol error",
	[PNC_EUNREACHABLE] = "Destination unreachable",
	[PNC_EADDRINVAL] = "Address invalid",
	[PNC_EPERM] = "Permission denied",
	[PNC_EMSGSIZE] = "Message too large",
	[PNC_ECONNABORTED] = "Connection aborted",
	[PNC_ECONNRESET] = "Connection reset",
	[PNC_ECANCELED] = "Operation canceled",
	[PNC_ENOFILES] = "Out of files",
	[PNC_ENOSPC] = "Out of space",
	[PNC_EEXIST] = "Resource already exists",
	[PNC_EREADONLY] = "Read only resource",
	[PNC_EWRITEONLY] = "Write only resource",
	[PNC_ECRYPTO] = "Cryptographic error",
	[PNC_EPEERAUTH] = "Peer could not be authenticated",
	[PNC_ENOARG] = "Option requires argument",
	[PNC_EAMBIGUOUS] = "Ambiguous option",
	[PNC_EBADTYPE] = "Incorrect type",
	[PNC_ECONNSHUT] = "Connection shutdown",
};

const char *
pnc_strerror(int err)
{
	if (err == PNC_EINTERNAL)
		return "Internal error detected";
	if (err == PNC_ESLICE)
		return "Wait slice over";
	if (err >= 0 && (size_t) err < sizeof(messages) / sizeof(messages[0]) &&
	    messages[err] != NULL)
		return messages[err];
	return "Unknown error";
}

const char *
pnc_version(void)
{
	return "0.1.0";
}
