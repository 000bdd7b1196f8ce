package test

// Helpers of the RPC tests (rpc_*_test.go): the real bolt and Dubbo peers of
// rpc/peer.js (sofa-rpc-node 2.10.0 with sofa-bolt-node 2.0.1 or
// dubbo-remoting 2.1.4, installed by `scripts/install-deps.sh test`), the
// proxy config the tests start from, and a raw frame client. Readiness is a
// line the peer prints; nothing sleeps.

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sidecar-mesh/mosn/pkg/protocol/rpc"

	// The in-process server needs the protocols the binary compiles in
	// (cmd/mosn/imports.go).
	_ "github.com/sidecar-mesh/mosn/pkg/proxy/healthcheck"
	_ "github.com/sidecar-mesh/mosn/pkg/proxy/l7"
	_ "github.com/sidecar-mesh/mosn/pkg/stream/auto"
	_ "github.com/sidecar-mesh/mosn/pkg/stream/http1"
	_ "github.com/sidecar-mesh/mosn/pkg/stream/http2"
	_ "github.com/sidecar-mesh/mosn/pkg/stream/rpc"
)

// nodePeers fails the test unless node and the harness's packages are
// there; without node at all it skips, naming what is missing.
func nodePeers(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node not installed: the RPC peers are Node packages (Node 20)")
	}
	if _, err := os.Stat("rpc/node_modules/sofa-rpc-node/package.json"); err != nil {
		t.Fatal("test/rpc/node_modules missing: run `scripts/install-deps.sh test` (npm ci --prefix test/rpc)")
	}
}

// nodeProc is a peer process, killed by its PID at cleanup.
type nodeProc struct {
	cmd    *exec.Cmd
	stderr *lineLog
	done   chan struct{}
}

// startPeer starts `node rpc/peer.js server --protocol proto --name name
// args...` on a kernel-chosen port and returns the port once it listens.
func startPeer(t *testing.T, proto, name string, args ...string) (*nodeProc, string) {
	t.Helper()
	nodePeers(t)
	cmd := exec.Command("node", append([]string{"rpc/peer.js", "server", "--protocol", proto, "--name", name}, args...)...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &nodeProc{cmd: cmd, stderr: newLineLog(), done: make(chan struct{})}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start node peer: %v", err)
	}
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default:
			}
		}
		io.Copy(io.Discard, out)
	}()
	go func() { cmd.Wait(); close(p.done) }()
	t.Cleanup(p.kill)
	select {
	case l := <-lines:
		port, ok := strings.CutPrefix(l, "listening ")
		if !ok {
			t.Fatalf("peer said %q", l)
		}
		return p, port
	case <-p.done:
		t.Fatalf("peer %s exited before listening: %s", name, p.stderr)
	case <-time.After(waitBound):
		t.Fatalf("peer %s not listening within %v: %s", name, waitBound, p.stderr)
	}
	return nil, ""
}

// kill ends the peer by its PID and waits for it.
func (p *nodeProc) kill() {
	select {
	case <-p.done:
		return
	default:
	}
	p.cmd.Process.Kill()
	<-p.done
}

// peerResult is what `peer.js client` prints.
type peerResult struct {
	OK      int      `json:"ok"`
	Errors  []string `json:"errors"`
	Results []any    `json:"results"`
}

// callPeer runs `node rpc/peer.js client --protocol proto --target target
// args...` to completion (bounded by waitBound) and returns its result.
func callPeer(t *testing.T, proto, target string, args ...string) peerResult {
	t.Helper()
	nodePeers(t)
	ctx, cancel := context.WithTimeout(context.Background(), waitBound)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", append([]string{"rpc/peer.js", "client", "--protocol", proto, "--target", target}, args...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("peer client %v: %v\n%s", args, err, stderr.String())
	}
	var r peerResult
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("peer client printed %q: %v", out, err)
	}
	return r
}

