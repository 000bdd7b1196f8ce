package test

// What connections cost and whether they give it all back: goroutines and
// file descriptors, counted for the whole process. These tests do not call
// t.Parallel: Go runs every non-parallel top-level test before releasing the
// parallel ones, so nothing else in the process opens sockets or starts
// goroutines while they count.

import (
	"fmt"
	"io"
	"net"
	"runtime"
	"runtime/debug"
	"sync"
	"syscall"
	"testing"
	"time"
)

// goroutineSlack is what the runtime and the testing package may start or
// end on their own between two counts: a few, never one per connection.
const goroutineSlack = 5

// needFDs skips the test where /proc/self/fd is missing or the process may not
// open n more descriptors.
func needFDs(t *testing.T, n int) {
	t.Helper()
	total, _, _, ok := fdCounts()
	if !ok {
		t.Skip("no /proc/self/fd to count descriptors in")
	}
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err == nil && lim.Cur < uint64(total+n) {
		t.Skipf("RLIMIT_NOFILE is %d; the test needs %d descriptors more than the %d open", lim.Cur, n, total)
	}
}

// TestThousandConnectionsLeakNothing opens 1,000 connections through the
// proxy at once, makes a round trip on each, closes them all (half with a
// reset), and checks that the process's goroutines and descriptors return
// to what they were.
func TestThousandConnectionsLeakNothing(t *testing.T) {
	const n = 1000
	needFDs(t, 4*n+100)
	// With the collector off, a socket the proxy forgets to close stays
	// open instead of being closed by its finalizer, and is counted.
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	b := startBackend(t, echo)
	srv := startInProcess(t, proxyConfig(t, b.addr()))
	ls, cs := srv.listener(0), srv.cluster(t, "backend")

	goroutines := runtime.NumGoroutine()
	fds, _, _, _ := fdCounts()

	conns := openEchoConns(t, srv.addr(0), n)
	if got := ls.ConnectionActive.Load(); got != n {
		t.Errorf("with all open: listener connection_active = %d, want %d", got, n)
	}
	closeHalfAbortively(conns)

	waitUntil(t, "the listener's active connections to drop to 0", func() bool { return ls.ConnectionActive.Load() == 0 })
	waitUntil(t, "the cluster's active connections to drop to 0", func() bool { return cs.ConnectionActive.Load() == 0 })
	waitUntil(t, "the backend's connections to close", func() bool { return b.open() == 0 })
	if got := ls.ConnectionTotal.Load(); got != n {
		t.Errorf("listener connection_total = %d, want %d", got, n)
	}
	if got := ls.ConnectionDestroy.Load(); got != n {
		t.Errorf("listener connection_destroy = %d, want %d", got, n)
	}
	if got := cs.ConnectionTotal.Load(); got != n {
		t.Errorf("cluster connection_total = %d, want %d", got, n)
	}
	settle(t, goroutines, fds)
}

// openEchoConns opens n connections to addr at once (64 dials in flight),
// makes one echo round trip on each, and returns them all open; a
// connection that failed is nil, and the failure is reported.
func openEchoConns(t *testing.T, addr string, n int) []net.Conn {
	t.Helper()
	conns := make([]net.Conn, n)
	errs := make(chan error, n)
	sem := make(chan struct{}, 64)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			c, err := net.DialTimeout("tcp", addr, waitBound)
			if err != nil {
				errs <- err
				return
			}
			conns[i] = c
			c.SetDeadline(time.Now().Add(waitBound))
			msg := fmt.Sprintf("conn %04d", i)
			got := make([]byte, len(msg))
			if _, err := c.Write([]byte(msg)); err != nil {
				errs <- fmt.Errorf("conn %d: write: %v", i, err)
				return
			}
			if _, err := io.ReadFull(c, got); err != nil || string(got) != msg {
				errs <- fmt.Errorf("conn %d: read back %q, %v; want %q", i, got, err, msg)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	return conns
}

// closeHalfAbortively closes half of conns cleanly (FIN) and half with a
// reset (RST): the proxy's error path must free a connection pair as fully
// as the orderly one.
func closeHalfAbortively(conns []net.Conn) {
	for i, c := range conns {
		if c == nil {
			continue
		}
		if i%2 == 1 {
			c.(*net.TCPConn).SetLinger(0)
		}
		c.Close()
	}
}

// settle waits until the process is back to at most goroutines (plus a few)
// and exactly fds descriptors, and reports what is left if it never gets
// there.
func settle(t *testing.T, goroutines, fds int) {
	t.Helper()
	var g, f int
	ctxDone := time.After(waitBound)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		g = runtime.NumGoroutine()
		f, _, _, _ = fdCounts()
		if g <= goroutines+goroutineSlack && f <= fds {
			return
		}
		select {
		case <-ctxDone:
			var stacks []byte
			if g > goroutines+goroutineSlack {
				stacks = make([]byte, 1<<20)
				stacks = stacks[:runtime.Stack(stacks, true)]
			}
			t.Fatalf("after closing every connection: %d goroutines (had %d) and %d descriptors (had %d)\n%s", g, goroutines, f, fds, stacks)
		case <-tick.C:
		}
	}
}

// TestIdleConnectionsCostTwoSockets holds 200 idle proxied connections after
// one round trip each: every pair costs exactly four descriptors (the client
// socket, the proxy's downstream and upstream sockets, the backend's
// accepted socket), no pipes (no splice), two proxy goroutines and one for
// the backend's handler, and no queued bytes.
func TestIdleConnectionsCostTwoSockets(t *testing.T) {
	const n = 200
	needFDs(t, 4*n+100)
	b := startBackend(t, echo)
	srv := startInProcess(t, proxyConfig(t, b.addr()))
	ls, cs := srv.listener(0), srv.cluster(t, "backend")

	goroutines := runtime.NumGoroutine()
	fds, pipes, sockets, _ := fdCounts()
	conns := make([]net.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := range n {
		c, err := net.DialTimeout("tcp", srv.addr(0), waitBound)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		roundTrip(t, c, fmt.Sprintf("idle %03d", i))
	}

	gotFDs, gotPipes, gotSockets, _ := fdCounts()
	if d := gotFDs - fds; d != 4*n {
		t.Errorf("descriptors grew by %d for %d idle pairs, want exactly %d (4 each)", d, n, 4*n)
	}
	if d := gotSockets - sockets; d != 4*n {
		t.Errorf("sockets grew by %d, want %d", d, 4*n)
	}
	if gotPipes != pipes {
		t.Errorf("pipes: %d before, %d with %d idle connections: want none added", pipes, gotPipes, n)
	}
	if d := runtime.NumGoroutine() - goroutines; d > 3*n+goroutineSlack {
		t.Errorf("goroutines grew by %d for %d idle pairs, want at most %d (2 in the proxy and the backend's handler, each)", d, n, 3*n)
	}
	if q := ls.BytesBuffered.Load() + cs.BytesBuffered.Load(); q != 0 {
		t.Errorf("%d bytes queued in the proxy with every connection idle, want 0", q)
	}
	if got := ls.ConnectionActive.Load(); got != n {
		t.Errorf("listener connection_active = %d, want %d", got, n)
	}
}
