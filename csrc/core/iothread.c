/*
 * iothread.c: the one I/O thread of the process.
 *
 * It runs the poller and the timers and the tasks other threads post.  It is
 * started by the first socket, and started again in a forked child.  Every
 * descriptor registration is kept in a registry so that the whole set can
 * move to another poller (pnc_poller_set) without anybody noticing.
 */
#include <stdlib.h>

#include "core.h"

static struct {
	pnc_mtx mtx;
	int running;
	int pid;
	pnc_thread thread;
	const pnc_poller_ops *ops;
	void *state;
	pnc_wakefd wake;
	pnc_pollfd wake_pfd;
	int wake_pending;
	pnc_list registry; /* every pnc_pollfd */
	pnc_timer *timer_root; /* the heap of armed timers: the soonest */
	size_t ntimers;
	uint32_t timer_seq;
	int64_t sleep_until; /* when the thread wakes by itself, timers allowing */
	pnc_list tasks;
	const pnc_poller_ops *want_ops; /* a switch asked for */
	pnc_cv switched;
} io = { .mtx = PNC_MTX_INITIALIZER };

static unsigned last_id;

uint32_t
pnc_next_id(void)
{
	uint32_t id = pnc_atomic_add_uint(&last_id, 1);

	return id & 0x7fffffff ? id & 0x7fffffff : pnc_next_id();
}

static void
io_wake_locked(void)
{
	/* One pending write is enough until the I/O thread drains it. */
	if (!io.wake_pending && !pnc_thread_is_self(&io.thread)) {
		io.wake_pending = 1;
		pnc_wakefd_signal(&io.wake);
	}
}

int
pnc_io_on_thread(void)
{
	return io.running && pnc_thread_is_self(&io.thread);
}

/* The poll() poller copies its set before sleeping, so it must be woken. */
static void
io_kick_poller_locked(void)
{
	if (io.ops != pnc_poller_native)
		io_wake_locked();
}

/*
 * One-shot descriptors.  A server's pipe stops asking for input at every
 * request it reads, since the socket's queue is full (a requester sends
 * nothing more until it has its reply), and asks again once a receiver has
 * taken one: level-triggered, each request cost the poller two calls.  A
 * descriptor added with PNC_POLL_ONESHOT is armed one-shot when it asks for
 * events again after asking for none: its event then ends the watching by
 * itself, and a callback that stops asking costs no call.  One whose
 * callback keeps asking is armed level-triggered again, so a stream that is
 * never paused costs no call per event either.
 *
 * armed is what the poller watches as far as the io lock's holders know; an
 * event of a one-shot arming clears it.  The event may be one of an arming
 * that another thread changed after the poller reported it: the callback is
 * given only what is asked for now, and arms what is asked for at its end
 * (pnc_pollfd_rearm): the pfd may be gone once its callback has returned.
 */
static int
pollfd_oneshot(const pnc_pollfd *pfd)
{
	return pfd->oneshot && io.ops->oneshot;
}

/* io locked. */
static void
pollfd_arm_locked(pnc_pollfd *pfd, unsigned events, int once)
{
	once = once && events != 0 && pollfd_oneshot(pfd);
	io.ops->mod(io.state, pfd->fd, events | (once ? PNC_POLL_ONESHOT : 0u), pfd);
	pfd->armed = events;
	pfd->armed_once = (unsigned char) once;
}

int
pnc_pollfd_add(pnc_pollfd *pfd, pnc_fd fd, unsigned events, pnc_poll_cb cb,
    void *arg)
{
	int rv;

	pfd->fd = fd;
	pfd->events = pfd->armed = events & ~PNC_POLL_ONESHOT;
	pfd->oneshot = (events & PNC_POLL_ONESHOT) != 0;
	pfd->armed_once = 0;
	pfd->cb = cb;
	pfd->arg = arg;
	pnc_mtx_lock(&io.mtx);
	if ((rv = io.ops->add(io.state, fd, pfd->events, pfd)) == 0) {
		pnc_list_append(&io.registry, &pfd->node);
		io_kick_poller_locked();
	}
	pnc_mtx_unlock(&io.mtx);
	return rv;
}

