package test

// Answers the HTTP/1.1 proxy makes itself (404, 502, 503, 504, direct
// responses, redirects, fault aborts) and its retries, against backends
// that refuse, never answer, or count what reaches them.

import (
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/sidecar-mesh/mosn/pkg/upstream"
)

// TestHTTPLocalReplies checks each reply the proxy makes without (or
// instead of) an upstream response: status, body and headers.
func TestHTTPLocalReplies(t *testing.T) {
	t.Parallel()
	ok := namedHTTP(t, "ok")
	good := namedHTTP(t, "good")
	hang, hangConns := silent(t)
	first, firstConns := silent(t) // the per-try cluster's first host
	cfg := httpConfig(t, ok.addr(),
		routesPatch(
			`{"match": {"path": "/ok"}, "route": {"cluster_name": "c"}}`,
			forward("/refused", "refused", ""),
			`{"match": {"prefix": "/timeout"}, "route": {"cluster_name": "hang", "timeout": "300ms"}}`,
			// A try gets 2s, far more than the good host needs; the first
			// host never answers, so its try always times out.
			forward("/per-try", "per-try", `"retry_policy": {"retry_on": true, "num_retries": 1, "retry_timeout": "2s"}`),
			`{"match": {"path": "/direct"}, "direct_response": {"status": 200, "body": "healthy"}}`,
			`{"match": {"path": "/direct-empty"}, "direct_response": {"status": 403}}`,
			`{"match": {"prefix": "/old/"}, "redirect": {"path_redirect": "/new/", "response_code": 302}}`,
			`{"match": {"prefix": "/moved"}, "redirect": {"host_redirect": "new.example:8443", "scheme_redirect": "https", "response_code": 308}}`),
		clustersPatch(
			clusterJSON("c", "LB_ROUNDROBIN", ok.addr()),
			clusterJSON("refused", "LB_ROUNDROBIN", refusingAddr(t)),
			clusterJSON("hang", "LB_ROUNDROBIN", hang.addr()),
			clusterJSON("per-try", "LB_ROUNDROBIN", first.addr(), good.addr())),
		patch{l0 + ".stream_filters", `[{"type": "fault", "config": {"abort": {"status": 418, "percentage": 100}, "headers": [{"name": "x-fault", "value": "yes"}]}}]`})
	_, addrs := startBinary(t, cfg)
	client, _ := newClient(t, 4)

	tests := []struct {
		name, host, path string
		header           []string
		status           int
		body             string // exact, or with a leading "~", substrings separated by "|"
		location         string
	}{
		{name: "no route", host: "nowhere.test", path: "/nope?x=1", status: 404, body: "~nowhere.test|/nope"},
		{name: "connect refused", path: "/refused", status: 502, body: "~upstream connect failure"},
		{name: "route timeout", path: "/timeout", status: 504, body: "~timeout"},
		{name: "per-try timeout, retried on the second host", path: "/per-try", status: 200, body: "good"},
		// MOSN and Envoy send a direct response's body as configured.
		{name: "direct response", path: "/direct", status: 200, body: "healthy"},
		{name: "direct response without a body", path: "/direct-empty", status: 403, body: ""},
		{name: "redirect path", host: "front.test", path: "/old/page?q=1", status: 302, location: "http://front.test/new/?q=1"},
		{name: "redirect scheme and host", host: "front.test:8080", path: "/moved/x?y=2", status: 308, location: "https://new.example:8443/moved/x?y=2"},
		{name: "fault with the header", path: "/ok", header: []string{"X-Fault: yes"}, status: 418, body: "~418"},
		{name: "fault header with another value", path: "/ok", header: []string{"X-Fault: no"}, status: 200, body: "ok"},
		{name: "fault without the header", path: "/ok", status: 200, body: "ok"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := request(t, client, "GET", addrs[0], tt.host, tt.path, nil, tt.header...)
			if resp.StatusCode != tt.status {
				t.Errorf("status %d (body %q), want %d", resp.StatusCode, body, tt.status)
			}
			if want, ok := strings.CutPrefix(tt.body, "~"); ok {
				for s := range strings.SplitSeq(want, "|") {
					if !strings.Contains(body, s) {
						t.Errorf("body %q does not contain %q", body, s)
					}
				}
			} else if body != tt.body {
				t.Errorf("body %q, want %q", body, tt.body)
			}
			if got := resp.Header.Get("Location"); got != tt.location {
				t.Errorf("Location %q, want %q", got, tt.location)
			}
		})
	}
	// The per-try case: the first host was tried once (then its connection
	// was closed), the second answered.
	if n := firstConns.Load(); n != 1 {
		t.Errorf("the per-try cluster's silent host got %d connections, want 1", n)
	}
	waitUntil(t, "the timed-out upstream connections to close", func() bool { return first.open() == 0 && hang.open() == 0 })
	if n := hangConns.Load(); n != 1 {
		t.Errorf("the route-timeout host got %d connections, want 1 (no retry policy)", n)
	}
	if n := good.requests.Load(); n != 1 {
		t.Errorf("the per-try cluster's second host got %d requests, want 1", n)
	}
}

