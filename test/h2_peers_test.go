package test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestH2Curl: curl with prior knowledge through the proxy, HTTP/2 on both
// sides and HTTP/2 to an HTTP/1.1 upstream.
func TestH2Curl(t *testing.T) {
	t.Parallel()
	curl := needBinary(t, "curl")
	be := startH2Backend(t, echoHandler)
	for _, up := range []string{"Http2", "Http1"} {
		srv := startInProcess(t, h2Config(t, "Http2", up, "", []string{be.addr()}))
		out, err := exec.Command(curl, "-sS", "--http2-prior-knowledge", "--max-time", "30",
			"-H", "Host: curl.test", "--data-binary", "hello", "-w", " %{http_version} %{response_code}",
			"http://"+srv.addr(0)+"/c").CombinedOutput()
		if err != nil {
			t.Fatalf("curl to %s: %v: %s", up, err, out)
		}
		if want := "POST /c curl.test 5 2 200"; string(out) != want {
			t.Fatalf("curl to %s: %q, want %q", up, out, want)
		}
	}
}

// h2loadRequests runs h2load and returns its succeeded and failed counts.
func h2loadRequests(t *testing.T, args ...string) (succeeded, failed int, out string) {
	t.Helper()
	h2load := needBinary(t, "h2load")
	ctx, cancel := context.WithTimeout(context.Background(), 4*waitBound)
	defer cancel()
	b, err := exec.CommandContext(ctx, h2load, args...).CombinedOutput()
	out = string(b)
	if err != nil {
		t.Fatalf("h2load: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`requests: \d+ total, \d+ started, \d+ done, (\d+) succeeded, (\d+) failed`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("h2load output not understood:\n%s", out)
	}
	succeeded, _ = strconv.Atoi(m[1])
	failed, _ = strconv.Atoi(m[2])
	return succeeded, failed, out
}

// TestH2Load: h2load, 20000 requests over 10 connections with 100
// streams each, all succeed.
func TestH2Load(t *testing.T) {
	t.Parallel()
	be := startH2Backend(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	srv := startInProcess(t, h2Config(t, "Http2", "Http2", "", []string{be.addr()}))
	ok, failed, out := h2loadRequests(t, "-n", "20000", "-c", "10", "-m", "100", "http://"+srv.addr(0)+"/")
	if ok != 20000 || failed != 0 {
		t.Fatalf("%d succeeded, %d failed:\n%s", ok, failed, out)
	}
}

// TestH2Nghttpd: nghttpd as the origin, downstream HTTP/2 and HTTP/1.1.
func TestH2Nghttpd(t *testing.T) {
	t.Parallel()
	nghttpd := needBinary(t, "nghttpd")
	dir := t.TempDir()
	content := bytes.Repeat([]byte("nghttpd origin\n"), 100000)
	if err := os.WriteFile(filepath.Join(dir, "file.txt"), content, 0o644); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	cmd := exec.Command(nghttpd, "--no-tls", "-d", dir, "--address=127.0.0.1", strconv.Itoa(port))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	origin := "127.0.0.1:" + strconv.Itoa(port)
	waitListening(t, origin)
	for _, down := range []string{"Http2", "Http1"} {
		srv := startInProcess(t, h2Config(t, down, "Http2", "", []string{origin}))
		c := &http.Client{Timeout: waitBound}
		if down == "Http2" {
			c = h2Client(t)
		}
		resp, err := c.Get("http://" + srv.addr(0) + "/file.txt")
		if err != nil {
			t.Fatalf("%s: %v", down, err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 || !bytes.Equal(body, content) {
			t.Fatalf("%s: %d, %d bytes, %v", down, resp.StatusCode, len(body), err)
		}
		resp, err = c.Get("http://" + srv.addr(0) + "/missing")
		if err != nil || resp.StatusCode != 404 {
			t.Fatalf("%s missing: %v %v", down, resp, err)
		}
		resp.Body.Close()
	}
}

// TestH2ThousandStreams: 1000 requests at once on one downstream
// connection, all held upstream until every one has arrived.
func TestH2ThousandStreams(t *testing.T) {
	t.Parallel()
	const n = 1000
	var arrived atomic.Int64
	all := make(chan struct{})
	be := startH2Backend(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/warm" {
			return
		}
		if arrived.Add(1) == n {
			close(all)
		}
		select {
		case <-all:
		case <-r.Context().Done():
			return
		}
		io.WriteString(w, r.URL.Path)
	})
	srv := startInProcess(t, h2Config(t, "Http2", "Http2", "", []string{be.addr()}))
	c := h2Client(t)
	// One request first, so that the client has the proxy's SETTINGS
	// (2048 streams) before it opens 1000.
	if resp, err := c.Get("http://" + srv.addr(0) + "/warm"); err != nil {
		t.Fatal(err)
	} else {
		resp.Body.Close()
	}
	var wg sync.WaitGroup
	var fails counter
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			path := fmt.Sprintf("/s%d", i)
			resp, err := c.Get("http://" + srv.addr(0) + path)
			if err != nil {
				fails.add(err.Error())
				return
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if string(body) != path {
				fails.add(fmt.Sprintf("%d %q", resp.StatusCode, body))
			}
		}()
	}
	wg.Wait()
	if f := fails.snapshot(); len(f) > 0 {
		t.Fatalf("failures: %v", f)
	}
	if got := srv.listener(0).ConnectionTotal.Load(); got != 1 {
		t.Fatalf("%d downstream connections, want 1", got)
	}
}

// handoffListener hands connections accepted from one socket to whichever
// server is serving now: closing it stops one server without closing the
// socket, so a successor takes the next connection.
type handoffListener struct {
	conns <-chan net.Conn
	done  chan struct{}
	once  sync.Once
	addr  net.Addr
}

func (l *handoffListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *handoffListener) Close() error   { l.once.Do(func() { close(l.done) }); return nil }
func (l *handoffListener) Addr() net.Addr { return l.addr }

// TestH2UpstreamGoAway: the upstream shuts its server down gracefully
// (GOAWAY on every connection) under load while a successor keeps the
// port: no request fails. Streams it had accepted finish, streams above
// its last stream id are retried as unprocessed, new streams go on new
// connections.
func TestH2UpstreamGoAway(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	conns := make(chan net.Conn)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns <- c
		}
	}()
	var served [2]atomic.Int64
	serve := func(i int) (*http.Server, *handoffListener) {
		var p http.Protocols
		p.SetHTTP1(true)
		p.SetUnencryptedHTTP2(true)
		hs := &http.Server{Protocols: &p, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if b, _ := io.ReadAll(r.Body); string(b) != "payload" {
				http.Error(w, "body "+string(b), 400)
				return
			}
			served[i].Add(1)
			io.WriteString(w, "ok")
		})}
		hl := &handoffListener{conns: conns, done: make(chan struct{}), addr: ln.Addr()}
		go hs.Serve(hl)
		t.Cleanup(func() { hs.Close() })
		return hs, hl
	}
	first, _ := serve(0)
	srv := startInProcess(t, h2Config(t, "Http2", "Http2", "", []string{ln.Addr().String()}))
	c := h2Client(t)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var fails counter
	var done atomic.Int64
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				// Requests with bodies, as every gRPC call is: those the
				// upstream did not process are sent again by the pool.
				resp, err := c.Post("http://"+srv.addr(0)+"/", "text/plain", strings.NewReader("payload"))
				if err != nil {
					fails.add(err.Error())
					continue
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || string(body) != "ok" {
					fails.add(fmt.Sprintf("%d %q", resp.StatusCode, body))
				}
				done.Add(1)
			}
		}()
	}
	waitUntil(t, "load on the first server", func() bool { return served[0].Load() > 500 })
	shut := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitBound)
		defer cancel()
		shut <- first.Shutdown(ctx)
	}()
	serve(1)
	if err := <-shut; err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	waitUntil(t, "load on the second server", func() bool { return served[1].Load() > 2000 })
	close(stop)
	wg.Wait()
	if f := fails.snapshot(); len(f) > 0 {
		t.Fatalf("failures: %v (%d requests)", f, done.Load())
	}
	t.Logf("%d requests, %d before the GOAWAY's server closed, %d after", done.Load(), served[0].Load(), served[1].Load())
}

