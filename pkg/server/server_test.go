package server

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"runtime"
	"strings"
	"testing"

	"github.com/sidecar-mesh/mosn/pkg/config"
	_ "github.com/sidecar-mesh/mosn/pkg/proxy/tcpproxy"
)

const base = `{"servers":[{"listeners":[{"name":"l","address":"127.0.0.1:0"%s,
  "filter_chains":[{"filters":[{"type":"tcp_proxy","config":{"cluster":"c"}}]}]}]%s}],
  "cluster_manager":{"clusters":[{"name":"c"%s,"hosts":[{"address":"127.0.0.1:9"}]}]}%s}`

func build(t *testing.T, listener, server, cluster, top string) (*Server, config.Problems) {
	t.Helper()
	if !strings.Contains(listener, "bind_port") {
		listener += `,"bind_port":true`
	}
	cfg, ps := config.Parse(fmt.Appendf(nil, base, listener, server, cluster, top))
	if err := ps.Err(); err != nil {
		t.Fatalf("test config invalid: %v", err)
	}
	return Build(cfg, Options{Logger: slog.New(slog.DiscardHandler)})
}

func TestBuildReportsUnsupportedFeatures(t *testing.T) {
	for _, tc := range []struct {
		name                           string
		listener, server, cluster, top string
		path, msg                      string
	}{
		{name: "no bind", listener: `,"bind_port":false`, path: "servers[0].listeners[0].bind_port", msg: "do not bind"},
		{name: "original dst", listener: `,"use_original_dst":true`, path: "servers[0].listeners[0].use_original_dst", msg: "original destination"},
		{name: "stream filter", listener: `,"stream_filters":[{"type":"mirror"}]`, path: "servers[0].listeners[0].stream_filters[0].type", msg: `"mirror"`},
		{name: "listener filter", listener: `,"listener_filters":[{"type":"original_dst"}]`, path: "servers[0].listeners[0].listener_filters[0].type", msg: `"original_dst"`},
		{name: "lb", cluster: `,"lb_type":"LB_MAGLEV"`, path: "cluster_manager.clusters[0].lb_type", msg: `"LB_MAGLEV"`},
		{name: "cluster type", cluster: `,"type":"EDS"`, path: "cluster_manager.clusters[0].type", msg: `"EDS"`},
		{name: "health check", cluster: `,"health_check":{"protocol":"tcp"}`, path: "cluster_manager.clusters[0].health_check", msg: "health checks"},
		{name: "xds", top: `,"dynamic_resources":{"ads_config":{}}`, path: "dynamic_resources", msg: "xDS"},
		{name: "stats matcher", top: `,"metrics":{"stats_matcher":{"reject_all":true}}`, path: "metrics.stats_matcher", msg: "turning metrics off"},
		{name: "metrics sink", top: `,"metrics":{"sinks":[{"type":"console"}]}`, path: "metrics.sinks[0].type", msg: `"console"`},
		{name: "tracing", top: `,"tracing":{"enable":true,"driver":"SOFATracer"}`, path: "tracing.enable", msg: "tracing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, ps := build(t, tc.listener, tc.server, tc.cluster, tc.top)
			if srv != nil {
				t.Fatal("Build returned a server for a config it cannot run")
			}
			un := ps.Unsupported()
			if len(un) != 1 || un[0].Path != tc.path || !strings.Contains(un[0].Msg, tc.msg) {
				t.Fatalf("unsupported = %v, want one at %s containing %q", un, tc.path, tc.msg)
			}
		})
	}
}

// TestBuildNetpollMode: use_netpoll_mode builds and serves on the event
// loops (where there is epoll), and Close stops them.
func TestBuildNetpollMode(t *testing.T) {
	srv, ps := build(t, "", `,"use_netpoll_mode":true`, "", "")
	if runtime.GOOS != "linux" {
		if un := ps.Unsupported(); srv != nil || len(un) != 1 || un[0].Path != "servers[0].use_netpoll_mode" {
			t.Fatalf("use_netpoll_mode on %s: server %v, unsupported %v", runtime.GOOS, srv, un)
		}
		return
	}
	if srv == nil {
		t.Fatalf("Build failed: %v", ps)
	}
	if srv.ioModel == nil || srv.ioModel.Loops() != runtime.GOMAXPROCS(0) {
		t.Fatalf("event loops = %v, want one per GOMAXPROCS", srv.ioModel)
	}
	if srv3, ps := build(t, "", `,"use_netpoll_mode":true,"processor":3`, "", ""); srv3 == nil || srv3.ioModel.Loops() != 3 {
		t.Fatalf("with processor 3: %v, %v; want 3 event loops", srv3, ps)
	} else {
		srv3.Close()
	}
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	conn, err := net.Dial("tcp", srv.Listeners()[0].Addr().String())
	if err != nil {
		t.Fatalf("dial the started listener: %v", err)
	}
	defer conn.Close()
	// The only host refuses: the proxy closes the connection, from its loop.
	conn.Write([]byte("x"))
	if _, err := conn.Read(make([]byte, 1)); err == nil {
		t.Fatal("read a byte from a proxy whose upstream refuses")
	}
}

func TestBuildBindsNothingAndStartBindsAll(t *testing.T) {
	srv, ps := build(t, "", "", "", "")
	if srv == nil {
		t.Fatalf("Build failed: %v", ps)
	}
	if srv.Listeners()[0].Addr() != nil {
		t.Fatal("Build bound a listener")
	}
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	conn, err := net.Dial("tcp", srv.Listeners()[0].Addr().String())
	if err != nil {
		t.Fatalf("dial the started listener: %v", err)
	}
	conn.Close()
}

func TestStartBindsAllOrNone(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	cfg, ps := config.Parse([]byte(`{"servers":[{"listeners":[
	  {"name":"free","address":"127.0.0.1:0","bind_port":true,"filter_chains":[{"filters":[{"type":"tcp_proxy","config":{"cluster":"c"}}]}]},
	  {"name":"taken","address":"` + taken.Addr().String() + `","bind_port":true,"filter_chains":[{"filters":[{"type":"tcp_proxy","config":{"cluster":"c"}}]}]}]}],
	  "cluster_manager":{"clusters":[{"name":"c","hosts":[{"address":"127.0.0.1:9"}]}]}}`))
	if err := ps.Err(); err != nil {
		t.Fatal(err)
	}
	srv, ps := Build(cfg, Options{Logger: slog.New(slog.DiscardHandler)})
	if srv == nil {
		t.Fatal(ps)
	}
	err = srv.Start(context.Background())
	if err == nil || !strings.Contains(err.Error(), `listener "taken"`) {
		t.Fatalf("Start = %v, want an error naming listener \"taken\"", err)
	}
	free := srv.Listeners()[0].Addr().String()
	if c, err := net.Dial("tcp", free); err == nil {
		c.Close()
		t.Fatalf("listener %q still accepts after a failed Start", free)
	}
}
