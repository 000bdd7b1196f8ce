package network

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// echoFilter writes back whatever it reads, without copying.
type echoFilter struct{}

func (echoFilter) OnNewConnection(*Conn) FilterStatus { return Continue }
func (echoFilter) OnData(c *Conn, buf *Buffer, end bool) FilterStatus {
	if buf.Len() > 0 {
		c.Write(buf.Retain())
		buf.Drain(buf.Len())
	}
	if end {
		c.CloseWrite()
	}
	return Stop
}

// events records a connection's events and lets a test wait for one.
type events struct {
	mu   sync.Mutex
	seen []Event
	ch   chan Event
}

func newEvents() *events { return &events{ch: make(chan Event, 64)} }

func (e *events) OnEvent(_ *Conn, ev Event) {
	e.mu.Lock()
	e.seen = append(e.seen, ev)
	e.mu.Unlock()
	e.ch <- ev
}

func (e *events) wait(t *testing.T, want Event) {
	t.Helper()
	e.waitMatch(t, want.String(), func(ev Event) bool { return ev == want })
}

func (e *events) waitClose(t *testing.T) {
	t.Helper()
	e.waitMatch(t, "close", Event.IsClose)
}

func (e *events) waitMatch(t *testing.T, what string, match func(Event) bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		select {
		case ev := <-e.ch:
			if match(ev) {
				return
			}
		case <-ctx.Done():
			e.mu.Lock()
			defer e.mu.Unlock()
			t.Fatalf("no %s event; saw %v", what, e.seen)
		}
	}
}

func (e *events) count(ev Event) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for _, s := range e.seen {
		if s == ev {
			n++
		}
	}
	return n
}

// forModels runs test once per IOModel: GoroutineModel, and an
// EventLoopModel of two loops made for the test and closed after it.
func forModels(t *testing.T, test func(t *testing.T, m IOModel)) {
	t.Helper()
	t.Run("goroutine", func(t *testing.T) {
		t.Parallel()
		test(t, GoroutineModel{})
	})
	t.Run("eventloop", func(t *testing.T) {
		t.Parallel()
		test(t, newTestLoops(t))
	})
}

// startListener serves on 127.0.0.1:0 under model m, with setup installing each
// connection's filters, and stops when the test ends.
func startListener(t *testing.T, m IOModel, opts ListenerOptions) *Listener {
	t.Helper()
	opts.Conn.Model = m
	opts.Address = "127.0.0.1:0"
	if opts.Name == "" {
		opts.Name = t.Name()
	}
	l := NewListener(opts)
	if err := l.Listen(context.Background()); err != nil {
		t.Fatal(err)
	}
	l.Serve()
	t.Cleanup(func() {
		l.StopAccepting()
		l.CloseConns()
	})
	return l
}

func dial(t *testing.T, l *Listener) *net.TCPConn {
	t.Helper()
	nc, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return nc.(*net.TCPConn)
}

func TestConnEchoAndHalfClose(t *testing.T) {
	t.Parallel()
	forModels(t, func(t *testing.T, m IOModel) {
		ev := newEvents()
		l := startListener(t, m, ListenerOptions{OnConn: func(c *Conn) error {
			c.EnableHalfClose()
			c.AddReadFilter(echoFilter{})
			c.AddEventListener(ev)
			return nil
		}})
		nc := dial(t, l)
		msg := bytes.Repeat([]byte("0123456789"), 10000) // several reads' worth
		go func() {
			nc.Write(msg)
			nc.CloseWrite() // half-close: we are done sending, not receiving
		}()
		got, err := io.ReadAll(nc) // ends at the proxy's FIN, sent after the echo
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, msg) {
			t.Fatalf("echoed %d bytes, want %d identical ones", len(got), len(msg))
		}
		ev.waitClose(t)
		if n := ev.count(EventLocalClose) + ev.count(EventRemoteClose); n != 1 {
			t.Fatalf("close events = %d, want exactly 1", n)
		}
		st := l.Stats()
		if st.BytesRead.Load() != int64(len(msg)) || st.BytesWritten.Load() != int64(len(msg)) {
			t.Fatalf("bytes read/written = %d/%d, want %d both", st.BytesRead.Load(), st.BytesWritten.Load(), len(msg))
		}
	})
}

func TestConnWritesBuffersInOrder(t *testing.T) {
	t.Parallel()
	forModels(t, func(t *testing.T, m IOModel) {
		l := startListener(t, m, ListenerOptions{OnConn: func(c *Conn) error {
			bufs := make([]*Buffer, 0, 100)
			for i := range 100 {
				b := GetBuffer(8)
				b.AppendString(string(rune('a' + i%26)))
				bufs = append(bufs, b)
			}
			c.Write(bufs...)
			c.Close(CloseFlush)
			return nil
		}})
		got, err := io.ReadAll(dial(t, l))
		if err != nil {
			t.Fatal(err)
		}
		var want bytes.Buffer
		for i := range 100 {
			want.WriteRune(rune('a' + i%26))
		}
		if string(got) != want.String() {
			t.Fatalf("got %q, want %q", got, want.String())
		}
	})
}

