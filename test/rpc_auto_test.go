package test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/sidecar-mesh/mosn/pkg/stream/auto"
)

// autoConfig is an Auto listener (upstream_protocol empty: each connection
// goes upstream in the protocol it was detected as) routing bolt's
// service "com.example.EchoService:1.0" to a bolt server, Dubbo's
// "com.example.EchoService" to a Dubbo provider and everything else to an
// HTTP server speaking HTTP/1.1 and h2c.
func autoConfig(t *testing.T, down, boltHost, dubboHost, httpHost string) string {
	return rpcConfig(t, down, "", []string{boltHost},
		patch{"servers[0].listeners[0].filter_chains[0].filters[0].config.upstream_protocol", ""},
		patch{"servers[0].routers[0].virtual_hosts[0].routers", `[
		  {"match": {"headers": [{"name": "service", "value": "com.example.EchoService:1.0"}]}, "route": {"cluster_name": "c"}},
		  {"match": {"headers": [{"name": "service", "value": "com.example.EchoService"}]}, "route": {"cluster_name": "d"}},
		  {"match": {"prefix": "/"}, "route": {"cluster_name": "h"}}]`},
		patch{"cluster_manager.clusters[1]", `{"name": "d", "type": "SIMPLE", "lb_type": "LB_RANDOM", "hosts": [{"address": "` + dubboHost + `"}]}`},
		patch{"cluster_manager.clusters[2]", `{"name": "h", "type": "SIMPLE", "lb_type": "LB_RANDOM", "hosts": [{"address": "` + httpHost + `"}]}`})
}

// TestAutoDetection: bolt, Dubbo, HTTP/1.1 and HTTP/2 clients on one Auto
// listener each reach their own kind of server; bytes no protocol starts
// close the connection, counted.
func TestAutoDetection(t *testing.T) {
	t.Parallel()
	_, boltPort := startPeer(t, "bolt", "b1")
	_, dubboPort := startPeer(t, "dubbo", "d1")
	web := startH2Backend(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "web "+r.Proto)
	})
	srv := startInProcess(t, autoConfig(t, "Auto", "127.0.0.1:"+boltPort, "127.0.0.1:"+dubboPort, web.addr()))
	addr := srv.addr(0)

	if r := callPeer(t, "bolt", addr, echoArgs(10)...); r.OK != 10 || !strings.HasPrefix(r.Results[0].(string), "b1:") {
		t.Fatalf("bolt: %+v", r)
	}
	if r := callPeer(t, "bolt", addr, append(echoArgs(10), "--bolt2")...); r.OK != 10 {
		t.Fatalf("bolt v2: %+v", r)
	}
	if r := callPeer(t, "dubbo", addr, echoArgs(10)...); r.OK != 10 || !strings.HasPrefix(r.Results[0].(string), "d1:") {
		t.Fatalf("dubbo: %+v", r)
	}
	for _, c := range []struct {
		client *http.Client
		want   string
	}{{&http.Client{Timeout: waitBound}, "web HTTP/1.1"}, {h2Client(t), "web HTTP/2.0"}} {
		resp, err := c.client.Get("http://" + addr + "/x")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(body) != c.want {
			t.Fatalf("http: %d %q, want %q", resp.StatusCode, body, c.want)
		}
	}

	unknown := auto.ProcessStats().Unknown.Load()
	c := dial(t, addr)
	c.Write([]byte("SSH-2.0-OpenSSH_9.2\r\n"))
	expectClosed(t, c)
	waitUntil(t, "the unknown connection counted", func() bool { return auto.ProcessStats().Unknown.Load() > unknown })
}

// TestAutoList: "bolt,dubbo" detects only those two; HTTP is refused.
func TestAutoList(t *testing.T) {
	t.Parallel()
	_, boltPort := startPeer(t, "bolt", "b1")
	web := startH2Backend(t, func(w http.ResponseWriter, r *http.Request) {})
	srv := startInProcess(t, autoConfig(t, "bolt,dubbo", "127.0.0.1:"+boltPort, "127.0.0.1:1", web.addr()))
	if r := callPeer(t, "bolt", srv.addr(0), echoArgs(3)...); r.OK != 3 {
		t.Fatalf("bolt: %+v", r)
	}
	c := dial(t, srv.addr(0))
	c.Write([]byte("GET / HTTP/1.1\r\nhost: x\r\n\r\n"))
	expectClosed(t, c)
}
