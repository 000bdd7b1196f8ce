package hwaccel

import (
	"context"
	"net"
)

// PacketIO opens stream sockets. The network layer listens and dials only
// through it, so that a kernel-bypass stack can replace the kernel's.
//
// Implementations must be safe for concurrent use.
type PacketIO interface {
	// Listen binds a stream listener on address ("IP:PORT"; port 0 picks a free one).
	Listen(ctx context.Context, address string) (net.Listener, error)
	// Dial connects to address; ctx bounds the connect.
	Dial(ctx context.Context, address string) (net.Conn, error)
	// Name identifies the backend in logs.
	Name() string
}

// Kernel is the default PacketIO: TCP sockets through the kernel and Go's
// runtime poller.
type Kernel struct{}

var _ PacketIO = Kernel{}

// Listen binds with SO_REUSEADDR (Go's default), so a restarted proxy can bind
// again while old connections sit in TIME_WAIT.
func (Kernel) Listen(ctx context.Context, address string) (net.Listener, error) {
	var lc net.ListenConfig
	return lc.Listen(ctx, "tcp", address)
}

// Dial connects over TCP with Nagle's algorithm off (Go's default), which a
// proxy wants: it forwards what it reads at once.
func (Kernel) Dial(ctx context.Context, address string) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, "tcp", address)
}

// Name returns "kernel".
func (Kernel) Name() string { return "kernel" }