// TestH2SlowReader: a client that reads nothing of a large response holds
// back the upstream: the proxy buffers a bounded amount, and the whole
// body arrives intact once the client reads.
func TestH2SlowReader(t *testing.T) {
	t.Parallel()
	const size = 64 << 20
	var written atomic.Int64
	be := startH2Backend(t, func(w http.ResponseWriter, r *http.Request) {
		chunk := bytes.Repeat([]byte("0123456789abcdef"), 4096)
		for written.Load() < size {
			if _, err := w.Write(chunk); err != nil {
				return
			}
			written.Add(int64(len(chunk)))
		}
	})
	srv := startInProcess(t, h2Config(t, "Http2", "Http2", "", []string{be.addr()},
		patch{l0 + ".per_connection_buffer_limit_bytes", "1048576"}))
	resp, err := h2Client(t).Get("http://" + srv.addr(0) + "/big")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	// Not reading: the upstream must stall far short of the whole body.
	// It is sampled until it stops moving; a slow machine only makes the
	// figure smaller.
	var last int64 = -1
	tick := time.NewTicker(100 * time.Millisecond)
	for stable := 0; stable < 5; {
		<-tick.C
		if w := written.Load(); w == last {
			stable++
		} else {
			last, stable = w, 0
		}
	}
	tick.Stop()
	if last > 24<<20 {
		t.Fatalf("upstream wrote %d MiB to a client reading nothing", last>>20)
	}
	if q := srv.listener(0).BytesBuffered.Load(); q > 8<<20 {
		t.Fatalf("proxy holds %d MiB for the client", q>>20)
	}
	t.Logf("stalled with %.1f MiB written upstream, %.1f MiB queued in the proxy", float64(last)/(1<<20), float64(srv.listener(0).BytesBuffered.Load())/(1<<20))
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil || n < size {
		t.Fatalf("read %d bytes: %v", n, err)
	}
}

