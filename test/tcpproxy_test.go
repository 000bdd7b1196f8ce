package test

// End-to-end tests of the tcp_proxy filter: bytes, half-close, integrity,
// upstream failures, back-pressure, routing and connection limits, against
// real backends on 127.0.0.1:0, through the mosn binary or a server running
// in the test process (where its counters can be read).

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestHalfClose relays bytes both ways through the binary, and a FIN from
// either side while the other direction goes on.
func TestHalfClose(t *testing.T) {
	t.Parallel()

	// The client sends everything and half-closes; only then does the
	// backend (which reads to EOF first) answer, and half-close in turn. An
	// upstream closed on the first FIN, or a FIN not relayed, fails this.
	for _, size := range []int{0, 5, 1 << 20} {
		t.Run(fmt.Sprintf("client first, %d bytes", size), func(t *testing.T) {
			t.Parallel()
			type report struct {
				got []byte
				err error
			}
			seen := make(chan report, 1)
			b := startBackend(t, func(c *net.TCPConn) {
				got, err := io.ReadAll(c) // returns at EOF
				seen <- report{got, err}
				c.Write(got)
				c.CloseWrite()
				io.Copy(io.Discard, c)
			})
			_, addrs := startBinary(t, proxyConfig(t, b.addr()))

			payload, _ := io.ReadAll(prng(1, int64(size)))
			c := dial(t, addrs[0])
			c.SetDeadline(time.Now().Add(waitBound))
			if _, err := c.Write(payload); err != nil {
				t.Fatal(err)
			}
			if err := c.CloseWrite(); err != nil {
				t.Fatal(err)
			}
			back, err := io.ReadAll(c)
			if err != nil {
				t.Fatalf("read the answer to EOF: %v (after %d bytes)", err, len(back))
			}
			if !bytes.Equal(back, payload) {
				t.Errorf("client got %d bytes back, want the %d sent", len(back), len(payload))
			}
			r := <-seen
			if r.err != nil || !bytes.Equal(r.got, payload) {
				t.Errorf("backend read %d bytes then %v; want the %d sent, then EOF", len(r.got), r.err, len(payload))
			}
		})
	}

	// The backend speaks first and half-closes; the client reads the
	// greeting to EOF and still sends afterwards.
	t.Run("backend first", func(t *testing.T) {
		t.Parallel()
		const greeting, late = "hello from the backend\n", "sent after the backend's FIN"
		seen := make(chan string, 1)
		b := startBackend(t, func(c *net.TCPConn) {
			io.WriteString(c, greeting)
			c.CloseWrite()
			c.SetReadDeadline(time.Now().Add(waitBound))
			got, err := io.ReadAll(c)
			if err != nil {
				got = append(got, " / "+err.Error()...)
			}
			seen <- string(got)
		})
		_, addrs := startBinary(t, proxyConfig(t, b.addr()))

		c := dial(t, addrs[0])
		c.SetDeadline(time.Now().Add(waitBound))
		got, err := io.ReadAll(c)
		if err != nil || string(got) != greeting {
			t.Fatalf("client read %q, %v; want %q then EOF", got, err, greeting)
		}
		if _, err := io.WriteString(c, late); err != nil {
			t.Fatalf("write after the backend's FIN: %v", err)
		}
		c.CloseWrite()
		if got := <-seen; got != late {
			t.Errorf("backend received %q after its FIN, want %q then EOF", got, late)
		}
	})
}

