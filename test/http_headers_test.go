package test

// What the HTTP/1.1 proxy does to headers on the way up and down: the
// X-Forwarded-* fields it adds, the hop-by-hop fields it drops, and the
// route's header edits and path and host rewrites. Requests are written raw,
// so that exactly the fields under test are on the wire.

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// seenRequest is what the header-echo backend reports of a request.
type seenRequest struct {
	Host   string
	URI    string
	Header http.Header
}

// TestHTTPHeaders checks the upstream request and the downstream response
// fields for each case, against a backend that answers with the request it
// got, as JSON, and adds response fields of its own.
func TestHTTPHeaders(t *testing.T) {
	t.Parallel()
	b := startHTTP(t, func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		h := r.Header.Clone()
		w.Header().Set("X-Backend-Secret", "s3cret")
		w.Header().Set("X-Backend-Kept", "kept")
		// Hop-by-hop fields of the response: the proxy must not relay them.
		w.Header().Set("Connection", "X-Resp-Hop")
		w.Header().Set("X-Resp-Hop", "1")
		w.Header().Set("Keep-Alive", "timeout=9")
		json.NewEncoder(w).Encode(seenRequest{Host: r.Host, URI: r.RequestURI, Header: h})
	})
	cfg := httpConfig(t, b.addr(), routesPatch(
		forward("/api/", "c", `"prefix_rewrite": "/v2/", "host_rewrite": "upstream.internal",
			"request_headers_to_add": [
				{"header": {"key": "X-Added", "value": "by-route"}, "append": false},
				{"header": {"key": "X-Multi", "value": "two"}, "append": true}],
			"request_headers_to_remove": ["X-Remove-Me"],
			"response_headers_to_add": [{"header": {"key": "X-Resp-Added", "value": "yes"}, "append": false}],
			"response_headers_to_remove": ["X-Backend-Secret"]`),
		forward("/", "c", "")))
	_, addrs := startBinary(t, cfg)

	tests := []struct {
		name    string
		request string // head lines after the request line, each ending in CRLF
		path    string // the request target
		up      func(t *testing.T, s seenRequest)
		down    func(t *testing.T, h http.Header)
	}{
		{
			name: "X-Forwarded-For and -Proto added",
			path: "/plain", request: "Host: front.test\r\n",
			up: func(t *testing.T, s seenRequest) {
				wantValues(t, s.Header, "X-Forwarded-For", "127.0.0.1")
				wantValues(t, s.Header, "X-Forwarded-Proto", "http")
				if s.Host != "front.test" || s.URI != "/plain" {
					t.Errorf("upstream host %q, target %q; want them unchanged", s.Host, s.URI)
				}
			},
		},
		{
			name: "X-Forwarded-For appended to",
			path: "/plain", request: "Host: h\r\nX-Forwarded-For: 10.0.0.1\r\n",
			up: func(t *testing.T, s seenRequest) {
				wantValues(t, s.Header, "X-Forwarded-For", "10.0.0.1, 127.0.0.1")
			},
		},
		{
			// Two fields are one list (RFC 9110 5.3): every hop is kept.
			name: "X-Forwarded-For in two fields",
			path: "/plain", request: "Host: h\r\nX-Forwarded-For: 10.0.0.1\r\nX-Forwarded-For: 10.0.0.2\r\n",
			up: func(t *testing.T, s seenRequest) {
				if got := strings.Join(s.Header.Values("X-Forwarded-For"), ", "); got != "10.0.0.1, 10.0.0.2, 127.0.0.1" {
					t.Errorf("upstream X-Forwarded-For %q, want every hop: %q", s.Header.Values("X-Forwarded-For"), "10.0.0.1, 10.0.0.2, 127.0.0.1")
				}
			},
		},
		{
			name: "hop-by-hop fields dropped",
			path: "/plain",
			request: "Host: h\r\nConnection: keep-alive, Foo\r\nFoo: bar\r\nKeep-Alive: timeout=5\r\nTE: trailers\r\n" +
				"Upgrade: websocket\r\nProxy-Connection: keep-alive\r\nX-Keep: yes\r\n",
			up: func(t *testing.T, s seenRequest) {
				for _, h := range []string{"Connection", "Foo", "Keep-Alive", "Te", "Upgrade", "Proxy-Connection"} {
					if v, ok := s.Header[h]; ok {
						t.Errorf("hop-by-hop %s: %q reached the backend", h, v)
					}
				}
				wantValues(t, s.Header, "X-Keep", "yes")
			},
			down: func(t *testing.T, h http.Header) {
				for _, name := range []string{"X-Resp-Hop", "Keep-Alive"} {
					if v, ok := h[name]; ok {
						t.Errorf("response hop-by-hop %s: %q reached the client", name, v)
					}
				}
				if got := h.Get("Connection"); got != "" && !strings.EqualFold(got, "keep-alive") {
					t.Errorf("response Connection %q relayed from the backend", got)
				}
			},
		},
		{
			name:    "route rewrites and header edits",
			path:    "/api/users?id=7",
			request: "Host: front.test\r\nX-Remove-Me: 1\r\nX-Added: from-client\r\nX-Multi: one\r\n",
			up: func(t *testing.T, s seenRequest) {
				if s.URI != "/v2/users?id=7" {
					t.Errorf("upstream target %q, want the prefix rewritten: /v2/users?id=7", s.URI)
				}
				if s.Host != "upstream.internal" {
					t.Errorf("upstream Host %q, want upstream.internal", s.Host)
				}
				if v, ok := s.Header["X-Remove-Me"]; ok {
					t.Errorf("X-Remove-Me %q reached the backend", v)
				}
				wantValues(t, s.Header, "X-Added", "by-route")
				wantValues(t, s.Header, "X-Multi", "one", "two")
			},
			down: func(t *testing.T, h http.Header) {
				wantValues(t, h, "X-Resp-Added", "yes")
				wantValues(t, h, "X-Backend-Kept", "kept")
				if v, ok := h["X-Backend-Secret"]; ok {
					t.Errorf("X-Backend-Secret %q reached the client", v)
				}
			},
		},
		{
			name: "no edits on another route",
			path: "/other", request: "Host: front.test\r\nX-Remove-Me: 1\r\n",
			up: func(t *testing.T, s seenRequest) {
				wantValues(t, s.Header, "X-Remove-Me", "1")
				if _, ok := s.Header["X-Added"]; ok {
					t.Errorf("X-Added on a route without edits")
				}
			},
			down: func(t *testing.T, h http.Header) {
				wantValues(t, h, "X-Backend-Secret", "s3cret")
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := dialWire(t, addrs[0])
			w.send(t, "GET "+tt.path+" HTTP/1.1\r\n"+tt.request+"\r\n")
			resp, body := w.read(t, "GET")
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			var s seenRequest
			if err := json.Unmarshal([]byte(body), &s); err != nil {
				t.Fatalf("backend answer %q: %v", body, err)
			}
			if tt.up != nil {
				tt.up(t, s)
			}
			if tt.down != nil {
				tt.down(t, resp.Header)
			}
		})
	}
}

// wantValues checks the values of a field, in order.
func wantValues(t *testing.T, h http.Header, name string, want ...string) {
	t.Helper()
	if got := h.Values(name); !slices.Equal(got, want) {
		t.Errorf("%s: %q, want %q", name, got, want)
	}
}