// TestHTTPNoHealthyHost empties a cluster's hosts at run time (the config
// refuses a SIMPLE cluster without hosts): requests to it get a 503 that
// names the cluster.
func TestHTTPNoHealthyHost(t *testing.T) {
	t.Parallel()
	ok := namedHTTP(t, "ok")
	srv := startInProcess(t, httpConfig(t, ok.addr()))
	client, _ := newClient(t, 1)
	if resp, body := request(t, client, "GET", srv.addr(0), "", "/", nil); resp.StatusCode != 200 || body != "ok" {
		t.Fatalf("before: %d %q, want 200 ok", resp.StatusCode, body)
	}
	if err := srv.Clusters().AddOrUpdate(upstream.ClusterOptions{Name: "c", LB: upstream.LBRoundRobin}); err != nil {
		t.Fatal(err)
	}
	resp, body := request(t, client, "GET", srv.addr(0), "", "/", nil)
	if resp.StatusCode != 503 || !strings.Contains(body, "no healthy host") || !strings.Contains(body, "cluster c") {
		t.Errorf("without hosts: %d %q, want 503 naming no healthy host in cluster c", resp.StatusCode, body)
	}
	if n := ok.requests.Load(); n != 1 {
		t.Errorf("the removed host got %d requests, want 1", n)
	}
}

// TestHTTPCircuitBreakerOverflow holds the one connection max_connections
// allows with a request the backend never answers: a second request is
// answered 503 at once, and once the first is gone a third gets through.
func TestHTTPCircuitBreakerOverflow(t *testing.T) {
	t.Parallel()
	calls := atomic.Int64{}
	hold := make(chan struct{})
	b := startHTTP(t, func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			select { // the first request waits until the test lets it go
			case <-hold:
			case <-r.Context().Done():
			}
		}
		io.WriteString(w, "ok")
	})
	srv := startInProcess(t, httpConfig(t, b.addr(), patch{cluster0 + ".circuit_breakers", `[{"max_connections": 1}]`}))
	cs := srv.cluster(t, "c")

	held := dialWire(t, srv.addr(0))
	held.send(t, get("/held"))
	waitUntil(t, "the first request to reach the backend", func() bool { return calls.Load() == 1 })

	client, _ := newClient(t, 1)
	resp, body := request(t, client, "GET", srv.addr(0), "", "/second", nil)
	if resp.StatusCode != 503 || !strings.Contains(body, "overflow") {
		t.Errorf("second request: %d %q, want 503 overflow", resp.StatusCode, body)
	}
	if got := cs.ConnectionOverflow.Load(); got != 1 {
		t.Errorf("cluster connection overflow = %d, want 1", got)
	}
	close(hold)
	if resp, body := held.read(t, "GET"); resp.StatusCode != 200 || body != "ok" {
		t.Errorf("held request: %d %q, want 200 ok", resp.StatusCode, body)
	}
	resp, body = request(t, client, "GET", srv.addr(0), "", "/third", nil)
	if resp.StatusCode != 200 || body != "ok" {
		t.Errorf("third request: %d %q, want 200 ok", resp.StatusCode, body)
	}
}