// TestLargeTransfer sends 100 MiB of pseudo-random bytes through the binary
// to an echo backend while reading the echo concurrently: the hash of what
// was sent, what the backend received and what came back must agree.
func TestLargeTransfer(t *testing.T) {
	t.Parallel()
	const size = 100 << 20
	type report struct {
		n   int64
		sum []byte
		err error
	}
	atBackend := make(chan report, 1)
	b := startBackend(t, func(c *net.TCPConn) {
		h := sha256.New()
		n, err := io.Copy(io.MultiWriter(c, h), c)
		c.CloseWrite()
		atBackend <- report{n, h.Sum(nil), err}
	})
	_, addrs := startBinary(t, proxyConfig(t, b.addr()))
	c := dial(t, addrs[0])
	c.SetDeadline(time.Now().Add(2 * waitBound)) // a bound only: 200 MiB of loopback traffic

	sent := make(chan report, 1)
	go func() {
		h := sha256.New()
		n, err := io.Copy(io.MultiWriter(c, h), prng(2, size))
		c.CloseWrite()
		sent <- report{n, h.Sum(nil), err}
	}()
	h := sha256.New()
	n, err := io.Copy(h, c)
	if err != nil {
		t.Fatalf("client read: %v after %d bytes", err, n)
	}
	got := report{n, h.Sum(nil), nil}
	s, r := <-sent, <-atBackend
	if s.err != nil || s.n != size {
		t.Fatalf("client sent %d bytes (%v), want %d", s.n, s.err, size)
	}
	if r.err != nil || r.n != s.n || !bytes.Equal(r.sum, s.sum) {
		t.Errorf("backend received %d bytes (%v), sha256 %x; sent %d, sha256 %x", r.n, r.err, r.sum, s.n, s.sum)
	}
	if got.n != s.n || !bytes.Equal(got.sum, s.sum) {
		t.Errorf("client got back %d bytes, sha256 %x; sent %d, sha256 %x", got.n, got.sum, s.n, s.sum)
	}
}

// TestRefusedUpstream connects to a cluster whose only host refuses: the
// downstream connection is closed promptly (the listener's idle timeout is an
// hour, so the close cannot be an idle close), each of the three attempts is
// counted as a connect failure, and the failure is logged once.
func TestRefusedUpstream(t *testing.T) {
	t.Parallel()
	srv := startInProcess(t, proxyConfig(t, refusingAddr(t),
		patch{filter0 + ".config.max_connect_attempts", `3`},
		patch{cluster0 + ".name", `"dead"`},
		patch{filter0 + ".config.cluster", `"dead"`}))

	c := dial(t, srv.addr(0))
	expectClosed(t, c)

	cs := srv.cluster(t, "dead")
	if got := cs.ConnectionConFail.Load(); got != 3 {
		t.Errorf("cluster connection_con_fail = %d, want 3 (max_connect_attempts)", got)
	}
	if got := cs.ConnectionTotal.Load(); got != 3 {
		t.Errorf("cluster connection_total = %d, want 3", got)
	}
	log := srv.log.String()
	if line := lineWith(log, "upstream unavailable", "cluster=dead", "attempts=3"); line == "" {
		t.Errorf("no log line with %q, cluster=dead and attempts=3; log:\n%s", "upstream unavailable", log)
	}
	if n := strings.Count(log, "upstream unavailable"); n != 1 {
		t.Errorf("%d %q lines for one downstream connection, want 1; log:\n%s", n, "upstream unavailable", log)
	}
	waitUntil(t, "the cluster's active connections to drop to 0", func() bool { return cs.ConnectionActive.Load() == 0 })
	waitUntil(t, "the listener's active connections to drop to 0", func() bool { return srv.listener(0).ConnectionActive.Load() == 0 })
}

// TestRefusedUpstreamBinary is TestRefusedUpstream through the binary: the
// downstream is closed and the failure is in the process's log.
func TestRefusedUpstreamBinary(t *testing.T) {
	t.Parallel()
	p, addrs := startBinary(t, proxyConfig(t, refusingAddr(t),
		patch{cluster0 + ".name", `"dead"`},
		patch{filter0 + ".config.cluster", `"dead"`}))
	c := dial(t, addrs[0])
	expectClosed(t, c)
	line := p.waitStdout(t, "upstream unavailable")
	if !strings.Contains(line, "cluster=dead") {
		t.Errorf("log line %q does not name the cluster", line)
	}
}

