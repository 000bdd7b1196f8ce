package rpc

import (
	"net"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sidecar-mesh/mosn/pkg/network"
	"github.com/sidecar-mesh/mosn/pkg/protocol"
	"github.com/sidecar-mesh/mosn/pkg/protocol/bolt"
	"github.com/sidecar-mesh/mosn/pkg/protocol/rpc"
	"github.com/sidecar-mesh/mosn/pkg/stream"
)

// bound is how long a test waits for anything: long, so that a slow
// machine only makes a test slower.
const bound = 20 * time.Second

// upstream is a fake bolt server on 127.0.0.1:0: handle returns the frames
// to write back for each frame read.
type upstream struct {
	ln     net.Listener
	mu     sync.Mutex
	conns  []net.Conn
	frames chan rpc.Frame
}

func startUpstream(t *testing.T, handle func(f *rpc.Frame) []byte) *upstream {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := &upstream{ln: ln, frames: make(chan rpc.Frame, 256)}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u.mu.Lock()
			u.conns = append(u.conns, c)
			u.mu.Unlock()
			go func() {
				defer c.Close()
				var buf []byte
				var tmp [4096]byte
				for {
					n, err := c.Read(tmp[:])
					buf = append(buf, tmp[:n]...)
					for {
						var f rpc.Frame
						m, derr := (bolt.Codec{}).Decode(buf, &f, rpc.Limits{})
						if derr != nil {
							break
						}
						f.Body = append([]byte(nil), f.Body...)
						buf = buf[m:]
						u.frames <- f
						if out := handle(&f); out != nil {
							c.Write(out)
						}
					}
					if err != nil {
						return
					}
				}
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		u.mu.Lock()
		for _, c := range u.conns {
			c.Close()
		}
		u.mu.Unlock()
	})
	return u
}

func (u *upstream) accepted() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.conns)
}

func (u *upstream) next(t *testing.T) rpc.Frame {
	t.Helper()
	select {
	case f := <-u.frames:
		return f
	case <-time.After(bound):
		t.Fatal("the upstream read nothing")
		return rpc.Frame{}
	}
}

func join(bufs []*network.Buffer) []byte {
	var out []byte
	for _, b := range bufs {
		out = append(out, b.Bytes()...)
		b.Release()
	}
	return out
}

// answer replies to requests with their own request's x-reply header as
// content, and to heartbeats with an ack.
func answer(f *rpc.Frame) []byte {
	switch f.Kind {
	case rpc.KindHeartbeat:
		b := (bolt.Codec{}).EncodeHeartbeatAck(f)
		return join([]*network.Buffer{b})
	case rpc.KindRequest:
		v, _ := f.Headers.Get("x-reply")
		body := network.GetBuffer(len(v))
		body.Append(v)
		var h protocol.Headers
		return join((bolt.Codec{}).EncodeResponse(f, &h, body))
	}
	return nil
}

func dialer(addr string) stream.Dialer {
	return func() (*network.Conn, time.Duration, error) {
		return network.NewClientConn(addr, nil, network.Options{}), 5 * time.Second, nil
	}
}

// receiver records what a client stream receives.
type receiver struct {
	headers chan string // :status
	data    chan string
	reset   chan stream.ResetReason
}

func newReceiver() *receiver {
	return &receiver{headers: make(chan string, 4), data: make(chan string, 4), reset: make(chan stream.ResetReason, 4)}
}

func (r *receiver) OnHeaders(h *protocol.Headers, end bool) {
	v, _ := h.Get(protocol.Status)
	r.headers <- string(v)
	if end {
		r.data <- ""
	}
}
func (r *receiver) OnData(p []byte, end bool)         { r.data <- string(p) }
func (r *receiver) OnTrailers(*protocol.Headers)      {}
func (r *receiver) OnReset(reason stream.ResetReason) { r.reset <- reason }

func (r *receiver) body(t *testing.T) string {
	t.Helper()
	select {
	case s := <-r.data:
		return s
	case reason := <-r.reset:
		t.Fatalf("reset: %v", reason)
	case <-time.After(bound):
		t.Fatal("no response")
	}
	return ""
}

func send(t *testing.T, p *Pool, r stream.Receiver, reply string) stream.ClientStream {
	t.Helper()
	st, err := p.NewStream(r)
	if err != nil {
		t.Fatal(err)
	}
	var h protocol.Headers
	h.AddString("service", "s")
	h.AddString(rpc.HeaderRequestID, "7") // every caller used id 7
	h.AddString("x-reply", reply)
	st.SendHeaders(&h, true)
	return st
}

