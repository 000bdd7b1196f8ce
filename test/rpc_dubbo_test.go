package test

import (
	"encoding/hex"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/sidecar-mesh/mosn/pkg/protocol/dubbo"
	"github.com/sidecar-mesh/mosn/pkg/protocol/rpc"
	rpcstream "github.com/sidecar-mesh/mosn/pkg/stream/rpc"
)

// capturedDubbo is the echo("hello") request sofa-rpc-node with
// dubbo-remoting sent (pkg/protocol/dubbo/testdata).
func capturedDubbo(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile("../pkg/protocol/dubbo/testdata/request.bin")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestDubboToDubbo: a real Dubbo consumer calls a real provider through the
// proxy, routed on the service header the hessian2 body yields, 200 calls
// from 4 connections on one upstream connection.
func TestDubboToDubbo(t *testing.T) {
	t.Parallel()
	_, port := startPeer(t, "dubbo", "d1")
	cfg := rpcConfig(t, "Dubbo", "dubbo", []string{"127.0.0.1:" + port},
		patch{"servers[0].routers[0].virtual_hosts[0].routers", `[
		  {"match": {"headers": [{"name": "service", "value": "com.example.EchoService"}, {"name": "group", "value": "SOFA"}]}, "route": {"cluster_name": "c"}}]`})
	srv := startInProcess(t, cfg)
	r := callPeer(t, "dubbo", srv.addr(0), append(echoArgs(200), "--conns", "4")...)
	if r.OK != 200 || len(r.Errors) > 0 {
		t.Fatalf("%d of 200 ok; errors %v", r.OK, r.Errors)
	}
	if s, _ := r.Results[0].(string); !strings.HasPrefix(s, "d1:") {
		t.Fatalf("results %v", r.Results)
	}
	if n := srv.cluster(t, "c").ConnectionTotal.Load(); n != 1 {
		t.Errorf("%d upstream connections, want 1", n)
	}
	// No route for another service: SERVICE_NOT_FOUND, and the consumer says so.
	r = callPeer(t, "dubbo", srv.addr(0), "--service", "com.example.OtherService", "--method", "whoami")
	if r.OK != 0 || len(r.Errors) != 1 || !strings.Contains(r.Errors[0], "no route") {
		t.Fatalf("no route: %+v", r)
	}
}

// TestDubboLocalReplies: timeout, crash and heartbeats, on a raw client.
func TestDubboLocalReplies(t *testing.T) {
	t.Parallel()
	silent := startFrameServer(t, dubbo.Codec{}, func(*rpc.Frame) [][]byte { return nil })
	_, crashPort := startPeer(t, "dubbo", "crash")
	cfg := rpcConfig(t, "dubbo", "dubbo", []string{silent.addr()},
		patch{"servers[0].routers[0].virtual_hosts[0].routers", `[
		  {"match": {"headers": [{"name": "service", "value": "com.example.OtherService"}]}, "route": {"cluster_name": "crash"}},
		  {"match": {"headers": [{"name": "service", "value": "com.example.EchoService"}]}, "route": {"cluster_name": "c", "timeout": "200ms"}}]`},
		patch{"cluster_manager.clusters[1]", `{"name": "crash", "type": "SIMPLE", "lb_type": "LB_RANDOM", "hosts": [{"address": "127.0.0.1:` + crashPort + `"}]}`})
	srv := startInProcess(t, cfg)

	fc := dialFrames(t, srv.addr(0), dubbo.Codec{})
	hb, _ := hex.DecodeString("dabbe2000000000000000009000000014e")
	fc.write(hb)
	if f, err := fc.read(); err != nil || f.Kind != rpc.KindHeartbeatAck || f.ID != 9 || f.Status != dubbo.StatusOK {
		t.Fatalf("heartbeat: %v %+v", err, f)
	}
	fc.write(capturedDubbo(t))
	f, err := fc.read()
	if err != nil || f.Kind != rpc.KindResponse || f.Status != dubbo.StatusServerTimeout || f.ID != 1 {
		t.Fatalf("timeout: %v %+v", err, f)
	}
	select {
	case g := <-silent.frames:
		if g.Kind != rpc.KindRequest {
			t.Fatalf("the upstream saw a %v first", g.Kind)
		}
	case <-time.After(waitBound):
		t.Fatal("the upstream saw nothing")
	}

	r := callPeer(t, "dubbo", srv.addr(0), "--service", "com.example.OtherService", "--method", "exit")
	if r.OK != 0 || len(r.Errors) != 1 || !strings.Contains(r.Errors[0], "upstream reset") {
		t.Fatalf("crash: %+v", r)
	}
}

// TestDubboBadFrames: a bad magic and a body that is not hessian2 close
// their own connection, counted; a real consumer keeps working.
func TestDubboBadFrames(t *testing.T) {
	t.Parallel()
	_, port := startPeer(t, "dubbo", "d1")
	srv := startInProcess(t, rpcConfig(t, "dubbo", "dubbo", []string{"127.0.0.1:" + port}))
	stats := rpcstream.ProcessStats()
	before := stats.CorruptFrames.Load()
	req := capturedDubbo(t)
	notHessian := append([]byte(nil), req...)
	notHessian[16] = 0x40 // the first body value is no string
	for _, bad := range [][]byte{{0xda, 0xbc, 0, 0}, notHessian} {
		fc := dialFrames(t, srv.addr(0), dubbo.Codec{})
		fc.write(bad)
		if _, err := fc.read(); err == nil {
			t.Fatal("a bad frame was answered")
		}
	}
	waitUntil(t, "the bad frames counted", func() bool { return stats.CorruptFrames.Load() >= before+2 })
	if r := callPeer(t, "dubbo", srv.addr(0), echoArgs(5)...); r.OK != 5 {
		t.Fatalf("a real consumer after the bad frames: %+v", r)
	}
}
