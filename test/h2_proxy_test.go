package test

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// echoHandler answers with the request's protocol, method, host, path and
// body, and a trailer when asked.
func echoHandler(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if r.Header.Get("want-trailer") != "" {
		w.Header().Set("Trailer", "x-sum")
	}
	w.Header().Set("x-proto", r.Proto)
	w.Header().Set("x-host", r.Host)
	w.Header().Set("x-req-trailer", r.Trailer.Get("x-client-trailer"))
	fmt.Fprintf(w, "%s %s %s %d", r.Method, r.URL.Path, r.Host, len(body))
	if r.Header.Get("want-trailer") != "" {
		w.Header().Set("x-sum", fmt.Sprintf("%x", sha256.Sum256(body)))
	}
}

// TestH2ProtocolPairs sends requests through every pairing of HTTP/1.1
// and HTTP/2 downstream and upstream: head, host, body and trailers arrive
// as they were sent.
func TestH2ProtocolPairs(t *testing.T) {
	t.Parallel()
	be := startH2Backend(t, echoHandler)
	for _, pair := range [][2]string{{"Http2", "Http2"}, {"Http2", "Http1"}, {"Http1", "Http2"}} {
		t.Run(pair[0]+"-"+pair[1], func(t *testing.T) {
			t.Parallel()
			srv := startInProcess(t, h2Config(t, pair[0], pair[1], "", []string{be.addr()}))
			addr := srv.addr(0)
			var c *http.Client
			if pair[0] == "Http2" {
				c = h2Client(t)
			} else {
				c = &http.Client{Timeout: waitBound}
			}
			wantProto := "HTTP/2.0"
			if pair[1] == "Http1" {
				wantProto = "HTTP/1.1"
			}
			// A plain GET.
			resp, err := c.Get("http://" + addr + "/hello")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || string(body) != "GET /hello "+addr+" 0" || resp.Header.Get("x-proto") != wantProto {
				t.Fatalf("GET: %d %q %v", resp.StatusCode, body, resp.Header)
			}
			// A body of 1 MiB with request trailers, response trailers back.
			payload := bytes.Repeat([]byte("0123456789abcdef"), 1<<16)
			req, _ := http.NewRequest("POST", "http://"+addr+"/up", io.MultiReader(bytes.NewReader(payload)))
			req.Host = "example.test"
			req.Header.Set("want-trailer", "1")
			req.Trailer = http.Header{"X-Client-Trailer": {"t1"}}
			resp, err = c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ = io.ReadAll(resp.Body)
			resp.Body.Close()
			want := fmt.Sprintf("POST /up example.test %d", len(payload))
			if string(body) != want {
				t.Fatalf("POST: %d %q, want %q", resp.StatusCode, body, want)
			}
			if resp.Header.Get("x-host") != "example.test" {
				t.Errorf("host upstream: %q", resp.Header.Get("x-host"))
			}
			// HTTP/1.1 carries trailers only in chunked bodies, and the Go
			// backend sends a content-length with them, so response
			// trailers reach HTTP/2 clients only. Request trailers reach
			// every upstream: the Trailer field that declares them (which
			// Go's HTTP/2 server needs) is end to end and forwarded.
			if got, want := resp.Trailer.Get("x-sum"), fmt.Sprintf("%x", sha256.Sum256(payload)); pair[0] == "Http2" && got != want {
				t.Errorf("response trailer x-sum %q, want %q", got, want)
			}
			if got := resp.Header.Get("x-req-trailer"); got != "t1" {
				t.Errorf("request trailer seen upstream: %q", got)
			}
		})
	}
}

