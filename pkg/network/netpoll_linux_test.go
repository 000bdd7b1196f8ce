//go:build linux

package network

import (
	"bytes"
	"io"
	"net"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// newTestLoops makes an EventLoopModel of two loops, closed when the test
// ends (after the listeners that startListener stops).
func newTestLoops(t *testing.T) IOModel {
	t.Helper()
	return newTestLoopsN(t, 2)
}

func newTestLoopsN(t *testing.T, n int) *EventLoopModel {
	t.Helper()
	m, err := NewEventLoopModel(n)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	return m
}

// panicky panics on data that starts with "boom" and echoes the rest.
type panicky struct{}

func (panicky) OnNewConnection(*Conn) FilterStatus { return Continue }
func (panicky) OnData(c *Conn, buf *Buffer, end bool) FilterStatus {
	if bytes.HasPrefix(buf.Bytes(), []byte("boom")) {
		panic("boom")
	}
	return echoFilter{}.OnData(c, buf, end)
}

// TestEventLoopFilterPanicClosesOnlyItsConn: a panicking filter closes its
// connection; the loop goes on serving the others.
func TestEventLoopFilterPanicClosesOnlyItsConn(t *testing.T) {
	t.Parallel()
	m := newTestLoopsN(t, 1)
	ev := newEvents()
	l := startListener(t, m, ListenerOptions{OnConn: func(c *Conn) error {
		c.AddReadFilter(panicky{})
		c.AddEventListener(ev)
		return nil
	}})
	good, bad := dial(t, l), dial(t, l)
	bad.Write([]byte("boom"))
	if _, err := bad.Read(make([]byte, 1)); err == nil {
		t.Fatal("the panicking connection was not closed")
	}
	ev.wait(t, EventLocalClose)
	good.Write([]byte("ping"))
	reply := make([]byte, 4)
	if _, err := io.ReadFull(good, reply); err != nil || string(reply) != "ping" {
		t.Fatalf("the other connection on the loop: %q, %v", reply, err)
	}
}

// TestEventLoopAffinity: a client connection joins its peer's loop with
// SetAffinity, or with the peer's IOModel in its Options.
func TestEventLoopAffinity(t *testing.T) {
	t.Parallel()
	m := newTestLoopsN(t, 4)
	conns := make(chan *Conn, 1)
	l := startListener(t, m, ListenerOptions{OnConn: func(c *Conn) error { conns <- c; return nil }})
	dial(t, l)
	down := <-conns
	for range 8 { // whatever round robin would have picked
		up := NewClientConn(l.Addr().String(), nil, Options{Model: m})
		up.SetAffinity(down)
		if up.IOModel() != down.IOModel() {
			t.Fatal("SetAffinity did not put the connection on its peer's loop")
		}
		up.Close(CloseNoFlush)
	}
	up := NewClientConn(l.Addr().String(), nil, Options{Model: down.IOModel()})
	defer up.Close(CloseNoFlush)
	if up.IOModel() != down.IOModel() {
		t.Fatal("Options.Model of a loop did not put the connection on that loop")
	}
	plain := NewClientConn(l.Addr().String(), nil, Options{})
	plain.SetAffinity(down)
	if _, ok := plain.IOModel().(GoroutineModel); !ok {
		t.Fatalf("SetAffinity changed a goroutine-model connection to %T", plain.IOModel())
	}
}

// TestEventLoopUpstreamOnSameLoop proxies through a client connection on the
// downstream connection's loop, the way the TCP proxy does: one loop serves
// both sides, and bytes flow both ways.
func TestEventLoopUpstreamOnSameLoop(t *testing.T) {
	t.Parallel()
	m := newTestLoopsN(t, 2)
	echo := startListener(t, GoroutineModel{}, ListenerOptions{OnConn: func(c *Conn) error {
		c.AddReadFilter(echoFilter{})
		return nil
	}})
	same := make(chan bool, 1)
	proxy := startListener(t, m, ListenerOptions{OnConn: func(down *Conn) error {
		up := NewClientConn(echo.Addr().String(), nil, Options{Model: m})
		up.SetAffinity(down)
		same <- up.IOModel() == down.IOModel()
		up.AddReadFilter(readFunc(func(_ *Conn, buf *Buffer, _ bool) FilterStatus {
			down.Write(buf.Retain())
			buf.Drain(buf.Len())
			return Stop
		}))
		down.AddReadFilter(readFunc(func(_ *Conn, buf *Buffer, _ bool) FilterStatus {
			up.Write(buf.Retain())
			buf.Drain(buf.Len())
			return Stop
		}))
		down.AddEventListener(EventFunc(func(_ *Conn, e Event) {
			if e.IsClose() {
				up.Close(CloseNoFlush)
			}
		}))
		up.Connect(5 * time.Second)
		return nil
	}})
	nc := dial(t, proxy)
	if !<-same {
		t.Fatal("the upstream connection is not on the downstream one's loop")
	}
	msg := bytes.Repeat([]byte("abcdefgh"), 64<<10) // 512 KiB, many reads
	go nc.Write(msg)
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(nc, got); err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("proxied %d bytes, err %v; want the %d sent", len(got), err, len(msg))
	}
}

