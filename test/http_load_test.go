package test

// The HTTP/1.1 proxy under real clients and load: curl, wrk while the
// cluster's hosts are replaced, and thousands of failing requests that must
// leave no goroutine or connection behind.

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sidecar-mesh/mosn/pkg/upstream"
)

// needTool skips when a client the test drives is not installed; make test
// installs it (scripts/install-deps.sh), so CI always runs the test.
func needTool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s not installed (scripts/install-deps.sh test installs it)", name)
	}
	return path
}

// TestHTTPCurl drives the proxy with curl: a GET, a POST with a body, a
// chunked upload, and a HEAD, each checked against what the backend saw.
func TestHTTPCurl(t *testing.T) {
	t.Parallel()
	curl := needTool(t, "curl")
	b := startHTTP(t, func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Seen", fmt.Sprintf("%s %s te=%v len=%d", r.Method, r.URL.Path, r.TransferEncoding, len(body)))
		w.Write(body)
	})
	srv := startInProcess(t, httpConfig(t, b.addr()))
	url := "http://" + srv.addr(0)
	tests := []struct {
		name string
		args []string
		seen string // the backend's X-Seen
		body string
	}{
		{"GET", []string{url + "/get"}, "GET /get te=[] len=0", ""},
		{"POST", []string{"-d", "hello", url + "/post"}, "POST /post te=[] len=5", "hello"},
		{"chunked upload", []string{"-H", "Transfer-Encoding: chunked", "-d", "0123456789", url + "/up"}, "POST /up te=[chunked] len=10", "0123456789"},
		{"HEAD", []string{"-I", url + "/head"}, "HEAD /head te=[] len=0", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), waitBound)
			defer cancel()
			args := append([]string{"-sS", "--noproxy", "*", "-D", "-", "-o", "/dev/stdout"}, tt.args...)
			out, err := exec.CommandContext(ctx, curl, args...).CombinedOutput()
			if err != nil {
				t.Fatalf("curl %v: %v\n%s", tt.args, err, out)
			}
			head, body, _ := strings.Cut(strings.ReplaceAll(string(out), "\r\n", "\n"), "\n\n")
			if !strings.HasPrefix(head, "HTTP/1.1 200") {
				t.Fatalf("curl %v: response head %q, want 200", tt.args, head)
			}
			if !strings.Contains(strings.ToLower(head), strings.ToLower("X-Seen: "+tt.seen)) { // names go out lower-cased, as from Envoy
				t.Errorf("backend saw %q, want %q", head, tt.seen)
			}
			if tt.name != "HEAD" && body != tt.body {
				t.Errorf("body %q, want %q", body, tt.body)
			}
		})
	}
}

// wrkResult is what a wrk run reports.
type wrkResult struct {
	requests, errors, non2xx int
	out                      string
}

var (
	wrkRequests = regexp.MustCompile(`(\d+) requests in`)
	wrkErrors   = regexp.MustCompile(`Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
	wrkNon2xx   = regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)`)
)

// runWrk loads url with wrk for d on conns connections.
func runWrk(t *testing.T, url string, conns int, d time.Duration) wrkResult {
	t.Helper()
	wrk := needTool(t, "wrk")
	ctx, cancel := context.WithTimeout(context.Background(), d+waitBound)
	defer cancel()
	out, err := exec.CommandContext(ctx, wrk, "-t1", "-c"+strconv.Itoa(conns), "-d"+d.String(), url).CombinedOutput()
	if err != nil {
		t.Fatalf("wrk: %v\n%s", err, out)
	}
	r := wrkResult{out: string(out)}
	m := wrkRequests.FindStringSubmatch(r.out)
	if m == nil {
		t.Fatalf("wrk printed no request count:\n%s", out)
	}
	r.requests, _ = strconv.Atoi(m[1])
	if m := wrkErrors.FindStringSubmatch(r.out); m != nil {
		for _, s := range m[1:] {
			n, _ := strconv.Atoi(s)
			r.errors += n
		}
	}
	if m := wrkNon2xx.FindStringSubmatch(r.out); m != nil {
		r.non2xx, _ = strconv.Atoi(m[1])
	}
	return r
}

