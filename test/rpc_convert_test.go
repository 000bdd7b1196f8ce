package test

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sidecar-mesh/mosn/pkg/protocol/bolt"
	"github.com/sidecar-mesh/mosn/pkg/protocol/rpc"
)

// TestBoltToHTTP converts a captured bolt request into an HTTP/1.1 request
// and the answers of a Go net/http server back into bolt responses: the
// header map and the bolt fields become headers, content becomes the body,
// and HTTP statuses become bolt statuses.
func TestBoltToHTTP(t *testing.T) {
	t.Parallel()
	for _, up := range []string{"Http1", "Http2"} {
		t.Run(up, func(t *testing.T) {
			t.Parallel()
			type seen struct {
				r    *http.Request
				body []byte
			}
			got := make(chan seen, 4)
			web := startH2Backend(t, func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				got <- seen{r, body}
				if st := r.Header.Get("X-Want-Status"); st != "" {
					n, _ := strconv.Atoi(st)
					w.WriteHeader(n)
					io.WriteString(w, "failed\n")
					return
				}
				w.Header().Set("X-Reply", "yes")
				w.Write(append([]byte("echo:"), body...))
			})
			srv := startInProcess(t, rpcConfig(t, "bolt", up, []string{web.addr()}))
			req := capturedBolt(t, "v1-request.bin")
			var f rpc.Frame
			if _, err := (bolt.Codec{}).Decode(req, &f, rpc.Limits{}); err != nil {
				t.Fatal(err)
			}
			content := append([]byte(nil), f.Body...)

			fc := dialFrames(t, srv.addr(0), bolt.Codec{})
			fc.write(req)
			resp, err := fc.read()
			if err != nil {
				t.Fatal(err)
			}
			s := <-got
			wantProto := map[string]string{"Http1": "HTTP/1.1", "Http2": "HTTP/2.0"}[up]
			if s.r.Method != "POST" || s.r.URL.Path != "/" || s.r.Proto != wantProto ||
				s.r.Header.Get("Service") != "com.example.EchoService:1.0" ||
				s.r.Header.Get("X-Mosn-Timeout") != "10000" || s.r.Header.Get("X-Mosn-Bolt-Class") != bolt.RequestClass ||
				s.r.Header.Get("X-Mosn-Bolt-Version") != "1" || !bytes.Equal(s.body, content) {
				t.Fatalf("the HTTP server saw %s %s %s %v, body %d bytes", s.r.Method, s.r.URL, s.r.Proto, s.r.Header, len(s.body))
			}
			if resp.Status != bolt.StatusSuccess || resp.ID != 1 || string(resp.Body) != "echo:"+string(content) ||
				header(resp, "x-reply") != "yes" {
				t.Fatalf("bolt response: status %d id %d body %q, headers %v", resp.Status, resp.ID, resp.Body, resp.Headers)
			}

			for status, want := range map[int]uint16{503: bolt.StatusServerThreadpoolBusy, 404: bolt.StatusNoProcessor, 500: bolt.StatusServerException} {
				var h = f.Headers
				h.AddString("x-want-status", strconv.Itoa(status))
				fc.write(encodeFrames((bolt.Codec{}).EncodeRequest(uint64(status), &h, nil)))
				resp, err := fc.read()
				<-got
				if err != nil || resp.Status != want || resp.ID != uint64(status) || len(resp.Body) != 0 {
					t.Fatalf("HTTP %d: %v, bolt status %d id %d body %q; want %d", status, err, resp.Status, resp.ID, resp.Body, want)
				}
			}
		})
	}
}

func header(f *rpc.Frame, name string) string {
	v, _ := f.Headers.Get(name)
	return string(v)
}

// TestHTTPToBolt: an HTTP/1.1 client calls a real bolt server through the
// proxy with a SOFARPC body, and gets the answer's content as the body,
// the bolt status as the HTTP status.
func TestHTTPToBolt(t *testing.T) {
	t.Parallel()
	_, port := startPeer(t, "bolt", "s1")
	srv := startInProcess(t, rpcConfig(t, "Http1", "bolt", []string{"127.0.0.1:" + port}))
	var f rpc.Frame
	if _, err := (bolt.Codec{}).Decode(capturedBolt(t, "v1-request.bin"), &f, rpc.Limits{}); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", "http://"+srv.addr(0)+"/", bytes.NewReader(f.Body))
	req.Header.Set("service", "com.example.EchoService:1.0")
	req.Header.Set("x-mosn-timeout", "3000")
	resp, err := (&http.Client{Timeout: waitBound}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("X-Mosn-Bolt-Status") != "0" || !bytes.Contains(body, []byte("s1:hello")) {
		t.Fatalf("%d %v %q", resp.StatusCode, resp.Header, body)
	}
}

// TestBoltOverHTTP2 is the seed's scenario on ports of the kernel's
// choosing: a SOFARPC client sends bolt to one proxy, which converts it to
// HTTP/2 towards a second proxy, which converts it back to bolt towards the
// SOFARPC server; 500 calls over 5 connections, v1 and v2.
func TestBoltOverHTTP2(t *testing.T) {
	t.Parallel()
	for _, via := range []string{"Http2", "Http1"} {
		t.Run(via, func(t *testing.T) {
			t.Parallel()
			_, port := startPeer(t, "bolt", "s1")
			server := startInProcess(t, rpcConfig(t, via, "SofaRpc", []string{"127.0.0.1:" + port}))
			client := startInProcess(t, rpcConfig(t, "SofaRpc", via, []string{server.addr(0)}))
			for _, extra := range [][]string{nil, {"--bolt2"}} {
				r := callPeer(t, "bolt", client.addr(0), append(append(echoArgs(500), "--conns", "5"), extra...)...)
				if r.OK != 500 || len(r.Errors) > 0 {
					t.Fatalf("%v: %d of 500 ok, errors %v", extra, r.OK, r.Errors)
				}
			}
		})
	}
}

// portFree reports whether nothing listens on 127.0.0.1:port and it can be
// bound.
func portFree(port int) bool {
	ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		return false
	}
	ln.Close()
	return true
}