func TestConnBackPressure(t *testing.T) {
	t.Parallel()
	forModels(t, func(t *testing.T, m IOModel) {
		const limit = 64 << 10
		ev := newEvents()
		conns := make(chan *Conn, 1)
		l := startListener(t, m, ListenerOptions{
			Conn: Options{BufferLimit: limit},
			OnConn: func(c *Conn) error {
				c.AddEventListener(ev)
				conns <- c
				return nil
			},
		})
		nc := dial(t, l)
		c := <-conns
		// The peer does not read: the kernel's buffers fill, then our queue.
		chunk := bytes.Repeat([]byte{'z'}, 16<<10)
		written := 0
		for c.PendingBytes() <= limit {
			b := GetBuffer(len(chunk))
			b.Append(chunk)
			if err := c.Write(b); err != nil {
				t.Fatal(err)
			}
			written += len(chunk)
			if written > 64<<20 {
				t.Fatal("64 MiB written and the queue never grew: no back-pressure")
			}
		}
		ev.wait(t, EventWriteBufferHigh)
		if got := c.PendingBytes(); got > limit+len(chunk) {
			t.Fatalf("queued %d bytes, more than the limit plus one write", got)
		}
		// Now the peer reads everything; the queue drains and Low fires.
		go io.CopyN(io.Discard, nc, int64(written))
		ev.wait(t, EventWriteBufferLow)
	})
}

func TestConnReadDisable(t *testing.T) {
	t.Parallel()
	forModels(t, func(t *testing.T, m IOModel) {
		got := make(chan string, 4)
		conns := make(chan *Conn, 1)
		l := startListener(t, m, ListenerOptions{OnConn: func(c *Conn) error {
			c.AddReadFilter(readFunc(func(c *Conn, buf *Buffer, _ bool) FilterStatus {
				got <- string(buf.Bytes())
				buf.Drain(buf.Len())
				return Continue
			}))
			c.SetReadDisable(true)
			conns <- c
			return nil
		}})
		nc := dial(t, l)
		c := <-conns
		nc.Write([]byte("held"))
		// Nothing may arrive while reading is paused. Prove it by round-tripping
		// through a second connection, which is served by the same listener.
		other := dial(t, l)
		other.Write([]byte("x"))
		(<-conns).SetReadDisable(false)
		if s := <-got; s != "x" {
			t.Fatalf("first delivery %q, want the unpaused connection's %q", s, "x")
		}
		c.SetReadDisable(false)
		if s := <-got; s != "held" {
			t.Fatalf("after resume got %q, want %q", s, "held")
		}
	})
}

type readFunc func(c *Conn, buf *Buffer, end bool) FilterStatus

func (readFunc) OnNewConnection(*Conn) FilterStatus { return Continue }
func (f readFunc) OnData(c *Conn, buf *Buffer, end bool) FilterStatus {
	return f(c, buf, end)
}

func TestConnIdleTimeout(t *testing.T) {
	t.Parallel()
	forModels(t, func(t *testing.T, m IOModel) {
		ev := newEvents()
		l := startListener(t, m, ListenerOptions{
			Conn:   Options{IdleTimeout: 50 * time.Millisecond},
			OnConn: func(c *Conn) error { c.AddEventListener(ev); return nil },
		})
		nc := dial(t, l)
		ev.wait(t, EventIdleTimeout)
		ev.wait(t, EventLocalClose)
		if _, err := nc.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
			t.Fatalf("read after idle close: %v, want EOF", err)
		}
	})
}

func TestClientConnectFailed(t *testing.T) {
	t.Parallel()
	forModels(t, func(t *testing.T, m IOModel) {
		// A port that was just free refuses connections.
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		c := NewClientConn(addr, nil, Options{Model: m})
		ev := newEvents()
		c.AddEventListener(ev)
		c.Connect(time.Second)
		ev.wait(t, EventConnectFailed)
		if !c.Closed() {
			t.Fatal("connection not closed after a failed connect")
		}
		if err := c.Write(NewBuffer([]byte("x"))); !errors.Is(err, ErrClosed) {
			t.Fatalf("Write after failed connect = %v, want ErrClosed", err)
		}
	})
}

