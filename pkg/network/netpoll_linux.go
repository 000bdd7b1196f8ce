//go:build linux

package network

import (
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// EventLoopModel reads connections from a few event loops instead of a
// goroutine each: every loop owns an epoll instance and one goroutine, and
// runs the read filters of all its connections inline, one at a time. It is
// what servers[].use_netpoll_mode selects.
//
// A connection's socket is registered edge-triggered for read readiness
// (EPOLLIN|EPOLLRDHUP|EPOLLET), once, when it starts. On readiness the loop
// reads until EAGAIN — into a pooled buffer taken only then, so an idle
// connection holds no buffer and no goroutine — and hands each read to the
// filters exactly as GoroutineModel does. Edge-triggering costs no epoll_ctl
// per event; the price is that the loop must remember what it left unread: a
// connection paused by SetReadDisable, or one that used up its turn (a loop
// reads at most a few buffers from one connection before serving the
// others), is queued and read again when resumed or on the next pass.
//
// While it has work a loop polls with timeout 0; when a poll finds nothing it
// yields once (runtime.Gosched) and polls again, and only then blocks. A loop
// that blocked in epoll_wait after every batch would hand its P to another
// thread each time, which measured +3 µs per request (docs/architecture.md);
// worse, a goroutine in a blocking system call keeps its P until the runtime's
// monitor takes it back, so with GOMAXPROCS=1 every other goroutine of the
// process waited up to milliseconds. So a loop never blocks in a system call:
// its epoll descriptor is itself registered with Go's runtime poller (an
// epoll set is readable while it has events), and an idle loop parks there
// like any goroutine waiting on a socket, holding no thread.
//
// Go's net.Conn keeps owning the socket: reads go through
// syscall.RawConn.Read (which holds a reference, so a concurrent Close cannot
// free the descriptor under the read), writes keep their own path, and a
// close removes the socket from the loop's epoll set (EPOLL_CTL_DEL) before
// the descriptor is closed. Connections without a socket of their own (TLS,
// pipes) fall back to a read goroutine.
//
// Filters run on the loop and must not block, which the ReadFilter contract
// already asks of every model; a filter that panics closes its connection
// and the loop goes on. Upstream connections can share the loop of the
// downstream connection that made them (SetAffinity), so that both sides of
// a proxied request are served without a goroutine switch.
//
// Why not github.com/mailru/easygo/netpoll, which the design named: its wait
// loop always blocks in epoll_wait(-1) (the +3 µs above), looks up a callback
// in a map under a lock per event, and netpoll.Handle duplicates every socket
// with File() — two descriptors per idle connection.
type EventLoopModel struct {
	loops []*eventLoop
	next  atomic.Uint32
	once  sync.Once
}

var _ IOModel = (*EventLoopModel)(nil)

// NewEventLoopModel starts n event loops; n <= 0 means one per GOMAXPROCS.
// Close stops them.
func NewEventLoopModel(n int) (*EventLoopModel, error) {
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	m := &EventLoopModel{}
	for range n {
		l, err := newEventLoop()
		if err != nil {
			m.Close()
			return nil, fmt.Errorf("event loop: %w", err)
		}
		m.loops = append(m.loops, l)
	}
	for _, l := range m.loops {
		go l.run()
	}
	return m, nil
}

// Loops is the number of event loops.
func (m *EventLoopModel) Loops() int { return len(m.loops) }

// Start runs c on one of the loops. Connections made with this model in
// their Options are given a loop when they are made; this is only reached
// by one that was not.
func (m *EventLoopModel) Start(c *Conn) {
	if l := m.pick(); l != nil {
		c.loop, c.model = l, l
		l.Start(c)
		return
	}
	GoroutineModel{}.Start(c)
}

// pick chooses a loop round robin, or nil when there is none.
func (m *EventLoopModel) pick() *eventLoop {
	if m == nil || len(m.loops) == 0 {
		return nil
	}
	return m.loops[(m.next.Add(1)-1)%uint32(len(m.loops))]
}

// Close stops the loops. Connections still on them are closed
// (EventLocalClose); connections started afterwards are closed at once.
func (m *EventLoopModel) Close() {
	m.once.Do(func() {
		for _, l := range m.loops {
			l.stop()
		}
	})
}

const (
	epollET    = 1 << 31 // syscall.EPOLLET, which is negative there
	readEvents = syscall.EPOLLIN | syscall.EPOLLRDHUP | epollET
	wakeSlot   = -1 // the epoll data of the loop's eventfd
	maxEvents  = 256
	// readBudget is how many reads a loop makes from one connection before
	// it serves the others; the rest waits for the loop's next pass.
	readBudget = 16
)

// loopState is the part of a Conn that its event loop owns.
type loopState struct {
	slot     int32 // index in the loop's conns, -1 while not registered
	started  bool  // registered (or skipped, if closed first)
	paused   bool  // the last read pass stopped for SetReadDisable
	readDone bool  // the peer finished sending or the read failed
	queued   bool  // in the loop's own run queue (readBudget spent)
	idle     *time.Timer

	starting atomic.Bool // Start was called
	idleDue  atomic.Bool // the idle timer fired

	readFn func(fd uintptr) bool
	n      int
	err    error
}

// eventLoop is one epoll instance and the goroutine that serves it. It is
// an IOModel of its own: Conn.IOModel returns it, so that a connection made
// with it joins the same loop.
type eventLoop struct {
	epfd      int
	ep        *os.File        // epfd, registered with Go's poller; closing it closes epfd
	epRaw     syscall.RawConn // parks the idle loop until epfd is readable
	nready    int             // events found by waitFn
	blockWait bool            // epfd is not pollable: park blocks in epoll_wait
	waitFn    func(fd uintptr) bool
	wakefd    int
	events    []syscall.EpollEvent
	conns     []*Conn // by slot; only the loop goroutine touches it
	free      []int32
	run1      []*Conn // tasks being run, swapped with tasks

	mu       sync.Mutex
	tasks    []*Conn // connections that want the loop's attention
	sleeping bool    // blocked in epoll_wait; a kick must write wakefd
	stopping bool
	closed   bool
	done     chan struct{}
	wake     [8]byte
}

var _ IOModel = (*eventLoop)(nil)

func newEventLoop() (*eventLoop, error) {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	// Non-blocking, so that os.NewFile registers it with the runtime poller.
	if err := syscall.SetNonblock(epfd, true); err != nil {
		syscall.Close(epfd)
		return nil, err
	}
	r, _, errno := syscall.Syscall(syscall.SYS_EVENTFD2, 0, syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if errno != 0 {
		syscall.Close(epfd)
		return nil, errno
	}
	l := &eventLoop{
		epfd:   epfd,
		ep:     os.NewFile(uintptr(epfd), "eventloop"),
		wakefd: int(r),
		events: make([]syscall.EpollEvent, maxEvents),
		done:   make(chan struct{}),
	}
	l.waitFn = l.pollReady
	binary.NativeEndian.PutUint64(l.wake[:], 1)
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: wakeSlot}
	err = syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, l.wakefd, &ev)
	if err == nil {
		l.epRaw, err = l.ep.SyscallConn()
	}
	if err != nil {
		l.ep.Close()
		syscall.Close(l.wakefd)
		return nil, err
	}
	return l, nil
}