// TestH2ManyStreams runs many concurrent requests on one downstream HTTP/2
// connection.
func TestH2ManyStreams(t *testing.T) {
	t.Parallel()
	be := startH2Backend(t, echoHandler)
	srv := startInProcess(t, h2Config(t, "Http2", "Http2", "", []string{be.addr()}))
	c := h2Client(t)
	var wg sync.WaitGroup
	var fails counter
	for i := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := c.Post("http://"+srv.addr(0)+fmt.Sprintf("/r%d", i), "text/plain", strings.NewReader("abc"))
			if err != nil {
				fails.add(err.Error())
				return
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if want := fmt.Sprintf("POST /r%d %s 3", i, srv.addr(0)); string(body) != want {
				fails.add(fmt.Sprintf("%d %q", resp.StatusCode, body))
			}
		}()
	}
	wg.Wait()
	if f := fails.snapshot(); len(f) > 0 {
		t.Fatalf("failures: %v", f)
	}
}

// TestH2MosnConfig runs MOSN's HTTP/2 example config
// (../../shared/specs/mosn-configs/http2-proxy.json) with only its
// addresses moved.
func TestH2MosnConfig(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(specs + "/mosn-configs/http2-proxy.json")
	if err != nil {
		t.Fatal(err)
	}
	be := startH2Backend(t, echoHandler)
	srv := startInProcess(t, patchJSON(t, string(raw),
		patch{"servers[0].listeners[0].address", `"127.0.0.1:0"`},
		patch{"cluster_manager.clusters[0].hosts[0].address", strconv.Quote(be.addr())}))
	resp, err := h2Client(t).Get("http://" + srv.addr(0) + "/mosn")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(string(body), "GET /mosn ") || resp.Header.Get("x-proto") != "HTTP/2.0" {
		t.Fatalf("%d %q %v", resp.StatusCode, body, resp.Header)
	}
}

// TestH2RouteUpstreamProtocol: a route's upstream_protocol overrides the
// filter's, both ways between HTTP/1.1 and HTTP/2.
func TestH2RouteUpstreamProtocol(t *testing.T) {
	t.Parallel()
	be := startH2Backend(t, echoHandler)
	for _, tc := range []struct{ filter, route, want string }{
		{"Http1", "Http2", "HTTP/2.0"},
		{"Http2", "Http1", "HTTP/1.1"},
	} {
		srv := startInProcess(t, h2Config(t, tc.filter, tc.filter, `"upstream_protocol": "`+tc.route+`"`, []string{be.addr()}))
		c := &http.Client{Timeout: waitBound}
		if tc.filter == "Http2" {
			c = h2Client(t)
		}
		resp, err := c.Get("http://" + srv.addr(0) + "/r")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("x-proto"); resp.StatusCode != 200 || got != tc.want {
			t.Fatalf("filter %s, route %s: %d, upstream saw %q", tc.filter, tc.route, resp.StatusCode, got)
		}
	}
}

// TestH2Netpoll runs HTTP/2 on the event-loop IO model
// (use_netpoll_mode): concurrent streams with bodies, both conversions.
func TestH2Netpoll(t *testing.T) {
	t.Parallel()
	be := startH2Backend(t, echoHandler)
	for _, pair := range [][2]string{{"Http2", "Http2"}, {"Http2", "Http1"}, {"Http1", "Http2"}} {
		srv := startInProcess(t, h2Config(t, pair[0], pair[1], "", []string{be.addr()},
			patch{"servers[0].use_netpoll_mode", "true"}))
		c := &http.Client{Timeout: waitBound}
		if pair[0] == "Http2" {
			c = h2Client(t)
		}
		var wg sync.WaitGroup
		var fails counter
		for i := range 100 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				body := strings.Repeat("x", i*1000)
				resp, err := c.Post("http://"+srv.addr(0)+"/n", "text/plain", strings.NewReader(body))
				if err != nil {
					fails.add(err.Error())
					return
				}
				got, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if want := fmt.Sprintf("POST /n %s %d", srv.addr(0), len(body)); string(got) != want {
					fails.add(fmt.Sprintf("%d %q", resp.StatusCode, got))
				}
			}()
		}
		wg.Wait()
		if f := fails.snapshot(); len(f) > 0 {
			t.Fatalf("%s-%s: %v", pair[0], pair[1], f)
		}
	}
}
