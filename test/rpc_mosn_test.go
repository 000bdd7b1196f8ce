package test

import (
	"encoding/hex"
	"os"
	"strings"
	"testing"

	"github.com/sidecar-mesh/mosn/pkg/protocol/bolt"
	"github.com/sidecar-mesh/mosn/pkg/protocol/rpc"
)

// mosnConfig reads one of MOSN's example configs (../../shared/specs/mosn-configs).
func mosnConfig(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(specs + "/mosn-configs/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestMOSNBoltConfig runs MOSN's SOFARPC example (downstream_protocol
// "bolt" with no upstream_protocol, the healthcheck stream filter) with
// only its addresses moved: a real client, a real server, heartbeats
// answered by the proxy.
func TestMOSNBoltConfig(t *testing.T) {
	t.Parallel()
	_, port := startPeer(t, "bolt", "s1")
	cfg := patchJSON(t, mosnConfig(t, "bolt-sofarpc-proxy.json"),
		patch{"servers[0].listeners[0].address", `"127.0.0.1:0"`},
		patch{"cluster_manager.clusters[0].hosts[0].address", `"127.0.0.1:` + port + `"`},
		patch{"admin.address.socket_address.address", `"127.0.0.1"`},
		patch{"admin.address.socket_address.port_value", `0`})
	srv := startInProcess(t, cfg)
	if r := callPeer(t, "bolt", srv.addr(0), append(echoArgs(50), "--conns", "2")...); r.OK != 50 || !strings.HasPrefix(r.Results[0].(string), "s1:") {
		t.Fatalf("%+v", r)
	}
	fc := dialFrames(t, srv.addr(0), bolt.Codec{})
	hb, _ := hex.DecodeString("0101000001000000070100000bb80000000000000000")
	fc.write(hb)
	if f, err := fc.read(); err != nil || f.Kind != rpc.KindHeartbeatAck || f.ID != 7 {
		t.Fatalf("heartbeat: %v %+v", err, f)
	}
}

// TestMOSNDubboConfig runs MOSN's Dubbo example with its addresses moved
// and its SOFATracer tracing removed (not supported by this build).
func TestMOSNDubboConfig(t *testing.T) {
	t.Parallel()
	_, port := startPeer(t, "dubbo", "d1")
	cfg := patchJSON(t, mosnConfig(t, "dubbo-proxy.json"),
		patch{"servers[0].listeners[0].address", `"127.0.0.1:0"`},
		patch{"servers[0].default_log_level", `"INFO"`},
		patch{"cluster_manager.clusters[0].hosts[0].address", `"127.0.0.1:` + port + `"`},
		patch{"tracing", ``})
	srv := startInProcess(t, cfg)
	if r := callPeer(t, "dubbo", srv.addr(0), append(echoArgs(50), "--conns", "2")...); r.OK != 50 || !strings.HasPrefix(r.Results[0].(string), "d1:") {
		t.Fatalf("%+v", r)
	}
}

// TestRPCExampleConfig: configs/rpc.json (bolt, Auto, healthcheck) is
// valid and runnable as shipped.
func TestRPCExampleConfig(t *testing.T) {
	t.Parallel()
	stdout, stderr, code := runBinary(t, childEnv(), "validate", "-c", "../configs/rpc.json")
	if code != 0 || !strings.Contains(stdout, "config is valid: 2 listener(s), 3 cluster(s)") || stderr != "" {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
}