// TestPoolMultiplexes: requests from callers that all used id 7 get ids of
// their own upstream, on one connection, and answers that come back in
// reverse order reach their own callers.
func TestPoolMultiplexes(t *testing.T) {
	var held []*rpc.Frame
	var mu sync.Mutex
	u := startUpstream(t, func(f *rpc.Frame) []byte {
		mu.Lock()
		defer mu.Unlock()
		held = append(held, f)
		if len(held) < 10 {
			return nil
		}
		var out []byte
		for i := len(held) - 1; i >= 0; i-- {
			out = append(out, answer(held[i])...)
		}
		return out
	})
	p := NewPool(bolt.Codec{}, stream.PoolOptions{Dial: dialer(u.ln.Addr().String())}, Config{})
	defer p.Close()
	var rs []*receiver
	for i := range 10 {
		r := newReceiver()
		rs = append(rs, r)
		send(t, p, r, "reply "+strconv.Itoa(i))
	}
	ids := map[uint64]bool{}
	for range 10 {
		ids[u.next(t).ID] = true
	}
	if len(ids) != 10 {
		t.Fatalf("upstream ids %v, want 10 distinct", ids)
	}
	for i, r := range rs {
		if got := r.body(t); got != "reply "+strconv.Itoa(i) {
			t.Fatalf("caller %d got %q", i, got)
		}
	}
	if n := u.accepted(); n != 1 {
		t.Fatalf("%d connections", n)
	}
}

// TestPoolConns spreads requests over Config.Conns connections, and
// retires a connection after MaxRequestsPerConn.
func TestPoolConns(t *testing.T) {
	u := startUpstream(t, answer)
	p := NewPool(bolt.Codec{}, stream.PoolOptions{Dial: dialer(u.ln.Addr().String())}, Config{Conns: 3})
	for i := range 6 {
		r := newReceiver()
		send(t, p, r, strconv.Itoa(i))
		r.body(t)
	}
	if n := u.accepted(); n != 3 {
		t.Fatalf("%d connections, want 3", n)
	}
	p.Close()
	if _, err := p.NewStream(newReceiver()); err != stream.ErrPoolClosed {
		t.Fatalf("NewStream on a closed pool: %v", err)
	}

	u = startUpstream(t, answer)
	p = NewPool(bolt.Codec{}, stream.PoolOptions{Dial: dialer(u.ln.Addr().String()), MaxRequestsPerConn: 2}, Config{})
	defer p.Close()
	for i := range 5 {
		r := newReceiver()
		send(t, p, r, strconv.Itoa(i))
		if got := r.body(t); got != strconv.Itoa(i) {
			t.Fatalf("got %q", got)
		}
	}
	if n := u.accepted(); n != 3 {
		t.Fatalf("%d connections for 5 requests at 2 per connection, want 3", n)
	}
}

// TestPoolHeartbeats: an idle connection sends heartbeats; one whose
// heartbeat goes unanswered closes, failing what it carried, and the next
// request dials again.
func TestPoolHeartbeats(t *testing.T) {
	u := startUpstream(t, answer)
	// Answers never come too late: the timeout is the test's whole bound.
	p := NewPool(bolt.Codec{}, stream.PoolOptions{Dial: dialer(u.ln.Addr().String())}, Config{HeartbeatInterval: 20 * time.Millisecond, HeartbeatTimeout: bound})
	defer p.Close()
	r := newReceiver()
	send(t, p, r, "x")
	r.body(t)
	u.next(t) // the request
	for range 3 {
		if f := u.next(t); f.Kind != rpc.KindHeartbeat {
			t.Fatalf("idle connection sent a %v", f.Kind)
		}
	}
	if p.Conns() != 1 || u.accepted() != 1 {
		t.Fatalf("answered heartbeats: %d pooled, %d accepted", p.Conns(), u.accepted())
	}

	mute := startUpstream(t, func(f *rpc.Frame) []byte { return nil })
	p2 := NewPool(bolt.Codec{}, stream.PoolOptions{Dial: dialer(mute.ln.Addr().String())}, Config{HeartbeatInterval: 20 * time.Millisecond})
	defer p2.Close()
	r = newReceiver()
	send(t, p2, r, "never answered")
	select {
	case reason := <-r.reset:
		if reason != stream.ResetConnectionClosed {
			t.Fatalf("reset %v", reason)
		}
	case <-time.After(bound):
		t.Fatal("a connection with unanswered heartbeats stayed open")
	}
	send(t, p2, newReceiver(), "again")
	deadline := time.Now().Add(bound)
	for mute.accepted() < 2 {
		if time.Now().After(deadline) {
			t.Fatal("no reconnect")
		}
		mute.next(t)
	}
}