void
pnc_pollfd_want(pnc_pollfd *pfd, unsigned on, unsigned off)
{
	pnc_mtx_lock(&io.mtx);
	unsigned ev = (pfd->events | on) & ~off;
	if (ev != pfd->events && pfd->fd != PNC_FD_NONE) {
		unsigned was = pfd->events;

		pfd->events = ev;
		/* One its event disarmed stays so while it asks for nothing. */
		if (ev != 0 || pfd->armed != 0)
			pollfd_arm_locked(pfd, ev, was == 0 || pfd->armed_once);
		io_kick_poller_locked();
	}
	pnc_mtx_unlock(&io.mtx);
}

void
pnc_pollfd_del(pnc_pollfd *pfd)
{
	pnc_mtx_lock(&io.mtx);
	if (pfd->fd != PNC_FD_NONE) {
		io.ops->del(io.state, pfd->fd);
		pnc_list_remove(&pfd->node);
		/* Events already fetched for it in this round are ignored. */
		pfd->fd = PNC_FD_NONE;
	}
	pnc_mtx_unlock(&io.mtx);
}

void
pnc_timer_init(pnc_timer *t, void (*cb)(void *), void *arg)
{
	t->when = 0;
	t->cb = cb;
	t->arg = arg;
	t->parent = t->left = t->right = NULL;
}

/*
 * The heap is a complete binary tree of the timers themselves (no array to
 * grow, so arming cannot fail), each before its children.  Position k
 * (from 1, the root) is reached from the root by the bits of k below its
 * top one, read from the highest: 0 left, 1 right.
 */
static int
timer_before(const pnc_timer *a, const pnc_timer *b)
{
	return a->when < b->when || (a->when == b->when && (int32_t) (a->seq - b->seq) < 0);
}

static int
timer_armed(const pnc_timer *t)
{
	return t->parent != NULL || io.timer_root == t;
}

/* The link that holds position pos (1 <= pos <= ntimers + 1). */
static pnc_timer **
timer_slot(size_t pos, pnc_timer **parentp)
{
	pnc_timer **slot = &io.timer_root, *parent = NULL;
	int bit = 0;

	while ((pos >> bit) > 1)
		bit++;
	while (bit-- > 0) {
		parent = *slot;
		slot = (pos >> bit) & 1 ? &parent->right : &parent->left;
	}
	*parentp = parent;
	return slot;
}

/* Swaps c with its parent p: c takes p's place, p takes c's. */
static void
timer_swap_with_parent(pnc_timer *c)
{
	pnc_timer *p = c->parent, *gp = p->parent;
	pnc_timer *cl = c->left, *cr = c->right;

	if (gp == NULL)
		io.timer_root = c;
	else if (gp->left == p)
		gp->left = c;
	else
		gp->right = c;
	c->parent = gp;
	if (p->left == c) {
		c->left = p;
		c->right = p->right;
	} else {
		c->right = p;
		c->left = p->left;
	}
	if (c->left != p && c->left != NULL)
		c->left->parent = c;
	if (c->right != p && c->right != NULL)
		c->right->parent = c;
	p->parent = c;
	p->left = cl;
	p->right = cr;
	if (cl != NULL)
		cl->parent = p;
	if (cr != NULL)
		cr->parent = p;
}

static void
timer_sift_up(pnc_timer *t)
{
	while (t->parent != NULL && timer_before(t, t->parent))
		timer_swap_with_parent(t);
}

static void
timer_sift_down(pnc_timer *t)
{
	for (;;) {
		pnc_timer *c = t->left;
		if (c == NULL)
			return;
		if (t->right != NULL && timer_before(t->right, c))
			c = t->right;
		if (!timer_before(c, t))
			return;
		timer_swap_with_parent(c);
	}
}

