package test

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
	"time"
)

// netpoll runs a config's servers on the event-loop IO model.
var netpoll = patch{"servers[0].use_netpoll_mode", `true`}

// needEpoll skips where the event-loop model cannot run.
func needEpoll(t *testing.T) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("use_netpoll_mode needs Linux epoll")
	}
}

// TestNetpollTCPEcho: round trips on several connections at once through
// the TCP proxy on event loops.
func TestNetpollTCPEcho(t *testing.T) {
	t.Parallel()
	needEpoll(t)
	b := startBackend(t, echo)
	srv := startInProcess(t, proxyConfig(t, b.addr(), netpoll))
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			c := dial(t, srv.addr(0))
			for j := range 50 {
				roundTrip(t, c, fmt.Sprintf("conn %d message %d\n", i, j))
			}
		})
	}
	wg.Wait()
}

// TestNetpollTCPHalfClose: the client's FIN reaches the backend after its
// data, the backend's answer and FIN come back, and then the proxy closes
// both sides.
func TestNetpollTCPHalfClose(t *testing.T) {
	t.Parallel()
	needEpoll(t)
	b := startBackend(t, echo)
	srv := startInProcess(t, proxyConfig(t, b.addr(), netpoll))
	c := dial(t, srv.addr(0))
	c.SetDeadline(time.Now().Add(waitBound))
	msg := bytes.Repeat([]byte("half-close "), 10000)
	if _, err := c.Write(msg); err != nil {
		t.Fatal(err)
	}
	c.CloseWrite() // still reading
	got, err := io.ReadAll(c)
	if err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("read %d bytes (%v) after half-closing, want the %d sent, then EOF", len(got), err, len(msg))
	}
	ls, cs := srv.listener(0), srv.cluster(t, "backend")
	waitUntil(t, "both connections of the pair to close", func() bool {
		return ls.ConnectionActive.Load() == 0 && cs.ConnectionActive.Load() == 0
	})
}

// TestNetpollTCPLargeTransfer: 100 MiB through the binary on event loops,
// echoed back while it is sent; the sha256 of what was sent, what the
// backend got and what came back agree.
func TestNetpollTCPLargeTransfer(t *testing.T) {
	t.Parallel()
	needEpoll(t)
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
	_, addrs := startBinary(t, proxyConfig(t, b.addr(), netpoll))
	c := dial(t, addrs[0])
	c.SetDeadline(time.Now().Add(2 * waitBound)) // a bound only
	sent := make(chan report, 1)
	go func() {
		h := sha256.New()
		n, err := io.Copy(io.MultiWriter(c, h), prng(7, size))
		c.CloseWrite()
		sent <- report{n, h.Sum(nil), err}
	}()
	h := sha256.New()
	n, err := io.Copy(h, c)
	if err != nil {
		t.Fatalf("client read: %v after %d bytes", err, n)
	}
	s, r := <-sent, <-atBackend
	if s.err != nil || s.n != size {
		t.Fatalf("client sent %d bytes (%v), want %d", s.n, s.err, size)
	}
	if r.err != nil || r.n != s.n || !bytes.Equal(r.sum, s.sum) {
		t.Errorf("backend received %d bytes (%v), sha256 %x; sent %d, sha256 %x", r.n, r.err, r.sum, s.n, s.sum)
	}
	if sum := h.Sum(nil); n != s.n || !bytes.Equal(sum, s.sum) {
		t.Errorf("client got back %d bytes, sha256 %x; sent %d, sha256 %x", n, sum, s.n, s.sum)
	}
}

// TestNetpollBackPressure is TestBackPressure on event loops: a stuck
// reader on either side bounds what the proxy queues.
func TestNetpollBackPressure(t *testing.T) {
	t.Parallel()
	needEpoll(t)
	for _, upload := range []bool{true, false} {
		name := map[bool]string{true: "upload to a stuck backend", false: "download to a stuck client"}[upload]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			testBackPressure(t, upload, netpoll)
		})
	}
}