// TestHTTPHostsReplacedUnderLoad runs wrk through the proxy while the
// cluster's host set is replaced again and again, between two disjoint
// pairs of backends: not one request may fail, and both pairs must have
// served.
func TestHTTPHostsReplacedUnderLoad(t *testing.T) {
	t.Parallel()
	needTool(t, "wrk")
	var served [4]atomic.Int64
	addrs := make([]string, 4)
	for i := range addrs {
		b := startHTTP(t, func(w http.ResponseWriter, r *http.Request) {
			served[i].Add(1)
			io.WriteString(w, "ok")
		})
		addrs[i] = b.addr()
	}
	srv := startInProcess(t, httpConfig(t, addrs[0],
		clustersPatch(clusterJSON("c", "LB_ROUNDROBIN", addrs[0], addrs[1]))))

	stop := make(chan struct{})
	var updates atomic.Int64
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			pair := addrs[2*(i%2+1)%4:][:2] // hosts 2,3 then 0,1, …
			err := srv.Clusters().AddOrUpdate(upstream.ClusterOptions{
				Name: "c", LB: "LB_ROUNDROBIN", ConnectTimeout: 5 * time.Second,
				Hosts: []upstream.HostOptions{{Address: pair[0]}, {Address: pair[1]}},
			})
			if err != nil {
				t.Errorf("update %d: %v", i, err)
				return
			}
			updates.Add(1)
		}
	})
	r := runWrk(t, "http://"+srv.addr(0)+"/", 20, 2*time.Second)
	close(stop)
	wg.Wait()
	if r.requests == 0 || r.errors != 0 || r.non2xx != 0 {
		t.Fatalf("wrk: %d requests, %d socket errors, %d non-2xx; want none failed\n%s", r.requests, r.errors, r.non2xx, r.out)
	}
	if updates.Load() < 2 {
		t.Fatalf("only %d host-set updates happened during the run", updates.Load())
	}
	for i := range served {
		if served[i].Load() == 0 {
			t.Errorf("backend %d served nothing over %d updates", i, updates.Load())
		}
	}
	t.Logf("%d requests, %d host-set updates, served per backend: %d %d %d %d", r.requests, updates.Load(),
		served[0].Load(), served[1].Load(), served[2].Load(), served[3].Load())
}

// TestHTTPFailuresLeakNothing sends 10,000 requests that all fail — half to
// a refused upstream (502), half to one that never answers (504 after a
// short route timeout) — and checks the answers, then that the process's
// goroutines and descriptors return to where they were.
func TestHTTPFailuresLeakNothing(t *testing.T) {
	const n, workers = 10000, 50
	silentB, _ := silent(t)
	srv := startInProcess(t, httpConfig(t, refusingAddr(t),
		routesPatch(forward("/refused", "c", ""), forward("/silent", "s", `"timeout": "5ms"`)),
		clustersPatch(clusterJSON("c", "LB_ROUNDROBIN", refusingAddr(t)), clusterJSON("s", "LB_ROUNDROBIN", silentB.addr()))))
	client, tr := newClient(t, workers)
	goroutines := runtime.NumGoroutine()
	fds, _, _, _ := fdCounts()

	var next atomic.Int64
	var got [600]atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := next.Add(1); i <= n; i = next.Add(1) {
				path := "/refused"
				if i%2 == 0 {
					path = "/silent"
				}
				resp, _, err := tryRequest(client, "GET", srv.addr(0), "", path, nil)
				if err != nil {
					t.Errorf("request %d (%s): %v", i, path, err)
					return
				}
				if resp.StatusCode < len(got) {
					got[resp.StatusCode].Add(1)
				}
				if want := map[string]int{"/refused": 502, "/silent": 504}[path]; resp.StatusCode != want {
					t.Errorf("request %d (%s): %d %q, want %d", i, path, resp.StatusCode, resp.Header, want)
				}
			}
		})
	}
	wg.Wait()
	if got[502].Load() != n/2 || got[504].Load() != n/2 {
		t.Errorf("%d answered 502 and %d answered 504, want %d each", got[502].Load(), got[504].Load(), n/2)
	}
	tr.CloseIdleConnections()
	waitUntil(t, "the listener's connections to close", func() bool { return srv.listener(0).ConnectionActive.Load() == 0 })
	settle(t, goroutines, fds)
}
