package test

// The HTTP/1.1 proxy on the wire, driven by a raw TCP client: connection
// reuse, pipelining, chunked bodies both ways, HEAD, 100-continue, closes,
// HTTP/1.0; malformed and oversized requests; upstreams that die mid-answer;
// and how many requests an upstream connection carries.

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// wireBackend answers by path: /n/N with N; /remote with the address its
// request came from; /echo with what it read and how it was framed; /head
// with an 11-byte body (none for HEAD); /stream with "part1", flushed, then
// "part2" once release is closed.
func wireBackend(t *testing.T, release <-chan struct{}) *httpBackend {
	return startHTTP(t, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasPrefix(r.URL.Path, "/n/"):
			io.WriteString(w, strings.TrimPrefix(r.URL.Path, "/n/"))
		case r.URL.Path == "/remote":
			io.WriteString(w, r.RemoteAddr)
		case r.URL.Path == "/echo":
			data, err := io.ReadAll(r.Body)
			if err != nil {
				w.WriteHeader(500)
				fmt.Fprintf(w, "read body: %v", err)
				return
			}
			sum := sha256.Sum256(data)
			fmt.Fprintf(w, "len=%d te=%s expect=%q sha256=%s", len(data), strings.Join(r.TransferEncoding, ","), r.Header.Get("Expect"), hex.EncodeToString(sum[:]))
		case r.URL.Path == "/head":
			w.Header().Set("Content-Length", "11")
			io.WriteString(w, "hello world")
		case r.URL.Path == "/stream":
			io.WriteString(w, "part1")
			http.NewResponseController(w).Flush()
			select {
			case <-release:
			case <-r.Context().Done():
				return
			}
			io.WriteString(w, "part2")
		default:
			http.NotFound(w, r)
		}
	})
}

// echoed is what wireBackend's /echo answers for data.
func echoed(data []byte, te, expect string) string {
	sum := sha256.Sum256(data)
	return fmt.Sprintf("len=%d te=%s expect=%q sha256=%s", len(data), te, expect, hex.EncodeToString(sum[:]))
}