// TestNetpollThousandConnectionsLeakNothing is
// TestThousandConnectionsLeakNothing on event loops: 1,000 proxied
// connections at once, a round trip on each, half closed with a reset, and
// goroutines and descriptors back where they were (the loops were already
// running before the count).
func TestNetpollThousandConnectionsLeakNothing(t *testing.T) {
	needEpoll(t)
	const n = 1000
	needFDs(t, 4*n+100)
	defer debug.SetGCPercent(debug.SetGCPercent(-1)) // a forgotten socket stays open
	b := startBackend(t, echo)
	srv := startInProcess(t, proxyConfig(t, b.addr(), netpoll))
	ls, cs := srv.listener(0), srv.cluster(t, "backend")
	goroutines := runtime.NumGoroutine()
	fds, _, _, _ := fdCounts()

	conns := openEchoConns(t, srv.addr(0), n)
	if got := ls.ConnectionActive.Load(); got != n {
		t.Errorf("with all open: listener connection_active = %d, want %d", got, n)
	}
	// The proxy holds no goroutine per idle connection on event loops.
	if g := runtime.NumGoroutine() - goroutines; g > n+goroutineSlack {
		t.Errorf("%d goroutines more with %d idle pairs open: want at most the backend's one each", g, n)
	}
	closeHalfAbortively(conns)
	waitUntil(t, "the listener's active connections to drop to 0", func() bool { return ls.ConnectionActive.Load() == 0 })
	waitUntil(t, "the cluster's active connections to drop to 0", func() bool { return cs.ConnectionActive.Load() == 0 })
	waitUntil(t, "the backend's connections to close", func() bool { return b.open() == 0 })
	if got := cs.ConnectionTotal.Load(); got != n {
		t.Errorf("cluster connection_total = %d, want %d", got, n)
	}
	settle(t, goroutines, fds)
}

// TestNetpollHTTP: the HTTP/1.1 proxy on event loops — keep-alive
// requests with bodies, pipelined requests answered in order, and a wrk
// run with no error.
func TestNetpollHTTP(t *testing.T) {
	t.Parallel()
	needEpoll(t)
	b := startHTTP(t, func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "%s %s %d", r.Method, r.URL.Path, len(body))
	})
	srv := startInProcess(t, httpConfig(t, b.addr(), netpoll))
	addr := srv.addr(0)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("proxy log:\n%s", srv.log.String())
		}
	})

	t.Run("keep-alive", func(t *testing.T) {
		client, _ := newClient(t, 4)
		for i := range 50 {
			body := strings.Repeat("x", i*1000)
			resp, got := request(t, client, "POST", addr, "h", fmt.Sprintf("/r%d", i), strings.NewReader(body))
			if want := fmt.Sprintf("POST /r%d %d", i, len(body)); resp.StatusCode != 200 || got != want {
				t.Fatalf("request %d: %d %q, want 200 %q", i, resp.StatusCode, got, want)
			}
		}
	})
	t.Run("pipelined", func(t *testing.T) {
		w := dialWire(t, addr)
		w.send(t, get("/a")+get("/b")+"POST /c HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc"+get("/d"))
		for _, want := range []string{"GET /a 0", "GET /b 0", "POST /c 3", "GET /d 0"} {
			method := strings.Fields(want)[0]
			if resp, body := w.read(t, method); resp.StatusCode != 200 || body != want {
				t.Fatalf("pipelined: %d %q, want 200 %q", resp.StatusCode, body, want)
			}
		}
	})
	t.Run("wrk", func(t *testing.T) {
		needTool(t, "wrk")
		r := runWrk(t, "http://"+addr+"/", 20, 2*time.Second)
		if r.requests == 0 || r.errors != 0 || r.non2xx != 0 {
			t.Fatalf("wrk: %d requests, %d socket errors, %d non-2xx; want none failed\n%s", r.requests, r.errors, r.non2xx, r.out)
		}
		t.Logf("wrk: %d requests in 2s", r.requests)
	})
}

// TestNetpollHTTP2 runs every pairing of HTTP/1.1 and HTTP/2 (h2c) on event
// loops: requests with 1 MiB bodies each way, and for HTTP/2 downstream 200
// concurrent streams on one connection.
func TestNetpollHTTP2(t *testing.T) {
	t.Parallel()
	needEpoll(t)
	be := startH2Backend(t, func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Write(bytes.Repeat([]byte{'r'}, len(body)))
	})
	for _, pair := range [][2]string{{"Http1", "Http1"}, {"Http1", "Http2"}, {"Http2", "Http1"}, {"Http2", "Http2"}} {
		t.Run(pair[0]+"-"+pair[1], func(t *testing.T) {
			t.Parallel()
			srv := startInProcess(t, h2Config(t, pair[0], pair[1], "", []string{be.addr()}, netpoll))
			var client *http.Client
			if pair[0] == "Http2" {
				client = h2Client(t)
			} else {
				client, _ = newClient(t, 8)
			}
			streams := 20
			if pair[0] == "Http2" {
				streams = 200
			}
			var wg sync.WaitGroup
			for i := range streams {
				wg.Go(func() {
					size := 100 + i
					if i%50 == 0 {
						size = 1 << 20
					}
					resp, err := client.Post("http://"+srv.addr(0)+"/", "text/plain", bytes.NewReader(bytes.Repeat([]byte{'q'}, size)))
					if err != nil {
						t.Errorf("request %d: %v", i, err)
						return
					}
					defer resp.Body.Close()
					got, err := io.ReadAll(resp.Body)
					if err != nil || resp.StatusCode != 200 || len(got) != size {
						t.Errorf("request %d: %d, %d bytes (%v); want 200, %d", i, resp.StatusCode, len(got), err, size)
					}
				})
			}
			wg.Wait()
		})
	}
}