// TestUpstreamCloses has the backend close each connection as soon as it
// accepts it, with a FIN or a reset: the client sees the close promptly (its
// idle timeout is an hour), and once it has closed too, neither connection
// is left open in the proxy's counts.
func TestUpstreamCloses(t *testing.T) {
	t.Parallel()
	for _, reset := range []bool{false, true} {
		t.Run(map[bool]string{false: "FIN", true: "RST"}[reset], func(t *testing.T) {
			t.Parallel()
			b := startBackend(t, func(c *net.TCPConn) {
				if reset {
					c.SetLinger(0) // the close sends RST
				}
			})
			srv := startInProcess(t, proxyConfig(t, b.addr()))
			ls, cs := srv.listener(0), srv.cluster(t, "backend")
			c := dial(t, srv.addr(0))
			expectClosed(t, c)
			c.Close()
			waitUntil(t, "the listener's active connections to drop to 0", func() bool { return ls.ConnectionActive.Load() == 0 })
			waitUntil(t, "the cluster's active connections to drop to 0", func() bool { return cs.ConnectionActive.Load() == 0 })
			if got := cs.ConnectionTotal.Load(); got != 1 {
				t.Errorf("cluster connection_total = %d, want 1", got)
			}
			// A reset that lands before the connect is confirmed fails the
			// connect instead (the kernel reports it then): counted once,
			// either way, as the peer's doing.
			remote, conFail := cs.ConnectionRemoteClose.Load(), cs.ConnectionConFail.Load()
			if reset && remote+conFail != 1 {
				t.Errorf("after the backend's reset: connection_remote_close %d, connection_con_fail %d; want one of them 1", remote, conFail)
			}
		})
	}
}

// TestBackPressure feeds a peer that does not read: the backend (upload) or
// the client (download). The proxy must stop reading from the sender once the
// write queue towards the stuck peer passes its buffer limit, so what it holds
// stays bounded while the sender is stuck; once the peer reads, every byte
// arrives and the queues empty.
func TestBackPressure(t *testing.T) {
	t.Parallel()
	for _, upload := range []bool{true, false} {
		name := map[bool]string{true: "upload to a stuck backend", false: "download to a stuck client"}[upload]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			testBackPressure(t, upload)
		})
	}
}