func TestClientWriteBeforeConnected(t *testing.T) {
	t.Parallel()
	forModels(t, func(t *testing.T, m IOModel) {
		l := startListener(t, m, ListenerOptions{OnConn: func(c *Conn) error {
			c.AddReadFilter(echoFilter{})
			return nil
		}})
		c := NewClientConn(l.Addr().String(), nil, Options{Model: m})
		got := make(chan string, 1)
		c.AddReadFilter(readFunc(func(c *Conn, buf *Buffer, _ bool) FilterStatus {
			if buf.Len() >= 5 {
				got <- string(buf.Bytes())
				buf.Drain(buf.Len())
			}
			return Continue
		}))
		c.Write(NewBuffer([]byte("early")))
		c.Connect(5 * time.Second)
		defer c.Close(CloseNoFlush)
		if s := <-got; s != "early" {
			t.Fatalf("echo of a write queued before connect = %q", s)
		}
	})
}

func TestListenerMaxConnectionsAndDrain(t *testing.T) {
	t.Parallel()
	forModels(t, func(t *testing.T, m IOModel) {
		l := startListener(t, m, ListenerOptions{
			MaxConnections: 2,
			OnConn:         func(c *Conn) error { return nil },
		})
		a, b := dial(t, l), dial(t, l)
		a.Write([]byte("1"))
		b.Write([]byte("2"))
		waitFor(t, func() bool { return l.ActiveConns() == 2 })
		third := dial(t, l)
		if _, err := third.Read(make([]byte, 1)); err == nil {
			t.Fatal("third connection was served beyond max_connections")
		}
		waitFor(t, func() bool { return l.Stats().ConnectionReject.Load() == 1 })

		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		if forced := l.Drain(ctx); forced != 2 {
			t.Fatalf("Drain closed %d connections by force, want 2", forced)
		}
		waitFor(t, func() bool { return l.ActiveConns() == 0 })
		if _, err := net.Dial("tcp", l.Addr().String()); err == nil {
			t.Fatal("listener still accepts after Drain")
		}
		st := l.Stats()
		if st.ConnectionTotal.Load() != 2 || st.ConnectionDestroy.Load() != 2 || st.ConnectionActive.Load() != 0 {
			t.Fatalf("total/destroy/active = %d/%d/%d, want 2/2/0",
				st.ConnectionTotal.Load(), st.ConnectionDestroy.Load(), st.ConnectionActive.Load())
		}
	})
}

// waitFor polls cond until it holds, failing the test after 10 seconds.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 10s")
		}
		time.Sleep(time.Millisecond)
	}
}

// BenchmarkConnEcho measures one small request/response through a Conn
// with an echo filter: a read, a filter call and a writev per round trip.
func BenchmarkConnEcho(b *testing.B) {
	b.Run("goroutine", func(b *testing.B) { benchmarkConnEcho(b, GoroutineModel{}) })
	b.Run("eventloop", func(b *testing.B) {
		m, err := NewEventLoopModel(1)
		if err != nil {
			b.Skip(err)
		}
		defer m.Close()
		benchmarkConnEcho(b, m)
	})
}

func benchmarkConnEcho(b *testing.B, m IOModel) {
	l := NewListener(ListenerOptions{
		Name:    "bench",
		Address: "127.0.0.1:0",
		Conn:    Options{Model: m},
		OnConn:  func(c *Conn) error { c.AddReadFilter(echoFilter{}); return nil },
	})
	if err := l.Listen(context.Background()); err != nil {
		b.Fatal(err)
	}
	l.Serve()
	defer l.CloseConns()
	defer l.StopAccepting()
	nc, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	msg, reply := make([]byte, 64), make([]byte, 64)
	b.ReportAllocs()
	for b.Loop() {
		nc.Write(msg)
		if _, err := io.ReadFull(nc, reply); err != nil {
			b.Fatal(err)
		}
	}
}

// handOver is a read filter that, on its first data, adds next to the chain
// and lets it take the same bytes.
type handOver struct {
	next   ReadFilter
	handed bool
}

func (h *handOver) OnNewConnection(*Conn) FilterStatus { return Continue }

func (h *handOver) OnData(c *Conn, _ *Buffer, _ bool) FilterStatus {
	if !h.handed {
		h.handed = true
		c.AddReadFilter(h.next)
	}
	return Continue
}

// gather is a read filter that consumes everything into a channel.
type gather chan string

func (g gather) OnNewConnection(*Conn) FilterStatus { return Continue }

func (g gather) OnData(_ *Conn, buf *Buffer, _ bool) FilterStatus {
	if buf.Len() > 0 {
		g <- string(buf.Bytes())
		buf.Drain(buf.Len())
	}
	return Stop
}

// TestReadFilterAddedDuringData: a filter added from OnData is offered the
// bytes of that same read, without waiting for more.
func TestReadFilterAddedDuringData(t *testing.T) {
	a, b := net.Pipe()
	defer b.Close()
	got := make(gather, 4)
	c := NewServerConn(a, Options{})
	c.AddReadFilter(&handOver{next: got})
	c.Start()
	defer c.Close(CloseNoFlush)
	go b.Write([]byte("first"))
	select {
	case s := <-got:
		if s != "first" {
			t.Fatalf("got %q", s)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the added filter never saw the first bytes")
	}
}