static void
timer_heap_insert(pnc_timer *t)
{
	pnc_timer *parent;
	pnc_timer **slot = timer_slot(++io.ntimers, &parent);

	t->seq = io.timer_seq++;
	t->parent = parent;
	t->left = t->right = NULL;
	*slot = t;
	timer_sift_up(t);
}

/* The last timer of the heap takes t's place, and moves to where it goes. */
static void
timer_heap_remove(pnc_timer *t)
{
	pnc_timer *parent;
	pnc_timer **slot = timer_slot(io.ntimers--, &parent);
	pnc_timer *last = *slot;

	*slot = NULL;
	if (last != t) {
		last->parent = t->parent;
		last->left = t->left;
		last->right = t->right;
		if (t->parent == NULL)
			io.timer_root = last;
		else if (t->parent->left == t)
			t->parent->left = last;
		else
			t->parent->right = last;
		if (last->left != NULL)
			last->left->parent = last;
		if (last->right != NULL)
			last->right->parent = last;
		timer_sift_down(last);
		timer_sift_up(last);
	}
	t->parent = t->left = t->right = NULL;
	t->when = 0;
}

int
pnc_timer_arm(pnc_timer *t, int64_t delay_ms)
{
	int was_armed;

	pnc_mtx_lock(&io.mtx);
	was_armed = timer_armed(t);
	if (was_armed)
		timer_heap_remove(t);
	t->when = pnc_clock_ms() + (delay_ms > 0 ? delay_ms : 0);
	timer_heap_insert(t);
	/*
	 * Only a timer due before the thread's own wake-up needs a kick.  A
	 * request's resend timer is re-armed at every request; waking the
	 * thread for each would cost a thread switch per request.
	 */
	if (io.timer_root == t && t->when < io.sleep_until)
		io_wake_locked();
	pnc_mtx_unlock(&io.mtx);
	return was_armed;
}

int
pnc_timer_cancel(pnc_timer *t)
{
	int was_armed;

	pnc_mtx_lock(&io.mtx);
	was_armed = timer_armed(t);
	if (was_armed)
		timer_heap_remove(t);
	pnc_mtx_unlock(&io.mtx);
	return was_armed;
}

void
pnc_task_init(pnc_task *t, void (*cb)(void *), void *arg)
{
	t->cb = cb;
	t->arg = arg;
	t->node.next = t->node.prev = NULL;
}

int
pnc_task_post(pnc_task *t)
{
	int queued = 0;

	pnc_mtx_lock(&io.mtx);
	if (!pnc_node_linked(&t->node)) {
		pnc_list_append(&io.tasks, &t->node);
		io_wake_locked();
		queued = 1;
	}
	pnc_mtx_unlock(&io.mtx);
	return queued;
}

static void
io_wake_cb(pnc_pollfd *pfd, unsigned events)
{
	(void) pfd;
	(void) events;
	pnc_mtx_lock(&io.mtx);
	io.wake_pending = 0;
	pnc_wakefd_drain(&io.wake);
	pnc_mtx_unlock(&io.mtx);
}

/* Moves every registration to the poller asked for; on the I/O thread. */
static void
io_switch_poller_locked(void)
{
	const pnc_poller_ops *ops = io.want_ops;
	void *state;

	io.want_ops = NULL;
	if (ops == io.ops || ops->open(&state) != 0) {
		pnc_cv_wake(&io.switched);
		return;
	}
	PNC_LIST_EACH(&io.registry, n) {
		pnc_pollfd *pfd = PNC_CONTAINER(n, pnc_pollfd, node);
		ops->add(state, pfd->fd, pfd->events, pfd);
		pfd->armed = pfd->events;
		pfd->armed_once = 0;
	}
	io.ops->close(io.state);
	io.ops = ops;
	io.state = state;
	pnc_cv_wake(&io.switched);
}