// Start registers c with the loop; the loop runs OnNewConnection and starts
// reading. Connections without a socket of their own get a read goroutine.
func (l *eventLoop) Start(c *Conn) {
	if c.raw == nil {
		go c.serve()
		return
	}
	c.lp.starting.Store(true)
	if !l.kick(c) {
		c.closeWith(EventLocalClose) // the model was closed
	}
}

// kick asks the loop to look at c: to register it, resume reading it, check
// its idle timer, or forget it once closed. Safe from any goroutine; false
// means the loop has stopped.
func (l *eventLoop) kick(c *Conn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return false
	}
	l.tasks = append(l.tasks, c)
	if l.sleeping {
		l.sleeping = false
		syscall.Write(l.wakefd, l.wake[:])
	}
	return true
}

// detach removes c's socket from the epoll set and closes it; the loop
// forgets c on its next pass. Called once, by closeWith, on any goroutine.
func (l *eventLoop) detach(c *Conn) {
	l.mu.Lock()
	if !l.closed {
		// Under l.mu: epfd stays open (and is not some later descriptor).
		c.raw.Control(func(fd uintptr) {
			syscall.EpollCtl(l.epfd, syscall.EPOLL_CTL_DEL, int(fd), nil)
		})
	}
	l.mu.Unlock()
	c.nc.Close()
	l.kick(c)
}

func (l *eventLoop) stop() {
	l.mu.Lock()
	l.stopping = true
	syscall.Write(l.wakefd, l.wake[:])
	l.mu.Unlock()
	<-l.done
}