// TestEventLoopCloseStopsEverything: closing the model closes the
// connections on it, and its goroutines and descriptors are gone.
func TestEventLoopCloseStopsEverything(t *testing.T) {
	// Not parallel: it counts the process's goroutines and descriptors.
	before, fdsBefore := runtime.NumGoroutine(), openFDs(t)
	m, err := NewEventLoopModel(3)
	if err != nil {
		t.Fatal(err)
	}
	ev := newEvents()
	l := NewListener(ListenerOptions{
		Name:    t.Name(),
		Address: "127.0.0.1:0",
		Conn:    Options{Model: m},
		OnConn:  func(c *Conn) error { c.AddReadFilter(echoFilter{}); c.AddEventListener(ev); return nil },
	})
	if err := l.Listen(t.Context()); err != nil {
		t.Fatal(err)
	}
	l.Serve()
	var clients []net.Conn
	for range 10 {
		nc, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		clients = append(clients, nc)
		nc.Write([]byte("x"))
		io.ReadFull(nc, make([]byte, 1))
	}
	l.StopAccepting()
	m.Close()
	for range clients {
		ev.wait(t, EventLocalClose)
	}
	waitFor(t, func() bool { return l.ActiveConns() == 0 })
	for _, nc := range clients {
		if _, err := nc.Read(make([]byte, 1)); err == nil {
			t.Fatal("a client connection is still served after Close")
		}
		nc.Close()
	}
	// A connection started on a closed model is closed at once.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	late := NewClientConn(ln.Addr().String(), nil, Options{Model: m})
	lev := newEvents()
	late.AddEventListener(lev)
	late.Connect(5 * time.Second)
	lev.wait(t, EventConnected)
	lev.wait(t, EventLocalClose)
	ln.Close()
	waitFor(t, func() bool { return runtime.NumGoroutine() <= before && openFDs(t) <= fdsBefore })
}

// openFDs counts the process's open descriptors.
func openFDs(t *testing.T) int {
	t.Helper()
	d, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd")
	}
	return len(d)
}

// TestReadDisableReoffersUnconsumed: bytes a filter left when it paused are
// offered again on resume, with no new bytes from the peer.
func TestReadDisableReoffersUnconsumed(t *testing.T) {
	t.Parallel()
	forModels(t, func(t *testing.T, m IOModel) {
		got := make(chan string, 4)
		l := startListener(t, m, ListenerOptions{OnConn: func(c *Conn) error {
			c.AddReadFilter(readFunc(func(c *Conn, buf *Buffer, _ bool) FilterStatus {
				// Take one line at a time; pause after each until a timer
				// resumes, like an HTTP/1 server between pipelined requests.
				i := bytes.IndexByte(buf.Bytes(), '\n')
				if i < 0 {
					return Stop
				}
				got <- string(buf.Bytes()[:i])
				buf.Drain(i + 1)
				c.SetReadDisable(true)
				time.AfterFunc(time.Millisecond, func() { c.SetReadDisable(false) })
				return Stop
			}))
			return nil
		}})
		nc := dial(t, l)
		nc.Write([]byte("one\ntwo\nthree\n")) // one write: the peer sends nothing more
		var lines []string
		for range 3 {
			select {
			case s := <-got:
				lines = append(lines, s)
			case <-time.After(10 * time.Second):
				t.Fatalf("after %q the rest was never offered again", lines)
			}
		}
		if strings.Join(lines, ",") != "one,two,three" {
			t.Fatalf("lines %q", lines)
		}
	})
}

// TestReadFilterAddedDuringDataTCP is TestReadFilterAddedDuringData over a
// socket, under both models.
func TestReadFilterAddedDuringDataTCP(t *testing.T) {
	t.Parallel()
	forModels(t, func(t *testing.T, m IOModel) {
		got := make(gather, 4)
		l := startListener(t, m, ListenerOptions{OnConn: func(c *Conn) error {
			c.AddReadFilter(&handOver{next: got})
			return nil
		}})
		dial(t, l).Write([]byte("first"))
		select {
		case s := <-got:
			if s != "first" {
				t.Fatalf("got %q", s)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the added filter never saw the first bytes")
		}
	})
}

// TestEventLoopFairness: a connection that never stops sending does not
// starve another one on the same loop.
func TestEventLoopFairness(t *testing.T) {
	t.Parallel()
	m := newTestLoopsN(t, 1)
	l := startListener(t, m, ListenerOptions{OnConn: func(c *Conn) error {
		c.AddReadFilter(readFunc(func(c *Conn, buf *Buffer, _ bool) FilterStatus {
			if bytes.HasPrefix(buf.Bytes(), []byte("ping")) {
				c.Write(NewBuffer([]byte("pong")))
			}
			buf.Drain(buf.Len())
			return Stop
		}))
		return nil
	}})
	flood := dial(t, l)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		chunk := make([]byte, 64<<10)
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := flood.Write(chunk); err != nil {
				return
			}
		}
	}()
	pinger := dial(t, l)
	reply := make([]byte, 4)
	for range 100 {
		pinger.Write([]byte("ping"))
		if _, err := io.ReadFull(pinger, reply); err != nil {
			t.Fatal(err)
		}
	}
}