// TestHTTPRetries counts the requests a backend sees for each retry case.
func TestHTTPRetries(t *testing.T) {
	t.Parallel()
	type backendFn func(n int64, w http.ResponseWriter, r *http.Request) // n: 1 for the first request
	unavailable := func(_ int64, w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(503)
		io.WriteString(w, "unavailable")
	}
	tests := []struct {
		name    string
		policy  string // the route's retry_policy
		method  string
		body    string
		backend backendFn
		status  int
		resp    string
		tries   int64
	}{
		{
			name:   "503 once, then 200",
			policy: `{"retry_on": true, "num_retries": 2}`,
			backend: func(n int64, w http.ResponseWriter, r *http.Request) {
				if n == 1 {
					w.WriteHeader(503)
				}
				io.WriteString(w, "ok")
			},
			status: 200, resp: "ok", tries: 2,
		},
		{name: "always 503: num_retries 2 makes 3 tries", policy: `{"retry_on": true, "num_retries": 2}`, backend: unavailable, status: 503, resp: "unavailable", tries: 3},
		{name: "num_retries 0", policy: `{"retry_on": true, "num_retries": 0}`, backend: unavailable, status: 503, resp: "unavailable", tries: 1},
		{name: "retry_on false", policy: `{"retry_on": false, "num_retries": 2}`, backend: unavailable, status: 503, resp: "unavailable", tries: 1},
		{name: "a 500 is retried too", policy: `{"retry_on": true, "num_retries": 1}`, backend: func(n int64, w http.ResponseWriter, r *http.Request) {
			if n == 1 {
				w.WriteHeader(500)
			}
			io.WriteString(w, "ok")
		}, status: 200, resp: "ok", tries: 2},
		{name: "a 404 is not retried", policy: `{"retry_on": true, "num_retries": 2}`, backend: func(_ int64, w http.ResponseWriter, r *http.Request) {
			http.NotFound(w, r)
		}, status: 404, resp: "404 page not found\n", tries: 1},
		{
			// The body was streamed upstream and not kept: it cannot be
			// sent again.
			name: "a POST whose body was sent is not retried", policy: `{"retry_on": true, "num_retries": 2}`,
			method: "POST", body: "payload", backend: unavailable, status: 503, resp: "unavailable", tries: 1,
		},
		{
			name: "connection closed before the response, then 200", policy: `{"retry_on": true, "num_retries": 1}`,
			backend: func(n int64, w http.ResponseWriter, r *http.Request) {
				if n == 1 {
					c, _, _ := http.NewResponseController(w).Hijack()
					c.Close()
					return
				}
				io.WriteString(w, "ok")
			},
			status: 200, resp: "ok", tries: 2,
		},
	}
	var routes, cs []string
	type seen struct {
		n      atomic.Int64
		bodies chan string
	}
	counters := make([]*seen, len(tests))
	for i, tt := range tests {
		s := &seen{bodies: make(chan string, 10)}
		counters[i] = s
		b := startHTTP(t, func(w http.ResponseWriter, r *http.Request) {
			n := s.n.Add(1)
			if r.Method == "POST" {
				data, _ := io.ReadAll(r.Body)
				s.bodies <- string(data)
			}
			tt.backend(n, w, r)
		})
		name := "case" + string(rune('a'+i))
		routes = append(routes, forward("/"+name+"/", name, `"retry_policy": `+tt.policy))
		cs = append(cs, clusterJSON(name, "LB_ROUNDROBIN", b.addr()))
	}
	_, addrs := startBinary(t, httpConfig(t, "127.0.0.1:1", routesPatch(routes...), clustersPatch(cs...)))
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			client, _ := newClient(t, 1)
			method := tt.method
			if method == "" {
				method = "GET"
			}
			var body io.Reader
			if tt.body != "" {
				body = strings.NewReader(tt.body)
			}
			path := "/case" + string(rune('a'+i)) + "/x"
			resp, got := request(t, client, method, addrs[0], "", path, body)
			if resp.StatusCode != tt.status || got != tt.resp {
				t.Errorf("client got %d %q, want %d %q", resp.StatusCode, got, tt.status, tt.resp)
			}
			if n := counters[i].n.Load(); n != tt.tries {
				t.Errorf("backend saw %d requests, want %d", n, tt.tries)
			}
			if tt.body != "" {
				select {
				case b := <-counters[i].bodies:
					if b != tt.body {
						t.Errorf("backend read body %q, want %q", b, tt.body)
					}
				default: // it sends before it answers
					t.Errorf("backend read no body")
				}
			}
		})
	}
}