// testBackPressure runs the test on proxyConfig with patches.
func testBackPressure(t *testing.T, upload bool, patches ...patch) {
	const limit = 64 << 10
	// The bound on what the proxy queues: each write queue may pass its limit
	// by what was read before the watermark event paused reading, which is
	// one read of at most the 16 KiB read buffer (a read already under way
	// when the event fires can land after it). With nothing flowing back the
	// other queue stays empty, but allow both directions the same:
	// limit + 2×16 KiB + limit.
	const maxQueued = limit + 2*16<<10 + limit

	// The sender must be unable to hand over the whole transfer: it has to
	// exceed what the kernel can buffer on the way (the sender's send
	// buffer, the proxy's receive and send buffers, the stuck peer's receive
	// buffer) plus the bound. Those are pinned on our own sockets; the
	// proxy's two grow at most to the tcp_rmem/tcp_wmem maxima.
	size := int64(64 << 20)
	kernel := int64(2 * 2 * 64 << 10) // our two pinned sockets (the kernel doubles the size set)
	kernel += sysctlMax(t, "/proc/sys/net/ipv4/tcp_rmem") + sysctlMax(t, "/proc/sys/net/ipv4/tcp_wmem")
	if size < 2*(kernel+maxQueued) {
		size = 2 * (kernel + maxQueued)
		t.Logf("transfer raised to %d bytes to exceed twice the kernel's buffers", size)
	}

	accepted := make(chan *net.TCPConn, 1)
	finished := make(chan struct{})
	b := startBackend(t, func(c *net.TCPConn) {
		accepted <- c
		<-finished
	})
	srv := startInProcess(t, proxyConfig(t, b.addr(), patches...))
	ls, cs := srv.listener(0), srv.cluster(t, "backend")
	client := dial(t, srv.addr(0))
	var upstream *net.TCPConn
	select {
	case upstream = <-accepted:
	case <-time.After(waitBound):
		t.Fatal("the proxy did not connect to the backend")
	}

	sender, peer := client, upstream
	queue := &cs.BytesBuffered // towards the stuck peer
	if !upload {
		sender, peer = upstream, client
		queue = &ls.BytesBuffered
	}
	sender.SetWriteBuffer(64 << 10)
	peer.SetReadBuffer(64 << 10)

	type report struct {
		n   int64
		sum []byte
		err error
	}
	// The sender writes until a write makes no progress at all for 3s: a
	// bound that only says "stuck", re-armed after every write that
	// progresses, so a slow machine writes on rather than stopping early.
	stalled := make(chan int64, 1) // bytes written when the sender got stuck
	resume := make(chan struct{})  // closed once the peer reads
	var once sync.Once
	unblock := func() { once.Do(func() { close(resume) }) }
	t.Cleanup(func() { // before the backend's cleanup waits for its handler
		unblock()
		close(finished)
	})
	sent := make(chan report, 1)
	go func() {
		h := sha256.New()
		var n int64
		buf := make([]byte, 64<<10)
		src := prng(3, size)
		stuck := false
		for n < size {
			k, _ := io.ReadFull(src, buf[:min(int64(len(buf)), size-n)])
			p := buf[:k]
			for len(p) > 0 {
				if !stuck {
					sender.SetWriteDeadline(time.Now().Add(3 * time.Second))
				}
				m, err := sender.Write(p)
				h.Write(p[:m])
				n += int64(m)
				p = p[m:]
				switch {
				case err == nil:
				case errors.Is(err, os.ErrDeadlineExceeded) && !stuck:
					if m > 0 {
						continue // progress: not stuck yet
					}
					stuck = true
					stalled <- n
					<-resume
					sender.SetWriteDeadline(time.Now().Add(2 * waitBound))
				default:
					sent <- report{n, nil, err}
					return
				}
			}
		}
		if !stuck {
			stalled <- n
		}
		sender.CloseWrite()
		sent <- report{n, h.Sum(nil), nil}
	}()

	var peak int64
	sample := func() int64 {
		peak = max(peak, cs.BytesBuffered.Load()+ls.BytesBuffered.Load())
		return queue.Load()
	}
	waitUntil(t, "the queue towards the stuck peer to pass 32 KiB", func() bool { return sample() > 32<<10 })
	// Sample the queues until the sender is stuck.
	var written int64
	tick := time.NewTicker(time.Millisecond)
	bound := time.NewTimer(waitBound)
sampling:
	for {
		select {
		case written = <-stalled:
			break sampling
		case <-tick.C:
			sample()
		case <-bound.C:
			t.Fatal("the sender neither got stuck nor finished")
		}
	}
	bound.Stop()
	tick.Stop()
	sample()
	if written >= size {
		t.Errorf("the sender wrote all %d bytes to a peer that reads nothing: the proxy buffered without bound", size)
	}
	if peak <= limit || peak > maxQueued {
		t.Errorf("peak bytes queued in the proxy = %d, want above the %d limit (the watermark fired) and at most %d", peak, limit, maxQueued)
	}
	t.Logf("sender stuck after %d bytes; proxy queue peak %d", written, peak)

	// Now the peer reads everything.
	unblock()
	peer.SetReadDeadline(time.Now().Add(2 * waitBound))
	h := sha256.New()
	n, err := io.Copy(h, peer)
	s := <-sent
	if s.err != nil {
		t.Fatalf("write after the peer started reading: %v after %d bytes", s.err, s.n)
	}
	if err != nil || n != size || !bytes.Equal(h.Sum(nil), s.sum) {
		t.Errorf("peer received %d bytes (err %v, sha256 %x); sent %d (sha256 %x)", n, err, h.Sum(nil), s.n, s.sum)
	}
	waitUntil(t, "the proxy's queues to empty", func() bool {
		return cs.BytesBuffered.Load() == 0 && ls.BytesBuffered.Load() == 0
	})
	read, wrote := ls.BytesRead.Load(), cs.BytesWritten.Load()
	if !upload {
		read, wrote = cs.BytesRead.Load(), ls.BytesWritten.Load()
	}
	if read != size || wrote != size {
		t.Errorf("the proxy read %d bytes from the sender and wrote %d to the peer, want %d both", read, wrote, size)
	}
}