// TestClientStreamReset: a reset request's late answer is dropped and the
// connection goes on serving others.
func TestClientStreamReset(t *testing.T) {
	release := make(chan struct{})
	u := startUpstream(t, func(f *rpc.Frame) []byte {
		if v, _ := f.Headers.Get("x-reply"); string(v) == "slow" {
			<-release
		}
		return answer(f)
	})
	p := NewPool(bolt.Codec{}, stream.PoolOptions{Dial: dialer(u.ln.Addr().String())}, Config{})
	defer p.Close()
	slow := newReceiver()
	st := send(t, p, slow, "slow")
	u.next(t)
	st.Reset()
	close(release)
	r := newReceiver()
	send(t, p, r, "fast")
	if got := r.body(t); got != "fast" {
		t.Fatalf("got %q", got)
	}
	select {
	case <-slow.headers:
		t.Fatal("a reset stream got its answer")
	default:
	}
}

// TestOneway: a oneway request ends at once, with no answer awaited.
func TestOneway(t *testing.T) {
	u := startUpstream(t, func(*rpc.Frame) []byte { return nil })
	p := NewPool(bolt.Codec{}, stream.PoolOptions{Dial: dialer(u.ln.Addr().String())}, Config{})
	defer p.Close()
	r := newReceiver()
	st, _ := p.NewStream(r)
	var h protocol.Headers
	h.AddString(rpc.HeaderOneway, "1")
	st.SendHeaders(&h, true)
	if s := <-r.headers; s != "200" {
		t.Fatalf("status %q", s)
	}
	if f := u.next(t); f.Kind != rpc.KindOneway {
		t.Fatalf("sent a %v", f.Kind)
	}
}

// TestConnectFailure resets with ResetConnectFailure and Unprocessed.
func TestConnectFailure(t *testing.T) {
	addr := refusingAddr(t)
	p := NewPool(bolt.Codec{}, stream.PoolOptions{Dial: dialer(addr)}, Config{})
	defer p.Close()
	r := newReceiver()
	st := send(t, p, r, "x")
	select {
	case reason := <-r.reset:
		if reason != stream.ResetConnectFailure || !st.Unprocessed() {
			t.Fatalf("reset %v, unprocessed %v", reason, st.Unprocessed())
		}
	case <-time.After(bound):
		t.Fatal("no reset")
	}
}

// refusingAddr is an address that refuses connections: a socket bound to
// 127.0.0.1:0 that never listens, held for the test so nobody else can.
func refusingAddr(t *testing.T) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	return "127.0.0.1:" + strconv.Itoa(sa.(*syscall.SockaddrInet4).Port)
}

// TestClientStreamTooLarge: a body larger than a frame may carry resets
// the request rather than sending it.
func TestClientStreamTooLarge(t *testing.T) {
	u := startUpstream(t, answer)
	p := NewPool(bolt.Codec{}, stream.PoolOptions{Dial: dialer(u.ln.Addr().String()), Limits: stream.Limits{MaxBodyBytes: 1}}, Config{})
	defer p.Close()
	r := newReceiver()
	st, _ := p.NewStream(r)
	var h protocol.Headers
	h.AddString("service", "s")
	st.SendHeaders(&h, false)
	body := network.GetBuffer(100 << 10)
	body.Append(make([]byte, 100<<10))
	if err := st.SendData(body, true); err != rpc.ErrTooLarge {
		t.Fatalf("SendData: %v", err)
	}
	select {
	case reason := <-r.reset:
		if reason != stream.ResetLocal {
			t.Fatalf("reset %v", reason)
		}
	case <-time.After(bound):
		t.Fatal("no reset")
	}
	// The connection still serves others.
	r2 := newReceiver()
	send(t, p, r2, "after")
	if got := r2.body(t); got != "after" {
		t.Fatalf("got %q", got)
	}
}

// TestPoolConcurrentFirstRequests: callers arriving together at an empty
// pool share the one connection it may open.
func TestPoolConcurrentFirstRequests(t *testing.T) {
	u := startUpstream(t, answer)
	p := NewPool(bolt.Codec{}, stream.PoolOptions{Dial: dialer(u.ln.Addr().String())}, Config{})
	defer p.Close()
	var wg sync.WaitGroup
	rs := make([]*receiver, 50)
	for i := range rs {
		rs[i] = newReceiver()
		wg.Go(func() { send(t, p, rs[i], strconv.Itoa(i)) })
	}
	wg.Wait()
	for i, r := range rs {
		if got := r.body(t); got != strconv.Itoa(i) {
			t.Fatalf("caller %d got %q", i, got)
		}
	}
	if n := u.accepted(); n != 1 {
		t.Fatalf("%d connections for callers arriving together, want 1", n)
	}
}
