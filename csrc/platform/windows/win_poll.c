/*
 * win_poll.c: the pollers on Windows.  "poll" is the portable one over
 * WSAPoll, which copies the whole set into the kernel on every wait as
 * poll(2) does: its cost grows with the number of connections.  The native
 * one, "iocp" (win_iocp.c: AFD poll requests completed through an I/O
 * completion port), does not; it is the default.
 */
#include "../posix/posix_poll.c"

extern const pnc_poller_ops pnc_win_poller_iocp;
const pnc_poller_ops *const pnc_poller_native = &pnc_win_poller_iocp;