// sysctlMax reads the last (maximum) number of a tcp_rmem/tcp_wmem file, or
// 32 MiB where there is none.
func sysctlMax(t *testing.T, file string) int64 {
	data, err := os.ReadFile(file)
	if err != nil {
		return 32 << 20
	}
	f := strings.Fields(string(data))
	n, err := strconv.ParseInt(f[len(f)-1], 10, 64)
	if err != nil {
		t.Fatalf("%s: %q", file, data)
	}
	return n
}

// TestRouting checks how tcp_proxy routes choose a cluster: each listener has
// its own route table over the same clusters a, b and c, whose backends
// answer with their names. The client connects from 127.0.0.1 to
// 127.0.0.1:PORT.
func TestRouting(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		routes   string // the tcp_proxy's routes
		fallback string // its cluster
		want     string
	}{
		{"destination matches", `[{"cluster": "a", "destination_addrs": ["127.0.0.1/32"]}]`, "b", "a"},
		{"non-matching route skipped", `[{"cluster": "c", "destination_addrs": ["10.0.0.0/8"]}, {"cluster": "a", "destination_addrs": ["127.0.0.0/8"]}]`, "b", "a"},
		{"nothing matches: fallback", `[{"cluster": "c", "destination_addrs": ["10.0.0.0/8"]}, {"cluster": "a", "source_addrs": ["192.168.0.0/16"]}]`, "b", "b"},
		{"first match wins", `[{"cluster": "c", "destination_addrs": ["127.0.0.0/8"]}, {"cluster": "a", "destination_addrs": ["127.0.0.1"]}]`, "b", "c"},
		{"source and destination must both match", `[{"cluster": "c", "source_addrs": ["127.0.0.1/32"], "destination_addrs": ["10.0.0.0/8"]}, {"cluster": "a", "source_addrs": ["127.0.0.1/32"], "destination_addrs": ["127.0.0.1/32"]}]`, "b", "a"},
		{"port must match", `[{"cluster": "c", "destination_addrs": ["127.0.0.1/32:1"]}]`, "b", "b"},
		{"any of several ranges", `[{"cluster": "c", "source_addrs": ["10.0.0.0/8", "127.0.0.1"]}]`, "b", "c"},
	}
	var patches []patch
	for i, tt := range tests {
		lp := fmt.Sprintf("servers[0].listeners[%d]", i)
		patches = append(patches, patch{lp, `{"name": ` + strconv.Quote(tt.name) + `, "address": "127.0.0.1:0", "bind_port": true,
			"filter_chains": [{"filters": [{"type": "tcp_proxy", "config": {"cluster": ` + strconv.Quote(tt.fallback) + `, "routes": ` + tt.routes + `}}]}]}`})
	}
	for i, name := range []string{"a", "b", "c"} {
		b := startBackend(t, named(name))
		patches = append(patches, patch{fmt.Sprintf("cluster_manager.clusters[%d]", i), `{"name": "` + name + `", "hosts": [{"address": "` + b.addr() + `"}]}`})
	}
	srv := startInProcess(t, proxyConfig(t, "127.0.0.1:1", patches...))
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := dial(t, srv.addr(i))
			if got := readLine(t, c); got != tt.want {
				t.Errorf("answered by backend %q, want %q", got, tt.want)
			}
		})
	}
}