static int
io_next_timeout_locked(void)
{
	int64_t left;

	if (!pnc_list_empty(&io.tasks) || io.want_ops != NULL)
		return 0;
	if (io.timer_root == NULL)
		return -1;
	left = io.timer_root->when - pnc_clock_ms();
	if (left <= 0)
		return 0;
	return left > 60000 ? 60000 : (int) left;
}

static void
io_run_timers(void)
{
	int64_t now = pnc_clock_ms();

	pnc_mtx_lock(&io.mtx);
	for (;;) {
		pnc_timer *t = io.timer_root;
		if (t == NULL || t->when > now)
			break;
		timer_heap_remove(t);
		pnc_mtx_unlock(&io.mtx);
		t->cb(t->arg);
		pnc_mtx_lock(&io.mtx);
	}
	pnc_mtx_unlock(&io.mtx);
}

/*
 * Runs the tasks posted before it started; those posted meanwhile wait for
 * the next turn, after a look at the descriptors.  A sender that posts a
 * flush per burst would otherwise keep the thread here for good, and no
 * connection would be accepted or read in the meantime.  The batch is a
 * list touched only under io.mtx, as io.tasks is, and pnc_task_post sees a
 * task of it as queued until it ran.
 */
static void
io_run_tasks(void)
{
	pnc_list batch;

	pnc_mtx_lock(&io.mtx);
	pnc_list_move_all(&batch, &io.tasks);
	for (;;) {
		pnc_node *n = pnc_list_first(&batch);
		pnc_task *t;
		if (n == NULL)
			break;
		pnc_list_remove(n);
		t = PNC_CONTAINER(n, pnc_task, node);
		pnc_mtx_unlock(&io.mtx);
		t->cb(t->arg);
		pnc_mtx_lock(&io.mtx);
	}
	pnc_mtx_unlock(&io.mtx);
}

/* io locked: what is asked for is watched, level-triggered. */
static void
pollfd_rearm_locked(pnc_pollfd *pfd)
{
	if (pfd->fd != PNC_FD_NONE && pfd->armed != pfd->events)
		pollfd_arm_locked(pfd, pfd->events, 0);
}

void
pnc_pollfd_rearm(pnc_pollfd *pfd)
{
	if (!pollfd_oneshot(pfd))
		return; /* io.ops is this thread's to change */
	pnc_mtx_lock(&io.mtx);
	pollfd_rearm_locked(pfd);
	pnc_mtx_unlock(&io.mtx);
}

/* One event of a descriptor; see "One-shot descriptors" above. */
static void
io_dispatch(pnc_pollfd *pfd, unsigned events)
{
	if (pollfd_oneshot(pfd)) {
		pnc_mtx_lock(&io.mtx);
		if (pfd->armed_once)
			pfd->armed = 0;
		events &= pfd->events | PNC_POLL_ERR;
		if (events == 0)
			pollfd_rearm_locked(pfd); /* no callback to do it */
		pnc_mtx_unlock(&io.mtx);
		if (events == 0)
			return;
	}
	pfd->cb(pfd, events);
}

static void
io_main(void *arg)
{
	pnc_poll_event evs[256];

	(void) arg;
	for (;;) {
		int timeout, n;
		const pnc_poller_ops *ops;
		void *state;

		pnc_mtx_lock(&io.mtx);
		if (io.want_ops != NULL)
			io_switch_poller_locked();
		timeout = io_next_timeout_locked();
		io.sleep_until = timeout < 0 ? PNC_FOREVER : pnc_clock_ms() + timeout;
		ops = io.ops;
		state = io.state;
		pnc_mtx_unlock(&io.mtx);

		n = ops->wait(state, evs, 256, timeout);
		for (int i = 0; i < n; i++) {
			pnc_pollfd *pfd = evs[i].ptr;
			/*
			 * A descriptor deleted earlier in this round was
			 * marked; its memory is only freed by a task, which
			 * runs after this loop.
			 */
			if (pfd->fd != PNC_FD_NONE)
				io_dispatch(pfd, evs[i].events);
		}
		io_run_timers();
		io_run_tasks();
	}
}