// rpcConfig is a config with one listener on 127.0.0.1:0 whose proxy
// filter turns downstream protocol down into up, routes every request
// with a service header to cluster "c" (whose hosts are hosts), then patches.
func rpcConfig(t *testing.T, down, up string, hosts []string, patches ...patch) string {
	t.Helper()
	var hs []string
	for _, h := range hosts {
		hs = append(hs, `{"address": `+strconv.Quote(h)+`}`)
	}
	doc := `{
  "servers": [{
    "default_log_path": "stdout",
    "default_log_level": "INFO",
    "graceful_timeout": "5s",
    "routers": [{
      "router_config_name": "r",
      "virtual_hosts": [{
        "name": "v",
        "domains": ["*"],
        "routers": [{"match": {"headers": [{"name": "service", "value": ".*"}]}, "route": {"cluster_name": "c", "timeout": "20s"}}]
      }]
    }],
    "listeners": [{
      "name": "rpc",
      "address": "127.0.0.1:0",
      "bind_port": true,
      "connection_idle_timeout": "1h",
      "filter_chains": [{"filters": [{"type": "proxy", "config": {
        "downstream_protocol": ` + strconv.Quote(down) + `,
        "upstream_protocol": ` + strconv.Quote(up) + `,
        "router_config_name": "r"
      }}]}]
    }]
  }],
  "cluster_manager": {"clusters": [{"name": "c", "type": "SIMPLE", "lb_type": "LB_ROUNDROBIN", "connect_timeout": "5s",
    "circuit_breakers": [{"max_connections": 100000, "max_requests": 100000}], "hosts": [` + strings.Join(hs, ", ") + `]}]}
}`
	return patchJSON(t, doc, patches...)
}

// frameConn is a raw client of one RPC codec.
type frameConn struct {
	t     *testing.T
	c     net.Conn
	codec rpc.Codec
	buf   []byte
}

func dialFrames(t *testing.T, addr string, codec rpc.Codec) *frameConn {
	return &frameConn{t: t, c: dial(t, addr), codec: codec}
}

func (fc *frameConn) write(p []byte) {
	fc.t.Helper()
	fc.c.SetWriteDeadline(time.Now().Add(waitBound))
	if _, err := fc.c.Write(p); err != nil {
		fc.t.Fatalf("write: %v", err)
	}
}

// read returns the next frame, or the read error (io.EOF when the proxy
// closed the connection) within waitBound.
func (fc *frameConn) read() (*rpc.Frame, error) {
	fc.t.Helper()
	fc.c.SetReadDeadline(time.Now().Add(waitBound))
	var f rpc.Frame
	for {
		n, err := fc.codec.Decode(fc.buf, &f, rpc.Limits{})
		if err == nil {
			f.Body = append([]byte(nil), f.Body...)
			fc.buf = fc.buf[n:]
			return &f, nil
		}
		if err != rpc.ErrNeedMore {
			fc.t.Fatalf("proxy sent a bad frame: %v", err)
		}
		var tmp [4096]byte
		m, err := fc.c.Read(tmp[:])
		fc.buf = append(fc.buf, tmp[:m]...)
		if err != nil && m == 0 {
			return nil, err
		}
	}
}

// frameServer is a fake RPC upstream on 127.0.0.1:0 that hands every frame
// it reads to handle and writes back what handle returns (nothing for nil).
// Frames go to the frames channel too.
type frameServer struct {
	*backend
	frames chan rpc.Frame
}

func startFrameServer(t *testing.T, codec rpc.Codec, handle func(f *rpc.Frame) [][]byte) *frameServer {
	t.Helper()
	fs := &frameServer{frames: make(chan rpc.Frame, 1024)}
	fs.backend = startBackend(t, func(c *net.TCPConn) {
		var buf []byte
		var tmp [8192]byte
		for {
			n, err := c.Read(tmp[:])
			buf = append(buf, tmp[:n]...)
			for {
				var f rpc.Frame
				m, derr := codec.Decode(buf, &f, rpc.Limits{})
				if derr != nil {
					break
				}
				f.Body = append([]byte(nil), f.Body...)
				buf = buf[m:]
				select {
				case fs.frames <- f:
				default:
				}
				for _, out := range handle(&f) {
					c.Write(out)
				}
			}
			if err != nil {
				return
			}
		}
	})
	return fs
}