// TestHTTPWire checks connection handling and framing at the byte level.
func TestHTTPWire(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	b := wireBackend(t, release)
	// The HEAD cases each get a cluster of their own over the same backend,
	// so that they know what their upstream connection carried before. A
	// HEAD the proxy gets wrong hangs, so these routes time out after 5s:
	// a failure bound, a thousand times what a request takes here.
	head := func(name, extra string) string {
		return `{"match": {"prefix": "/` + name + `/"}, "route": {"cluster_name": "` + name + `", "timeout": "5s", "prefix_rewrite": "/"` + extra + `}}`
	}
	_, addrs := startBinary(t, httpConfig(t, b.addr(),
		routesPatch(head("fresh", ""), head("head-get", ""), head("get-head", ""), forward("/", "c", "")),
		clustersPatch(
			clusterJSON("c", "LB_ROUNDROBIN", b.addr()),
			clusterJSON("fresh", "LB_ROUNDROBIN", b.addr()),
			clusterJSON("head-get", "LB_ROUNDROBIN", b.addr()),
			clusterJSON("get-head", "LB_ROUNDROBIN", b.addr())),
		patch{clusters + "[1].max_request_per_conn", "1"}))
	addr := addrs[0]

	t.Run("keep-alive", func(t *testing.T) {
		w := dialWire(t, addr)
		w.send(t, get("/remote"))
		r1, up1 := w.read(t, "GET")
		w.send(t, get("/remote"))
		r2, up2 := w.read(t, "GET")
		if r1.StatusCode != 200 || r2.StatusCode != 200 || r1.Close || r2.Close {
			t.Fatalf("statuses %d, %d, close %v, %v: want two 200s on a connection kept open", r1.StatusCode, r2.StatusCode, r1.Close, r2.Close)
		}
		if up1 != up2 {
			t.Errorf("the two requests went up on connections %s and %s: want the pooled one reused", up1, up2)
		}
	})

	t.Run("pipelining", func(t *testing.T) {
		w := dialWire(t, addr)
		w.send(t, get("/n/1")+get("/n/2")+get("/n/3"))
		for i := 1; i <= 3; i++ {
			resp, body := w.read(t, "GET")
			if resp.StatusCode != 200 || body != strconv.Itoa(i) {
				t.Errorf("response %d: %d %q, want 200 %q", i, resp.StatusCode, body, strconv.Itoa(i))
			}
		}
	})

	t.Run("chunked request body", func(t *testing.T) {
		w := dialWire(t, addr)
		// 1 MiB in chunks of varying sizes, one with an extension.
		data, _ := io.ReadAll(prng(7, 1<<20))
		var req bytes.Buffer
		req.WriteString("POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n")
		for rest, i := data, 0; len(rest) > 0; i++ {
			n := min(len(rest), 1+(i*7919)%40000)
			if i == 3 {
				fmt.Fprintf(&req, "%x;name=value\r\n", n)
			} else {
				fmt.Fprintf(&req, "%x\r\n", n)
			}
			req.Write(rest[:n])
			req.WriteString("\r\n")
			rest = rest[n:]
		}
		req.WriteString("0\r\n\r\n")
		w.send(t, req.String())
		resp, body := w.read(t, "POST")
		if want := echoed(data, "chunked", ""); resp.StatusCode != 200 || body != want {
			t.Errorf("got %d %q, want 200 %q", resp.StatusCode, body, want)
		}
	})

	t.Run("chunked response streamed", func(t *testing.T) {
		w := dialWire(t, addr)
		w.send(t, get("/stream"))
		resp, err := http.ReadResponse(w.br, &http.Request{Method: "GET"})
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 200 || !slicesEqual(resp.TransferEncoding, "chunked") {
			t.Fatalf("status %d, transfer-encoding %q: want 200, chunked", resp.StatusCode, resp.TransferEncoding)
		}
		// The first part arrives while the backend still holds the second.
		part := make([]byte, 5)
		if _, err := io.ReadFull(resp.Body, part); err != nil || string(part) != "part1" {
			t.Fatalf("first part: %q, %v; want part1 before the backend goes on", part, err)
		}
		close(release)
		rest, err := io.ReadAll(resp.Body)
		if err != nil || string(rest) != "part2" {
			t.Fatalf("rest: %q, %v; want part2 then the last chunk", rest, err)
		}
		w.send(t, get("/n/4")) // the connection carries on after the last chunk
		if resp, body := w.read(t, "GET"); resp.StatusCode != 200 || body != "4" {
			t.Errorf("next request: %d %q", resp.StatusCode, body)
		}
	})

	// A HEAD response has no body whatever its Content-Length says. Each
	// case sends HEAD and GET for /head on one client connection, through
	// its own cluster, and the GET must get the 11-byte body; the client
	// gives up after headBound.
	const headBound = 5 * time.Second
	headThenGet := func(t *testing.T, prefix string, order ...string) {
		w := dialWire(t, addr)
		w.c.SetDeadline(time.Now().Add(headBound))
		for i, method := range order {
			w.send(t, method+" "+prefix+"head HTTP/1.1\r\nHost: h\r\n\r\n")
			resp, err := http.ReadResponse(w.br, &http.Request{Method: method})
			if err != nil {
				t.Fatalf("request %d (%s of %v): read response: %v", i+1, method, order, err)
			}
			body, err := io.ReadAll(resp.Body)
			want := "hello world"
			if method == "HEAD" {
				want = ""
			}
			if err != nil || resp.StatusCode != 200 || resp.ContentLength != 11 || string(body) != want {
				t.Fatalf("request %d (%s of %v): %d, content-length %d, body %q, %v; want 200, 11, %q", i+1, method, order, resp.StatusCode, resp.ContentLength, body, err, want)
			}
		}
	}
	t.Run("HEAD on new upstream connections", func(t *testing.T) {
		headThenGet(t, "/fresh/", "HEAD", "GET", "HEAD", "GET") // max_request_per_conn 1
	})
	t.Run("HEAD then GET on one upstream connection", func(t *testing.T) {
		headThenGet(t, "/head-get/", "HEAD", "GET")
	})
	t.Run("GET then HEAD on one upstream connection", func(t *testing.T) {
		headThenGet(t, "/get-head/", "GET", "HEAD", "GET")
	})

	t.Run("100-continue", func(t *testing.T) {
		w := dialWire(t, addr)
		w.send(t, "POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\nExpect: 100-continue\r\n\r\n")
		interim, err := http.ReadResponse(w.br, &http.Request{Method: "POST"})
		if err != nil || interim.StatusCode != 100 {
			t.Fatalf("before sending the body: %v, %v; want 100 Continue", interim, err)
		}
		w.send(t, "hello world")
		resp, body := w.read(t, "POST")
		if want := echoed([]byte("hello world"), "", ""); resp.StatusCode != 200 || body != want {
			t.Errorf("got %d %q, want 200 %q", resp.StatusCode, body, want)
		}
	})

	t.Run("Connection: close", func(t *testing.T) {
		w := dialWire(t, addr)
		w.send(t, "GET /n/6 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
		resp, body := w.read(t, "GET")
		if resp.StatusCode != 200 || body != "6" || !resp.Close {
			t.Errorf("got %d %q, close %v; want 200 6 with Connection: close", resp.StatusCode, body, resp.Close)
		}
		w.closed(t)
	})

	t.Run("HTTP/1.0", func(t *testing.T) {
		w := dialWire(t, addr)
		w.send(t, "GET /n/7 HTTP/1.0\r\n\r\n") // no Host: HTTP/1.0 does not need one
		resp, body := w.read(t, "GET")
		if resp.StatusCode != 200 || body != "7" {
			t.Errorf("got %d %q, want 200 7", resp.StatusCode, body)
		}
		w.closed(t)
	})

	t.Run("HTTP/1.0 with Host", func(t *testing.T) {
		w := dialWire(t, addr)
		w.send(t, "GET /n/8 HTTP/1.0\r\nHost: h\r\n\r\n")
		resp, body := w.read(t, "GET")
		if resp.StatusCode != 200 || body != "8" {
			t.Errorf("got %d %q, want 200 8", resp.StatusCode, body)
		}
		w.closed(t)
	})

	t.Run("HTTP/1.0 keep-alive", func(t *testing.T) {
		w := dialWire(t, addr)
		req := "GET /n/9 HTTP/1.0\r\nHost: h\r\nConnection: keep-alive\r\n\r\n"
		for range 2 {
			w.send(t, req)
			resp, body := w.read(t, "GET")
			if resp.StatusCode != 200 || body != "9" || resp.Close {
				t.Fatalf("got %d %q, close %v; want 200 9 with the connection kept", resp.StatusCode, body, resp.Close)
			}
		}
	})
}

func slicesEqual(got []string, want ...string) bool {
	return strings.Join(got, "\x00") == strings.Join(want, "\x00")
}

// TestHTTPLimitsAndSmuggling sends requests the proxy must refuse: each gets
// its status and a closed connection, none reaches the backend whole, and
// the proxy goes on serving other connections.
func TestHTTPLimitsAndSmuggling(t *testing.T) {
	t.Parallel()
	// complete counts the requests whose body the backend read whole: an
	// error found in a body may come after its head and first bytes went
	// upstream (bodies are streamed), but the upstream connection must then
	// be cut, so that the backend never takes the request as complete.
	var complete atomic.Int64
	b := startHTTP(t, func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.Copy(io.Discard, r.Body); err == nil {
			complete.Add(1)
		}
		io.WriteString(w, "ok")
	})
	_, addrs := startBinary(t, httpConfig(t, b.addr(),
		patch{proxyConf + ".max_request_header_bytes", "4096"},
		patch{proxyConf + ".max_request_body_bytes", "1024"}))
	addr := addrs[0]

	tests := []struct {
		name   string
		req    string
		status int
	}{
		{"head over max_request_header_bytes", "GET / HTTP/1.1\r\nHost: h\r\nX-Big: " + strings.Repeat("a", 5000) + "\r\n\r\n", 431},
		{"many fields over max_request_header_bytes", "GET / HTTP/1.1\r\nHost: h\r\n" + strings.Repeat("X-F: 0123456789abcdef\r\n", 300) + "\r\n", 431},
		{"content-length over max_request_body_bytes", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 2000\r\n\r\n" + strings.Repeat("b", 2000), 413},
		{"chunk over max_request_body_bytes", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n7d0\r\n" + strings.Repeat("b", 2000) + "\r\n0\r\n\r\n", 413},
		{"content-length and transfer-encoding", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
		{"transfer-encoding and content-length", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n", 400},
		{"two different content-lengths", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", 400},
		{"content-length list of different values", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5, 6\r\n\r\nhello!", 400},
		{"negative content-length", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n", 400},
		{"bad chunk size", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n", 400},
		{"chunk size with a sign", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n+5\r\nhello\r\n0\r\n\r\n", 400},
		{"chunk data longer than its size", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhello\r\n0\r\n\r\n", 400},
		{"bare LF in the head", "GET / HTTP/1.1\r\nHost: h\nX-A: b\r\n\r\n", 400},
		{"bare LF ending the head", "GET / HTTP/1.1\nHost: h\n\n", 400},
		{"obsolete line folding", "GET / HTTP/1.1\r\nHost: h\r\nX-A: b\r\n c\r\n\r\n", 400},
		{"space before the colon", "GET / HTTP/1.1\r\nHost: h\r\nX-A : b\r\n\r\n", 400},
		{"no Host in HTTP/1.1", "GET / HTTP/1.1\r\nX-A: b\r\n\r\n", 400},
		{"transfer-encoding other than chunked", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: identity\r\n\r\nhello", 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := complete.Load()
			w := dialWire(t, addr)
			w.send(t, tt.req)
			resp, body := w.read(t, "GET")
			if resp.StatusCode != tt.status {
				t.Errorf("status %d (%q), want %d", resp.StatusCode, body, tt.status)
			}
			if !resp.Close {
				t.Errorf("response without Connection: close")
			}
			w.closed(t)
			if n := complete.Load() - before; n != 0 {
				t.Errorf("the backend read it whole (%d requests)", n)
			}
			// Other connections are served.
			ok := dialWire(t, addr)
			ok.send(t, get("/"))
			if resp, body := ok.read(t, "GET"); resp.StatusCode != 200 || body != "ok" {
				t.Errorf("a normal request afterwards: %d %q, want 200 ok", resp.StatusCode, body)
			}
		})
	}
}

// TestHTTPUpstreamDiesMidResponse has the backend close its connection at
// points of its answer. Before the response has started the client gets a
// 502; after, its connection is closed and the body read fails — never a
// hang, never a body passed off as whole. The proxy goes on serving.
func TestHTTPUpstreamDiesMidResponse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		answer  string // what the backend writes before closing
		started bool   // the response head is whole
	}{
		{"before the response", "", false},
		{"mid head", "HTTP/1.1 200 OK\r\nContent-Le", false},
		{"mid content-length body", "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + strings.Repeat("x", 1000), true},
		{"mid chunked body", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n400\r\n" + strings.Repeat("y", 100), true},
		{"between chunks", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n", true},
	}
	var routes, cs []string
	for i, tt := range tests {
		b := startBackend(t, func(c *net.TCPConn) {
			br := bufio.NewReader(c)
			if _, err := http.ReadRequest(br); err != nil {
				return
			}
			io.WriteString(c, tt.answer)
		})
		name := "case" + strconv.Itoa(i)
		routes = append(routes, forward("/"+name+"/", name, ""))
		cs = append(cs, clusterJSON(name, "LB_ROUNDROBIN", b.addr()))
	}
	ok := namedHTTP(t, "ok")
	routes = append(routes, forward("/ok", "ok", ""))
	cs = append(cs, clusterJSON("ok", "LB_ROUNDROBIN", ok.addr()))
	_, addrs := startBinary(t, httpConfig(t, "127.0.0.1:1", routesPatch(routes...), clustersPatch(cs...)))

	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			client, _ := newClient(t, 1)
			resp, body, err := tryRequest(client, "GET", addrs[0], "", fmt.Sprintf("/case%d/x", i), nil)
			var ne net.Error
			switch {
			case errors.As(err, &ne) && ne.Timeout(), errors.Is(err, os.ErrDeadlineExceeded):
				t.Fatalf("the client hung: %v", err)
			case !tt.started:
				if err != nil || resp.StatusCode != 502 {
					t.Errorf("got %v, %q, %v; want a 502", resp, body, err)
				}
			case err == nil:
				t.Errorf("got %d and a body of %d bytes read whole; want the connection cut short", resp.StatusCode, len(body))
			case resp != nil && resp.StatusCode != 200:
				t.Errorf("status %d, want the backend's 200 before the cut", resp.StatusCode)
			case resp != nil && !errors.Is(err, io.ErrUnexpectedEOF):
				t.Errorf("body read: %v, want unexpected EOF", err)
			}
			if resp, body := request(t, client, "GET", addrs[0], "", "/ok", nil); resp.StatusCode != 200 || body != "ok" {
				t.Errorf("afterwards: %d %q, want 200 ok", resp.StatusCode, body)
			}
		})
	}
}

// TestHTTPMaxRequestsPerConn sets max_request_per_conn to 2: six requests
// in a row (one keep-alive client connection) reach the backend with no
// upstream connection carrying more than two. (How many connections that
// takes is timing: the client may send its next request before the
// proxy's read goroutine has put the upstream connection back in the pool.)
func TestHTTPMaxRequestsPerConn(t *testing.T) {
	t.Parallel()
	b := namedHTTP(t, "ok")
	_, addrs := startBinary(t, httpConfig(t, b.addr(), patch{cluster0 + ".max_request_per_conn", "2"}))
	w := dialWire(t, addrs[0])
	for i := range 6 {
		w.send(t, get("/"+strconv.Itoa(i)))
		if resp, body := w.read(t, "GET"); resp.StatusCode != 200 || body != "ok" {
			t.Fatalf("request %d: %d %q", i, resp.StatusCode, body)
		}
	}
	b.mu.Lock()
	remotes := append([]string(nil), b.remotes...)
	b.mu.Unlock()
	if len(remotes) != 6 || b.conns() < 3 {
		t.Fatalf("backend saw %d requests on %d connections (%q), want 6 on at least 3", len(remotes), b.conns(), remotes)
	}
	perConn := map[string]int{}
	for _, r := range remotes {
		if perConn[r]++; perConn[r] > 2 {
			t.Errorf("upstream connection %s carried %d requests, want at most 2 (%q)", r, perConn[r], remotes)
		}
	}
}
