package test

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// TestH2ProxyFeatures: what the HTTP/1.1 proxy does works the same for an
// HTTP/2 client: routing by authority, local replies, the route timeout,
// retries, the fault filter and the access log.
func TestH2ProxyFeatures(t *testing.T) {
	t.Parallel()
	var flaky atomic.Int64
	be := startH2Backend(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/slow":
			<-r.Context().Done()
			return
		case "/flaky":
			if flaky.Add(1) == 1 {
				w.WriteHeader(503)
				return
			}
		}
		io.WriteString(w, "backend "+r.Host+" "+r.URL.Path)
	})
	logPath := filepath.Join(t.TempDir(), "access.log")
	routes := `[
	  {"match": {"prefix": "/slow"}, "route": {"cluster_name": "c", "timeout": "200ms"}},
	  {"match": {"prefix": "/flaky"}, "route": {"cluster_name": "c", "retry_policy": {"retry_on": true, "num_retries": 1}}},
	  {"match": {"prefix": "/direct"}, "direct_response": {"status": 202, "body": "direct"}},
	  {"match": {"prefix": "/"}, "route": {"cluster_name": "c"}}
	]`
	cfg := h2Config(t, "Http2", "Http2", "", []string{be.addr()},
		patch{"servers[0].routers[0].virtual_hosts[0].domains", `["a.test"]`},
		patch{"servers[0].routers[0].virtual_hosts[0].routers", routes},
		patch{l0 + ".access_logs", `[{"log_path": "` + logPath + `", "log_format": "%protocol% %response_code% %request_header_:path%"}]`},
		patch{l0 + ".stream_filters", `[{"type": "fault", "config": {"abort": {"status": 418, "percentage": 100}, "headers": [{"name": "x-fault", "value": "yes"}]}}]`})
	srv := startInProcess(t, cfg)
	c := h2Client(t)
	do := func(host, path string, hdr ...string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", "http://"+srv.addr(0)+path, nil)
		req.Host = host
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("%s%s: %v", host, path, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode, string(b)
	}
	for _, tc := range []struct {
		host, path string
		hdr        []string
		status     int
		body       string
	}{
		{"a.test", "/x", nil, 200, "backend a.test /x"},
		{"b.test", "/x", nil, 404, "no route"},
		{"a.test", "/direct", nil, 202, "direct"},
		{"a.test", "/slow", nil, 504, "timeout"},
		{"a.test", "/flaky", nil, 200, "backend a.test /flaky"},
		{"a.test", "/x", []string{"x-fault", "yes"}, 418, ""},
	} {
		status, body := do(tc.host, tc.path, tc.hdr...)
		if status != tc.status || !strings.Contains(body, tc.body) {
			t.Errorf("%s%s: %d %q, want %d %q", tc.host, tc.path, status, body, tc.status, tc.body)
		}
	}
	waitUntil(t, "six access log lines", func() bool {
		b, _ := os.ReadFile(logPath)
		return strings.Count(string(b), "\n") >= 6
	})
	b, _ := os.ReadFile(logPath)
	for _, want := range []string{"Http2 200 /x", "Http2 404 /x", "Http2 504 /slow", "Http2 200 /flaky", "Http2 418 /x"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("access log lacks %q:\n%s", want, b)
		}
	}
}
