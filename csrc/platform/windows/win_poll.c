/*
 * win_poll.c: the poller on Windows is the portable one over WSAPoll.
 *
 * WSAPoll copies the whole set into the kernel on every wait, as poll(2)
 * does: the cost grows with the number of connections (see the measurements
 * in the notes of issue 17).  An I/O completion port would not, but it
 * completes operations instead of reporting readiness, so it needs a
 * transport that posts overlapped reads and writes: future work.
 */
#include "../posix/posix_poll.c"

const pnc_poller_ops *const pnc_poller_native = NULL;