// countingReader counts what has been read from it.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// TestH2SlowUpstreamReader: an upstream that reads nothing of a large
// request body holds back the client, through the proxy's flow control
// in both connections; once it reads, the body arrives whole.
func TestH2SlowUpstreamReader(t *testing.T) {
	t.Parallel()
	const size = 64 << 20
	release := make(chan struct{})
	be := startH2Backend(t, func(w http.ResponseWriter, r *http.Request) {
		<-release
		n, err := io.Copy(io.Discard, r.Body)
		fmt.Fprintf(w, "%d %v", n, err)
	})
	srv := startInProcess(t, h2Config(t, "Http2", "Http2", "", []string{be.addr()},
		patch{cluster0 + ".conn_buffer_limit_bytes", "1048576"}))
	body := &countingReader{r: prng(7, size)}
	type result struct {
		body string
		err  error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := h2Client(t).Post("http://"+srv.addr(0)+"/upload", "application/octet-stream", body)
		if err != nil {
			done <- result{err: err}
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		done <- result{body: string(b)}
	}()
	// The client must stall far short of the whole body; it is sampled
	// until it stops moving (a slow machine only makes the figure smaller).
	var last int64 = -1
	tick := time.NewTicker(100 * time.Millisecond)
	for stable := 0; stable < 5; {
		<-tick.C
		if n := body.n.Load(); n == last {
			stable++
		} else {
			last, stable = n, 0
		}
	}
	tick.Stop()
	t.Logf("client stalled after %.1f MiB", float64(last)/(1<<20))
	if last > 24<<20 {
		t.Fatalf("client sent %d MiB to an upstream reading nothing", last>>20)
	}
	close(release)
	select {
	case r := <-done:
		if r.err != nil || r.body != fmt.Sprintf("%d <nil>", size) {
			t.Fatalf("upload: %q %v", r.body, r.err)
		}
	case <-time.After(waitBound):
		t.Fatal("upload did not finish")
	}
}