static const pnc_poller_ops *
poller_by_name(const char *name)
{
	if (name == NULL || name[0] == '\0')
		return pnc_poller_native ? pnc_poller_native : &pnc_poller_poll;
	if (strcmp(name, "poll") == 0)
		return &pnc_poller_poll;
	if (pnc_poller_native != NULL && strcmp(name, pnc_poller_native->name) == 0)
		return pnc_poller_native;
	return NULL;
}

static void
io_forget_parent(void)
{
	/* The parent's I/O thread did not come along into this child. */
	pnc_mtx_init(&io.mtx);
	io.running = 0;
}

int
pnc_io_start(void)
{
	static int atfork_set;
	int rv = 0;

	pnc_mtx_lock(&io.mtx);
	if (io.running) {
		pnc_mtx_unlock(&io.mtx);
		return 0;
	}
	if (!atfork_set) {
		pnc_atfork_child(io_forget_parent);
		atfork_set = 1;
	}
	pnc_cv_init(&io.switched);
	pnc_list_init(&io.registry);
	io.timer_root = NULL; /* a forked child's parent-era timers are not its own */
	io.ntimers = 0;
	pnc_list_init(&io.tasks);
	if (io.want_ops == NULL)
		io.want_ops = poller_by_name(getenv("PYNNG_CORE_POLLER"));
	if (io.want_ops == NULL)
		io.want_ops = poller_by_name(NULL);
	io.ops = io.want_ops;
	io.want_ops = NULL;
	if ((rv = io.ops->open(&io.state)) != 0)
		goto out;
	if ((rv = pnc_wakefd_open(&io.wake)) != 0) {
		io.ops->close(io.state);
		goto out;
	}
	io.wake_pending = 0;
	io.wake_pfd.fd = pnc_wakefd_fd(&io.wake);
	io.wake_pfd.events = PNC_POLL_IN;
	io.wake_pfd.cb = io_wake_cb;
	io.wake_pfd.arg = NULL;
	io.ops->add(io.state, io.wake_pfd.fd, PNC_POLL_IN, &io.wake_pfd);
	pnc_list_append(&io.registry, &io.wake_pfd.node);
	if ((rv = pnc_thread_start(&io.thread, io_main, NULL)) != 0) {
		io.ops->close(io.state);
		pnc_wakefd_close(&io.wake);
		goto out;
	}
	io.running = 1;
	io.pid = pnc_process_id();
out:
	pnc_mtx_unlock(&io.mtx);
	return rv;
}

int
pnc_poller_set(const char *name)
{
	const pnc_poller_ops *ops = poller_by_name(name);

	if (ops == NULL)
		return PNC_ENOTSUP;
	pnc_mtx_lock(&io.mtx);
	io.want_ops = ops;
	if (io.running && !pnc_thread_is_self(&io.thread)) {
		/* Back only once every descriptor is on the new poller. */
		io_wake_locked();
		while (io.want_ops != NULL)
			pnc_cv_wait_until(&io.switched, &io.mtx, PNC_FOREVER);
	}
	pnc_mtx_unlock(&io.mtx);
	return 0;
}

const char *
pnc_poller_name(void)
{
	const char *name;

	pnc_mtx_lock(&io.mtx);
	if (io.want_ops != NULL)
		name = io.want_ops->name;
	else if (io.running)
		name = io.ops->name;
	else {
		const pnc_poller_ops *ops = poller_by_name(getenv("PYNNG_CORE_POLLER"));
		name = (ops ? ops : poller_by_name(NULL))->name;
	}
	pnc_mtx_unlock(&io.mtx);
	return name;
}