// run is the loop: poll, serve what is ready, run the queued tasks; poll
// without blocking while there is work, yield once when there is none, then
// block.
func (l *eventLoop) run() {
	defer close(l.done)
	empty := 0 // consecutive passes that found nothing to do
	for {
		sleep := false
		if empty >= 1 { // found nothing, yielded: park (whose first poll is this pass's)
			l.mu.Lock()
			if len(l.tasks) == 0 && !l.stopping {
				l.sleeping, sleep = true, true
			}
			l.mu.Unlock()
		}
		var n int
		if sleep {
			n = l.park()
			l.mu.Lock()
			l.sleeping = false
			l.mu.Unlock()
		} else {
			var err error
			if n, err = syscall.EpollWait(l.epfd, l.events, 0); err != nil {
				if err != syscall.EINTR {
					slog.Error("event loop: epoll_wait failed", "err", err)
				}
				n = 0
			}
		}
		for i := range n {
			slot := l.events[i].Fd
			if slot == wakeSlot {
				var b [8]byte
				syscall.Read(l.wakefd, b[:])
				continue
			}
			if c := l.conns[slot]; c != nil {
				l.serveReady(c)
			}
		}
		ran, stopping := l.runTasks()
		if stopping {
			l.shutdown()
			return
		}
		if n > 0 || ran {
			empty = 0
			continue
		}
		if empty++; empty == 1 {
			runtime.Gosched()
		}
	}
}

// park waits in Go's runtime poller until the epoll set has events, and
// returns how many it took into l.events.
func (l *eventLoop) park() int {
	l.nready = 0
	if !l.blockWait {
		err := l.epRaw.Read(l.waitFn)
		if err == nil {
			return l.nready
		}
		// Not pollable after all: block in the system call from now on.
		slog.Error("event loop: cannot wait in the runtime poller; blocking in epoll_wait", "err", err)
		l.blockWait = true
	}
	n, err := syscall.EpollWait(l.epfd, l.events, -1)
	if err != nil {
		return 0
	}
	return n
}

// pollReady is park's RawConn.Read callback: take the ready events without
// blocking; false means none yet, wait until the epoll set is readable.
func (l *eventLoop) pollReady(fd uintptr) bool {
	n, err := syscall.EpollWait(int(fd), l.events, 0)
	switch {
	case err == syscall.EINTR || err == nil && n == 0:
		return false
	case err != nil:
		return true
	}
	l.nready = n
	return true
}

// runTasks serves the kicked connections and reports whether there were
// any, and whether the loop is to stop.
func (l *eventLoop) runTasks() (ran, stopping bool) {
	l.mu.Lock()
	l.tasks, l.run1 = l.run1[:0], l.tasks
	stopping = l.stopping
	l.mu.Unlock()
	for i, c := range l.run1 {
		l.run1[i] = nil
		l.serveTask(c)
	}
	return len(l.run1) > 0, stopping
}

// shutdown closes every connection still on the loop, then the loop's
// descriptors.
func (l *eventLoop) shutdown() {
	for _, c := range l.conns {
		if c != nil {
			l.protect(c, func() { c.closeWith(EventLocalClose) })
		}
	}
	l.mu.Lock()
	l.closed = true
	l.tasks = nil
	l.mu.Unlock()
	for _, c := range l.conns {
		if c != nil {
			l.forget(c)
		}
	}
	l.ep.Close()
	syscall.Close(l.wakefd)
}

// protect runs fn for c and closes c if fn panics: one connection's filter
// never takes the loop down.
func (l *eventLoop) protect(c *Conn, fn func()) {
	defer func() {
		if r := recover(); r != nil {
			c.log.Error("connection handler panicked; closing", "conn", c.id, "panic", r)
			c.closeWith(EventLocalClose)
		}
	}()
	fn()
}

// serveReady handles read readiness of c.
func (l *eventLoop) serveReady(c *Conn) {
	defer l.recoverConn(c)
	l.readConn(c)
}

// serveTask handles a kick of c.
func (l *eventLoop) serveTask(c *Conn) {
	defer l.recoverConn(c)
	lp := &c.lp
	if c.Closed() {
		l.forget(c)
		return
	}
	if !lp.started {
		if lp.starting.Load() {
			lp.started = true
			l.register(c)
		}
		return
	}
	if lp.slot < 0 {
		return
	}
	lp.queued = false
	if lp.readDone {
		return // as under GoroutineModel, nothing times out after the read side ends
	}
	if lp.idleDue.Swap(false) && l.idleExpired(c) {
		return
	}
	if c.rdisable.Load() > 0 {
		return
	}
	if lp.paused {
		// Resumed: offer what was read and not consumed before the pause,
		// as GoroutineModel does, before reading more.
		lp.paused = false
		if c.rbuf != nil && c.rbuf.Len() > 0 {
			c.deliver(false)
		}
	}
	l.readConn(c)
}

func (l *eventLoop) recoverConn(c *Conn) {
	if r := recover(); r != nil {
		c.log.Error("connection handler panicked; closing", "conn", c.id, "panic", r)
		c.closeWith(EventLocalClose)
	}
}