// TestSeedConfig runs ../../shared/specs/seed-config.json verbatim on the
// real binary, with a real SOFARPC server on 127.0.0.1:8080 and a real
// client on 127.0.0.1:2045. Its ports are fixed: when one is taken on this
// machine the test says so and skips.
func TestSeedConfig(t *testing.T) {
	for _, p := range []int{2045, 2046, 8080} {
		if !portFree(p) {
			t.Skipf("port %d is taken on this machine; the seed config binds 2045 and 2046 and calls 8080 as written", p)
		}
	}
	nodePeers(t)
	cfg, err := os.ReadFile(specs + "/seed-config.json")
	if err != nil {
		t.Fatal(err)
	}
	_, port := startPeer(t, "bolt", "seed", "--port", "8080")
	if port != "8080" {
		t.Fatalf("server on %s", port)
	}
	p, addrs := startBinary(t, string(cfg))
	if len(addrs) != 2 || !strings.Contains(strings.Join(addrs, " "), "127.0.0.1:2045") {
		t.Fatalf("listening on %v", addrs)
	}
	start := time.Now()
	r := callPeer(t, "bolt", "127.0.0.1:2045", append(echoArgs(200), "--conns", "4")...)
	if r.OK != 200 || len(r.Errors) > 0 || !strings.HasPrefix(r.Results[0].(string), "seed:") {
		t.Fatalf("%d of 200 ok, errors %v; stdout:\n%s", r.OK, r.Errors, p.stdout)
	}
	r = callPeer(t, "bolt", "127.0.0.1:2045", "--service", "com.example.EchoService", "--method", "plus", "--args", "[1, 2]", "--bolt2")
	if r.OK != 1 || r.Results[0] != float64(3) {
		t.Fatalf("plus over bolt v2: %+v", r)
	}
	t.Logf("seed config: 201 calls through bolt -> HTTP/2 -> bolt in %v", time.Since(start))

	// A graceful stop drains both listeners (the HTTP/2 connection between
	// them goes away with GOAWAY, bolt connections close when idle).
	// It must exit within graceful_timeout (30s) whatever happens; how
	// long the drain took is logged, not judged (TestBoltDrain judges it).
	stop := time.Now()
	p.signal(t, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(45 * time.Second):
		t.Fatalf("mosn still running 45s after SIGTERM; stdout:\n%s", p.stdout)
	}
	if p.code != 0 {
		t.Fatalf("exit %d after SIGTERM; stdout:\n%s", p.code, p.stdout)
	}
	t.Logf("stopped %v after SIGTERM: %s", time.Since(stop), lineWith(p.stdout.String(), "msg=drained"))
}

// TestRouteUpstreamProtocol: a route's upstream_protocol overrides the
// filter's: bolt requests for one service go to an HTTP server, the rest to
// a bolt server.
func TestRouteUpstreamProtocol(t *testing.T) {
	t.Parallel()
	_, port := startPeer(t, "bolt", "s1")
	web := startH2Backend(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "web:"+r.Header.Get("Service"))
	})
	srv := startInProcess(t, rpcConfig(t, "bolt", "bolt", []string{"127.0.0.1:" + port},
		patch{"servers[0].routers[0].virtual_hosts[0].routers", `[
		  {"match": {"headers": [{"name": "service", "value": "com.example.WebService:1.0"}]}, "route": {"cluster_name": "h", "upstream_protocol": "Http2"}},
		  {"match": {"headers": [{"name": "service", "value": ".*"}]}, "route": {"cluster_name": "c"}}]`},
		patch{"cluster_manager.clusters[1]", `{"name": "h", "type": "SIMPLE", "lb_type": "LB_RANDOM", "hosts": [{"address": "` + web.addr() + `"}]}`}))
	var h = protocolHeaders("service", "com.example.WebService:1.0")
	fc := dialFrames(t, srv.addr(0), bolt.Codec{})
	fc.write(encodeFrames((bolt.Codec{}).EncodeRequest(3, h, nil)))
	if f, err := fc.read(); err != nil || f.Status != bolt.StatusSuccess || string(f.Body) != "web:com.example.WebService:1.0" {
		t.Fatalf("override: %v %+v", err, f)
	}
	if r := callPeer(t, "bolt", srv.addr(0), echoArgs(3)...); r.OK != 3 {
		t.Fatalf("bolt: %+v", r)
	}
}
