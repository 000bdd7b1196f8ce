package network

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sidecar-mesh/mosn/pkg/hwaccel"
)

// Accepted is a connection between accept and its filter chain. Listener
// filters may replace Conn (a TLS inspector wraps it) or record where it was
// originally going (iptables REDIRECT).
type Accepted struct {
	Conn        net.Conn
	OriginalDst netip.AddrPort
}

// ListenerFilter runs on each accepted connection before it is handed on.
// It may block (to peek at the first bytes): listener filters run on the
// connection's own goroutine, not the accept loop. An error rejects the
// connection, which is closed.
type ListenerFilter interface {
	OnAccept(a *Accepted) error
}

// ListenerStats counts a listener's downstream connections. MOSN's metric
// names are in the comments.
type ListenerStats struct {
	IOStats                        // bytes_read_total, bytes_write_total
	ConnectionTotal   atomic.Int64 // connection_total
	ConnectionActive  atomic.Int64 // connection_active
	ConnectionDestroy atomic.Int64 // connection_destroy
	ConnectionReject  atomic.Int64 // refused over max_connections or by a listener filter
}

// ListenerOptions configure a Listener.
type ListenerOptions struct {
	Name    string
	Address string // "IP:PORT"; port 0 picks a free one
	// MaxConnections refuses connections beyond this many open ones; 0 is
	// unlimited.
	MaxConnections int
	Filters        []ListenerFilter
	// Conn configures each accepted connection; its Stats field is replaced
	// by the listener's own.
	Conn Options
	// OnConn installs the connection's filters. An error closes it.
	OnConn   func(c *Conn) error
	PacketIO hwaccel.PacketIO // nil means the kernel's sockets
	Logger   *slog.Logger
}

// Listener accepts connections on one address and hands each, through the
// listener filters, to OnConn. It keeps track of its connections so they can
// be drained.
type Listener struct {
	opts  ListenerOptions
	log   *slog.Logger
	ln    net.Listener
	stats ListenerStats

	mu        sync.Mutex
	conns     map[*Conn]struct{}
	accepting bool
	serving   bool          // Serve was called; set before the accept loop starts
	drained   chan struct{} // closed when conns empties while draining
	stopped   chan struct{} // closed when the accept loop exits
}

// NewListener makes a listener; nothing is bound until Listen.
func NewListener(opts ListenerOptions) *Listener {
	if opts.PacketIO == nil {
		opts.PacketIO = hwaccel.Kernel{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	l := &Listener{
		opts:    opts,
		log:     opts.Logger.With("listener", opts.Name),
		conns:   make(map[*Conn]struct{}),
		stopped: make(chan struct{}),
	}
	l.opts.Conn.Stats = &l.stats.IOStats
	l.opts.Conn.Logger = l.log
	return l
}

// Name is the listener's configured name.
func (l *Listener) Name() string { return l.opts.Name }

// Stats are the listener's counters.
func (l *Listener) Stats() *ListenerStats { return &l.stats }

// Listen binds the address.
func (l *Listener) Listen(ctx context.Context) error {
	ln, err := l.opts.PacketIO.Listen(ctx, l.opts.Address)
	if err != nil {
		return err
	}
	l.ln = ln
	return nil
}

// Addr is the bound address; nil before Listen.
func (l *Listener) Addr() net.Addr {
	if l.ln == nil {
		return nil
	}
	return l.ln.Addr()
}

// Serve starts accepting in the background.
func (l *Listener) Serve() {
	l.mu.Lock()
	l.accepting = true
	l.mu.Unlock()
	l.serving = true
	go l.acceptLoop()
}

func (l *Listener) acceptLoop() {
	defer close(l.stopped)
	var backoff time.Duration
	for {
		nc, err := l.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors and the like: wait and try again
			// rather than spin.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			l.log.Warn("accept failed; retrying", "err", err, "in", backoff)
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		if len(l.opts.Filters) == 0 {
			l.handle(&Accepted{Conn: nc})
		} else {
			go l.filterAndHandle(&Accepted{Conn: nc})
		}
	}
}

func (l *Listener) filterAndHandle(a *Accepted) {
	for _, f := range l.opts.Filters {
		if err := f.OnAccept(a); err != nil {
			l.stats.ConnectionReject.Add(1)
			l.log.Debug("listener filter rejected connection", "remote", a.Conn.RemoteAddr(), "err", err)
			a.Conn.Close()
			return
		}
	}
	l.handle(a)
}

func (l *Listener) handle(a *Accepted) {
	c := NewServerConn(a.Conn, l.opts.Conn)
	c.onClose = l.forget // before c is visible to CloseConns
	l.mu.Lock()
	switch {
	case !l.accepting:
		l.mu.Unlock()
		l.reject(a, "listener stopped accepting")
		return
	case l.opts.MaxConnections > 0 && len(l.conns) >= l.opts.MaxConnections:
		l.mu.Unlock()
		l.reject(a, "listener at max_connections")
		return
	}
	l.conns[c] = struct{}{}
	l.stats.ConnectionTotal.Add(1)
	l.stats.ConnectionActive.Add(1)
	l.mu.Unlock()
	if err := l.opts.OnConn(c); err != nil {
		l.log.Warn("connection setup failed", "remote", a.Conn.RemoteAddr(), "err", err)
		c.Close(CloseNoFlush)
		return
	}
	c.Start()
}

func (l *Listener) reject(a *Accepted, reason string) {
	l.stats.ConnectionReject.Add(1)
	l.log.Warn("connection refused: "+reason, "remote", a.Conn.RemoteAddr(), "max_connections", l.opts.MaxConnections)
	a.Conn.Close()
}

func (l *Listener) forget(c *Conn) {
	l.stats.ConnectionActive.Add(-1)
	l.stats.ConnectionDestroy.Add(1)
	l.mu.Lock()
	delete(l.conns, c)
	if len(l.conns) == 0 && l.drained != nil {
		close(l.drained)
		l.drained = nil
	}
	l.mu.Unlock()
}

// ActiveConns is the number of open connections.
func (l *Listener) ActiveConns() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.conns)
}

// StopAccepting closes the listening socket; open connections go on.
func (l *Listener) StopAccepting() {
	l.mu.Lock()
	l.accepting = false
	l.mu.Unlock()
	if l.ln == nil {
		return
	}
	l.ln.Close()
	if l.serving {
		<-l.stopped
	}
}

// Drain stops accepting, tells every connection (EventDrain), waits until
// every connection has closed or ctx is done, then closes whatever is left.
// It returns how many were closed by force.
func (l *Listener) Drain(ctx context.Context) int {
	l.StopAccepting()
	l.mu.Lock()
	var wait chan struct{}
	conns := make([]*Conn, 0, len(l.conns))
	for c := range l.conns {
		conns = append(conns, c)
	}
	if len(l.conns) > 0 {
		wait = make(chan struct{})
		l.drained = wait
	}
	l.mu.Unlock()
	for _, c := range conns {
		c.fire(EventDrain)
	}
	if wait != nil {
		select {
		case <-wait:
			return 0
		case <-ctx.Done():
		}
	}
	return l.CloseConns()
}

// CloseConns closes every open connection now and returns how many there were.
func (l *Listener) CloseConns() int {
	l.mu.Lock()
	conns := make([]*Conn, 0, len(l.conns))
	for c := range l.conns {
		conns = append(conns, c)
	}
	l.mu.Unlock()
	for _, c := range conns {
		c.Close(CloseNoFlush)
	}
	return len(conns)
}