// register adds c to the epoll set and runs its OnNewConnection.
func (l *eventLoop) register(c *Conn) {
	lp := &c.lp
	var slot int32
	if k := len(l.free); k > 0 {
		slot, l.free = l.free[k-1], l.free[:k-1]
	} else {
		slot = int32(len(l.conns))
		l.conns = append(l.conns, nil)
	}
	l.conns[slot] = c
	lp.slot = slot
	lp.readFn = c.readOnce
	var errCtl error
	ev := syscall.EpollEvent{Events: readEvents, Fd: slot}
	err := c.raw.Control(func(fd uintptr) {
		errCtl = syscall.EpollCtl(l.epfd, syscall.EPOLL_CTL_ADD, int(fd), &ev)
	})
	if err == nil {
		err = errCtl
	}
	if err != nil {
		if !c.Closed() {
			c.log.Warn("event loop: cannot register connection", "conn", c.id, "err", err)
			c.closeWith(EventLocalClose)
		}
		l.forget(c)
		return
	}
	if c.opts.IdleTimeout > 0 {
		lp.idle = time.AfterFunc(c.opts.IdleTimeout, c.idleFired)
	}
	c.newConnection()
	l.readConn(c) // bytes that came before the registration
}

// forget drops a closed c from the loop and returns its read buffer.
func (l *eventLoop) forget(c *Conn) {
	lp := &c.lp
	lp.started = true // a Start after the close does nothing
	if lp.slot >= 0 {
		l.conns[lp.slot] = nil
		l.free = append(l.free, lp.slot)
		lp.slot = -1
	}
	if lp.idle != nil {
		lp.idle.Stop()
		lp.idle = nil
	}
	if c.rbuf != nil {
		c.rbuf.Release()
		c.rbuf = nil
	}
}

// readConn reads c until the socket is drained, reading is paused, the peer
// finishes, or c has had its turn.
func (l *eventLoop) readConn(c *Conn) {
	lp := &c.lp
	for i := 0; ; i++ {
		if c.Closed() || lp.readDone {
			return
		}
		if c.rdisable.Load() > 0 {
			lp.paused = true
			return
		}
		if i == readBudget {
			if !lp.queued {
				lp.queued = true
				l.mu.Lock()
				l.tasks = append(l.tasks, c)
				l.mu.Unlock()
			}
			return
		}
		c.reserveRead()
		lp.n, lp.err = 0, nil
		if err := c.raw.Read(lp.readFn); err != nil {
			l.readEnd(c, err) // closed under us
			return
		}
		switch n, err := lp.n, lp.err; {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			c.dropEmptyReadBuffer()
			return
		case err != nil:
			l.readEnd(c, err)
			return
		case n == 0:
			l.readEnd(c, io.EOF)
			return
		default:
			c.received(n)
		}
	}
}

// readOnce is the RawConn.Read callback of the event loop: one non-blocking
// read, never a wait. Delivery happens outside it, so that a filter may
// close the connection (which waits for RawConn.Read to return).
func (c *Conn) readOnce(fd uintptr) bool {
	c.lp.n, c.lp.err = syscall.Read(int(fd), c.rbuf.spare())
	if c.lp.n < 0 {
		c.lp.n = 0
	}
	return true
}

// readEnd ends reading c: the same EOF, half-close and error handling as
// the goroutine model.
func (l *eventLoop) readEnd(c *Conn, err error) {
	c.lp.readDone = true
	c.readFailed(err)
	if c.rbuf != nil && !c.Closed() {
		c.rbuf.Release()
		c.rbuf = nil
	}
}

// idleFired runs on the timer's goroutine and hands the check to the loop.
func (c *Conn) idleFired() {
	if c.Closed() {
		return
	}
	c.lp.idleDue.Store(true)
	c.loop.kick(c)
}

// idleExpired closes c if nothing was read or written for its idle
// timeout, and otherwise re-arms the timer for the rest. A paused
// connection is not idle (the goroutine model does not read, and so does
// not time out, while paused).
func (l *eventLoop) idleExpired(c *Conn) bool {
	timeout := c.opts.IdleTimeout
	since := time.Since(time.Unix(0, c.lastActive.Load()))
	switch {
	case c.rdisable.Load() > 0:
		c.lp.idle.Reset(timeout)
		return false
	case since < timeout:
		c.lp.idle.Reset(timeout - since)
		return false
	}
	c.lp.readDone = true
	c.log.Debug("idle timeout", "conn", c.id, "timeout", timeout)
	c.fire(EventIdleTimeout)
	c.Close(CloseFlush)
	return true
}