// TestRoundRobin opens 10 connections in turn to a two-host LB_ROUNDROBIN
// cluster: they alternate, 5 each.
func TestRoundRobin(t *testing.T) {
	t.Parallel()
	h1, h2 := startBackend(t, named("h1")), startBackend(t, named("h2"))
	srv := startInProcess(t, proxyConfig(t, h1.addr(), patch{cluster0 + ".hosts[1]", `{"address": "` + h2.addr() + `"}`}))
	counts := map[string]int{}
	var order []string
	for range 10 {
		c := dial(t, srv.addr(0))
		name := readLine(t, c)
		counts[name]++
		order = append(order, name)
		c.Close()
	}
	if counts["h1"] != 5 || counts["h2"] != 5 {
		t.Errorf("connections per host: %v, want 5 each", counts)
	}
	for i := 1; i < len(order); i++ {
		if order[i] == order[i-1] {
			t.Errorf("hosts in order %v: want them to alternate", order)
			break
		}
	}
}

// TestCircuitBreaker sets the cluster's max_connections to 2: a third
// concurrent downstream connection is closed at once and counted as an
// overflow, the first two carry on, and a slot freed is usable again.
func TestCircuitBreaker(t *testing.T) {
	t.Parallel()
	b := startBackend(t, echo)
	srv := startInProcess(t, proxyConfig(t, b.addr(), patch{cluster0 + ".circuit_breakers", `[{"max_connections": 2}]`}))
	cs := srv.cluster(t, "backend")

	c1, c2 := dial(t, srv.addr(0)), dial(t, srv.addr(0))
	roundTrip(t, c1, "one")
	roundTrip(t, c2, "two")
	c3 := dial(t, srv.addr(0))
	expectClosed(t, c3)
	if got := cs.ConnectionOverflow.Load(); got != 1 {
		t.Errorf("connection overflow = %d, want 1", got)
	}
	if got := cs.ConnectionTotal.Load(); got != 2 {
		t.Errorf("cluster connection_total = %d, want 2 (the refused one never opened)", got)
	}
	if lineWith(srv.log.String(), "upstream unavailable", "circuit breaker") == "" {
		t.Errorf("no log line about the open circuit breaker; log:\n%s", srv.log)
	}
	roundTrip(t, c1, "still one")
	roundTrip(t, c2, "still two")

	c1.Close()
	waitUntil(t, "the cluster's active connections to drop to 1", func() bool { return cs.ConnectionActive.Load() == 1 })
	roundTrip(t, dial(t, srv.addr(0)), "four")
	if got := cs.ConnectionOverflow.Load(); got != 1 {
		t.Errorf("connection overflow = %d after a slot was freed, want still 1", got)
	}
}

// TestListenerMaxConnections sets the listener's max_connections to 2: a
// third connection is closed and counted as rejected, and a slot freed is
// usable again.
func TestListenerMaxConnections(t *testing.T) {
	t.Parallel()
	b := startBackend(t, echo)
	srv := startInProcess(t, proxyConfig(t, b.addr(), patch{l0 + ".max_connections", `2`}))
	ls := srv.listener(0)

	c1, c2 := dial(t, srv.addr(0)), dial(t, srv.addr(0))
	roundTrip(t, c1, "one")
	roundTrip(t, c2, "two")
	expectClosed(t, dial(t, srv.addr(0)))
	if got := ls.ConnectionReject.Load(); got != 1 {
		t.Errorf("listener connection reject = %d, want 1", got)
	}
	if got := ls.ConnectionTotal.Load(); got != 2 {
		t.Errorf("listener connection_total = %d, want 2", got)
	}
	roundTrip(t, c2, "still two")

	c1.Close()
	waitUntil(t, "the listener's active connections to drop to 1", func() bool { return ls.ConnectionActive.Load() == 1 })
	roundTrip(t, dial(t, srv.addr(0)), "four")
	if got := ls.ConnectionReject.Load(); got != 1 {
		t.Errorf("listener connection reject = %d after a slot was freed, want still 1", got)
	}
}
