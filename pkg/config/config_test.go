package config

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// specs is where the shared example configs are, relative to this package.
const specs = "../../../shared/specs"

// TestFixtures loads the seed config and MOSN's own example configs: each
// must validate with exactly the errors listed (warnings are fine).
func TestFixtures(t *testing.T) {
	t.Parallel()
	tls := "servers[0].listeners[0].filter_chains[0].tls_context."
	tests := []struct {
		file       string
		wantErrors []string
	}{
		{file: "seed-config.json"},
		{file: "mosn-configs/auto-protocol-direct-response.json"},
		{file: "mosn-configs/bolt-sofarpc-proxy.json"},
		{file: "mosn-configs/dubbo-proxy.json"},
		{file: "mosn-configs/http1-proxy.json"},
		{file: "mosn-configs/http2-proxy.json"},
		{file: "mosn-configs/mirror-http1-http2-dubbo.json"},
		{file: "mosn-configs/tcp-proxy.json"},
		// Its certificates exist only on MOSN's machines.
		{file: "mosn-configs/tls-http1-proxy.json", wantErrors: []string{
			tls + `ca_cert: "../certs/ca.pem": no such file`,
			tls + `cert_chain: "../certs/cert.pem": no such file`,
			tls + `private_key: "../certs/key.pem": no such file`,
		}},
	}
	files, err := filepath.Glob(filepath.Join(specs, "mosn-configs", "*.json"))
	if err != nil || len(files) != len(tests)-1 {
		t.Errorf("mosn-configs holds %d configs (%v), the table %d: keep them in step", len(files), err, len(tests)-1)
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			cfg, ps := Load(filepath.Join(specs, tt.file))
			if cfg == nil {
				t.Fatalf("Load returned no config: %v", ps)
			}
			if got := strings.Join(lines(ps.Errors()), "\n"); got != strings.Join(tt.wantErrors, "\n") {
				t.Errorf("errors:\n%s\nwant:\n%s", got, strings.Join(tt.wantErrors, "\n"))
			}
			for _, s := range cfg.Servers {
				for _, l := range s.Listeners {
					for _, fc := range l.FilterChains {
						for _, f := range fc.Filters {
							if f.Type == FilterConnectionManager {
								t.Errorf("listener %s: connection_manager filter not lifted", l.Name)
							}
						}
					}
				}
			}
		})
	}
}

// TestSeed checks decoded values of the seed config.
func TestSeed(t *testing.T) {
	t.Parallel()
	cfg, ps := Load(filepath.Join(specs, "seed-config.json"))
	if err := ps.Err(); err != nil {
		t.Fatal(err)
	}
	if len(cfg.Servers) != 1 {
		t.Fatalf("servers: got %d, want 1", len(cfg.Servers))
	}
	s := cfg.Servers[0]
	if s.DefaultLogLevel != "INFO" || s.DefaultLogPath != "stdout" || s.GracefulTimeout.D() != 30*time.Second {
		t.Errorf("server defaults: level %q, path %q, graceful %v", s.DefaultLogLevel, s.DefaultLogPath, s.GracefulTimeout)
	}
	var listeners, routers []string
	for _, l := range s.Listeners {
		listeners = append(listeners, l.Name+"@"+l.AddrPort().String())
		if len(l.FilterChains) != 1 || len(l.FilterChains[0].Filters) != 1 || l.FilterChains[0].Filters[0].Type != FilterProxy {
			t.Errorf("listener %s: want one chain with only the proxy filter, got %+v", l.Name, l.FilterChains)
		}
		if l.FilterChains[0].TLSContext.Enabled() {
			t.Errorf("listener %s: TLS enabled by an empty tls_context", l.Name)
		}
		if l.PerConnBufferLimitBytes != 1<<20 {
			t.Errorf("listener %s: per_connection_buffer_limit_bytes %d, want the 1 MiB default", l.Name, l.PerConnBufferLimitBytes)
		}
	}
	for _, r := range s.Routers {
		routers = append(routers, r.RouterConfigName)
	}
	if got, want := strings.Join(listeners, " "), "serverListener@127.0.0.1:2046 clientListener@127.0.0.1:2045"; got != want {
		t.Errorf("listeners: got %s, want %s", got, want)
	}
	if got, want := strings.Join(routers, " "), "server_router client_router"; got != want {
		t.Errorf("lifted routers: got %s, want %s", got, want)
	}
	rt := s.Routers[1].VirtualHosts[0].Routes[0]
	if rt.Route.ClusterName != "clientCluster" || rt.Match.Headers[0] != (HeaderMatcher{Name: "service", Value: ".*"}) {
		t.Errorf("client_router route: %+v", rt)
	}

	p, ps := DecodeProxy("p", s.Listeners[1].FilterChains[0].Filters[0].Config)
	if ps != nil || p.DownstreamProtocol != "SofaRpc" || p.UpstreamProtocol != "Http2" || p.RouterConfigName != "client_router" {
		t.Errorf("clientListener proxy: %+v, %v", p, ps)
	}

	cl := cfg.ClusterManager.Clusters[0]
	if cl.Name != "serverCluster" || cl.MaxRequestPerConn != 1024 || cl.ConnBufferLimitBytes != 32768 {
		t.Errorf("serverCluster: name %q (from \"Name\"), max_request_per_conn %d, conn_buffer_limit_bytes %d",
			cl.Name, cl.MaxRequestPerConn, cl.ConnBufferLimitBytes)
	}
	if cl.Type != "SIMPLE" || cl.LbType != "LB_RANDOM" || cl.ConnectTimeout.D() != 3*time.Second || cl.Hosts[0].Weight != 1 {
		t.Errorf("serverCluster: type %s, lb %s, connect_timeout %v, weight %d", cl.Type, cl.LbType, cl.ConnectTimeout, cl.Hosts[0].Weight)
	}
}

// TestLoadRelativeFiles checks that Load finds TLS files relative to the
// config file, and makes their paths absolute.
func TestLoadRelativeFiles(t *testing.T) {
	t.Parallel()
	cfg, ps := Load("testdata/tls.json")
	if len(ps) != 0 {
		t.Fatalf("problems: %v", ps)
	}
	tls := cfg.Servers[0].Listeners[0].FilterChains[0].TLSContext
	for _, f := range []string{tls.CACert, tls.CertChain, tls.PrivateKey} {
		if !filepath.IsAbs(f) || !strings.HasPrefix(filepath.Base(filepath.Dir(f)), "certs") {
			t.Errorf("file %q: want an absolute path into testdata/certs", f)
		}
	}
	if _, ps := Load("testdata/no-such.json"); ps.Err() == nil {
		t.Error("Load of a missing file: no error")
	}
}

// base is a minimal valid config: a TCP proxy to one cluster. The table tests
// change it with patches.
const base = `{
  "servers": [{
    "listeners": [{
      "name": "tcp",
      "address": "127.0.0.1:0",
      "filter_chains": [{"filters": [{"type": "tcp_proxy", "config": {"cluster": "backend"}}]}]
    }]
  }],
  "cluster_manager": {"clusters": [{"name": "backend", "hosts": [{"address": "127.0.0.1:8080"}]}]}
}`

// patch sets the value at a JSON path of base to the JSON text value, or
// deletes it if value is empty. An index one past the end of an array
// appends.
type patch struct{ path, value string }

// Paths used by the patches.
const (
	l0       = "servers[0].listeners[0]"
	filter0  = l0 + ".filter_chains[0].filters[0]"
	cluster0 = "cluster_manager.clusters[0]"
	route0   = "servers[0].routers[0].virtual_hosts[0].routers[0]"
)

// http turns base into an HTTP proxy whose router "r" has the one route
// given; with route empty, the router is left out.
func http(route string) []patch {
	ps := []patch{{filter0, `{"type": "proxy", "config": {"downstream_protocol": "Http1", "router_config_name": "r"}}`}}
	if route != "" {
		ps = append(ps, patch{"servers[0].routers", `[{"router_config_name": "r",
			"virtual_hosts": [{"name": "vh", "domains": ["*"], "routers": [` + route + `]}]}]`})
	}
	return ps
}

// with returns the patches ps followed by more.
func with(ps []patch, more ...patch) []patch { return append(ps, more...) }

func TestBase(t *testing.T) {
	t.Parallel()
	for _, doc := range [][]byte{[]byte(base), build(t, http(`{"match": {"prefix": "/"}, "route": {"cluster_name": "backend"}}`))} {
		if _, ps := Parse(doc); len(ps) != 0 {
			t.Errorf("problems: %v\nin %s", ps, doc)
		}
	}
}

// TestErrors checks that each bad config gives exactly one error, at the
// path and with the message wanted.
func TestErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		patches []patch
		path    string
		msg     string // a substring of the message
	}{
		// Syntax and types.
		{"syntax error", []patch{{"", "{\n  \"servers\": [,]\n}"}}, "", "invalid JSON at line 2, column 15"},
		{"not an object", []patch{{"", `[1]`}}, "", "the config must be a JSON object, got array"},
		{"string for int", []patch{{"servers[0].processor", `"4"`}}, "servers[0].processor", "expected integer, got string"},
		{"object for array", []patch{{l0 + ".filter_chains", `{}`}}, l0 + ".filter_chains", "expected array, got object"},
		{"negative uint", []patch{{l0 + ".per_connection_buffer_limit_bytes", `-1`}}, l0 + ".per_connection_buffer_limit_bytes", "-1: want an integer in 0..4294967295"},
		{"fraction for int", []patch{{cluster0 + ".max_request_per_conn", `1.5`}}, cluster0 + ".max_request_per_conn", "1.5: want an integer"},
		{"duplicate key in another case", []patch{{l0 + ".Name", `"other"`}}, l0 + ".name", `duplicate key ("Name" and "name")`},
		{"duration without unit", []patch{{"servers[0].graceful_timeout", `"10"`}}, "servers[0].graceful_timeout", `"10": invalid duration (write it as a string such as "10s")`},
		{"duration as number", []patch{{"servers[0].graceful_timeout", `10`}}, "servers[0].graceful_timeout", `10: invalid duration`},
		{"negative duration", []patch{{l0 + ".connection_idle_timeout", `"-1s"`}}, l0 + ".connection_idle_timeout", `"-1s": negative duration`},

		// Servers.
		{"no servers", []patch{{"servers", `[]`}}, "servers", "at least one server is required"},
		{"two servers", []patch{{"servers[1]", `{}`}}, "servers", "only one server is supported (got 2)"},
		{"bad log level", []patch{{"servers[0].default_log_level", `"LOUD"`}}, "servers[0].default_log_level", `"LOUD": unknown log level (known: TRACE, DEBUG`},
		{"negative processor", []patch{{"servers[0].processor", `-1`}}, "servers[0].processor", "-1: must not be negative"},

		// Listeners.
		{"port out of range", []patch{{l0 + ".address", `"127.0.0.1:99999"`}}, l0 + ".address", `"127.0.0.1:99999": port out of range`},
		{"not IP:PORT", []patch{{l0 + ".address", `"foo"`}}, l0 + ".address", `"foo": want IP:PORT`},
		{"host name", []patch{{l0 + ".address", `"localhost:80"`}}, l0 + ".address", `"localhost:80": host must be an IP address`},
		{"no host", []patch{{l0 + ".address", `":80"`}}, l0 + ".address", `(0.0.0.0 or [::] for all interfaces)`},
		{"missing address", []patch{{l0 + ".address", ``}}, l0 + ".address", "required"},
		{"duplicate address", []patch{{l0 + ".address", `"127.0.0.1:2045"`}, {"servers[0].listeners[1]", `{"name": "tcp2", "address": "127.0.0.1:2045",
			"filter_chains": [{"filters": [{"type": "tcp_proxy", "config": {"cluster": "backend"}}]}]}`}},
			"servers[0].listeners[1].address", `"127.0.0.1:2045": same address as servers[0].listeners[0]`},
		{"duplicate listener name", []patch{{"servers[0].listeners[1]", `{"name": "tcp", "address": "127.0.0.1:0",
			"filter_chains": [{"filters": [{"type": "tcp_proxy", "config": {"cluster": "backend"}}]}]}`}},
			"servers[0].listeners[1].name", `"tcp": duplicate listener name (also servers[0].listeners[0])`},
		{"bad listener type", []patch{{l0 + ".type", `"sideways"`}}, l0 + ".type", `"sideways": want "ingress", "egress" or nothing`},
		{"access log without path", []patch{{l0 + ".access_logs", `[{"log_format": "%start_time%"}]`}}, l0 + ".access_logs[0].log_path", "required"},
		{"stream filter without type", []patch{{l0 + ".stream_filters", `[{"config": {}}]`}}, l0 + ".stream_filters[0].type", "required"},

		// Filter chains and filters.
		{"no filter chain", []patch{{l0 + ".filter_chains", `[]`}}, l0 + ".filter_chains", "at least one filter chain is required"},
		{"two filter chains", []patch{{l0 + ".filter_chains[1]", `{"filters": [{"type": "tcp_proxy", "config": {"cluster": "backend"}}]}`}},
			l0 + ".filter_chains", "only one filter chain per listener is supported"},
		{"no filter", []patch{{l0 + ".filter_chains[0].filters", `[]`}}, l0 + ".filter_chains[0].filters", "at least one filter is required"},
		{"filter without type", []patch{{filter0 + ".type", ``}}, filter0 + ".type", "required"},
		{"tls_context and tls_context_set", []patch{{l0 + ".filter_chains[0].tls_context", `{}`}, {l0 + ".filter_chains[0].tls_context_set", `[{}]`}},
			l0 + ".filter_chains[0].tls_context_set", "tls_context and tls_context_set are mutually exclusive"},
		{"tls cert file missing", []patch{{l0 + ".filter_chains[0].tls_context", `{"status": true,
			"cert_chain": "testdata/certs/missing.pem", "private_key": "testdata/certs/key.pem"}`}},
			l0 + ".filter_chains[0].tls_context.cert_chain", `"testdata/certs/missing.pem": no such file`},
		{"tls key missing", []patch{{l0 + ".filter_chains[0].tls_context", `{"status": true, "cert_chain": "-----BEGIN CERTIFICATE-----\n"}`}},
			l0 + ".filter_chains[0].tls_context.private_key", "required when status is true"},

		// The proxy filter.
		{"no such router", http(""), filter0 + ".config.router_config_name", `"r": no such router`},
		{"unknown protocol", with(http(`{"route": {"cluster_name": "backend"}}`), patch{filter0 + ".config.downstream_protocol", `"Http1,Http9"`}),
			filter0 + ".config.downstream_protocol", `"Http9": unknown protocol (known: Http1, Http2`},
		{"unknown upstream protocol", with(http(`{"route": {"cluster_name": "backend"}}`), patch{filter0 + ".config.upstream_protocol", `"gopher"`}),
			filter0 + ".config.upstream_protocol", `"gopher": unknown protocol`},
		{"no downstream protocol", with(http(`{"route": {"cluster_name": "backend"}}`), patch{filter0 + ".config.downstream_protocol", ``}),
			filter0 + ".config.downstream_protocol", "required"},
		{"paths count connection_manager filters", with(http(""),
			patch{filter0, `{"type": "connection_manager", "config": {"router_config_name": "other"}}`},
			patch{l0 + ".filter_chains[0].filters[1]", `{"type": "proxy", "config": {"downstream_protocol": "Http1", "router_config_name": "r"}}`}),
			l0 + ".filter_chains[0].filters[1].config.router_config_name", `"r": no such router`},
		{"only connection_manager", []patch{{filter0, `{"type": "connection_manager", "config": {"router_config_name": "r"}}`}},
			l0 + ".filter_chains[0].filters", "at least one filter is required besides connection_manager"},

		// The tcp_proxy filter.
		{"tcp_proxy: no such cluster", []patch{{filter0 + ".config.cluster", `"nope"`}}, filter0 + ".config.cluster", `"nope": no such cluster`},
		{"tcp_proxy: no cluster", []patch{{filter0 + ".config", `{}`}}, filter0 + ".config", "cluster or at least one route is required"},
		{"tcp_proxy: bad CIDR", []patch{{filter0 + ".config.routes", `[{"cluster": "backend", "destination_addrs": ["10.0.0.0/33"]}]`}},
			filter0 + ".config.routes[0].destination_addrs[0]", `invalid address range "10.0.0.0/33"`},
		{"tcp_proxy: route cluster missing", []patch{{filter0 + ".config.routes", `[{"cluster": "nope"}]`}},
			filter0 + ".config.routes[0].cluster", `"nope": no such cluster`},

		// Routers.
		{"route: no such cluster", http(`{"route": {"cluster_name": "nope"}}`), route0 + ".route.cluster_name", `"nope": no such cluster`},
		{"route: no action", http(`{"match": {"prefix": "/"}}`), route0, "no action: set one of route.cluster_name"},
		{"route: two actions", http(`{"route": {"cluster_name": "backend"}, "direct_response": {"status": 200}}`), route0,
			"more than one action (route.cluster_name, direct_response)"},
		{"route: bad regex", http(`{"match": {"regex": "("}, "route": {"cluster_name": "backend"}}`), route0 + ".match.regex", `"(": invalid regular expression`},
		{"route: bad header regex", http(`{"match": {"headers": [{"name": "x", "value": "[", "regex": true}]}, "route": {"cluster_name": "backend"}}`),
			route0 + ".match.headers[0].value", "invalid regular expression"},
		{"route: prefix and path", http(`{"match": {"prefix": "/", "path": "/a"}, "route": {"cluster_name": "backend"}}`), route0 + ".match",
			"prefix and path: set at most one of prefix, path, regex"},
		{"direct_response status 42", http(`{"direct_response": {"status": 42}}`), route0 + ".direct_response.status", "42: want 100-599"},
		{"redirect code 200", http(`{"redirect": {"response_code": 200}}`), route0 + ".redirect.response_code", "200: want 301, 302, 303, 307 or 308"},
		{"weighted cluster missing", http(`{"route": {"weighted_clusters": [{"cluster": {"name": "backend", "weight": 50}}, {"cluster": {"name": "b2", "weight": 50}}]}}`),
			route0 + ".route.weighted_clusters[1].cluster.name", `"b2": no such cluster`},
		{"mirror cluster missing", http(`{"route": {"cluster_name": "backend"}, "request_mirror_policies": {"cluster": "m", "percent": 10}}`),
			route0 + ".request_mirror_policies.cluster", `"m": no such cluster`},
		{"duplicate router name", with(http(`{"route": {"cluster_name": "backend"}}`), patch{"servers[0].routers[1]", `{"router_config_name": "r"}`}),
			"servers[0].routers[1].router_config_name", `"r": duplicate router name (also servers[0].routers[0].router_config_name)`},
		{"duplicate router name in connection_manager", with(http(`{"route": {"cluster_name": "backend"}}`),
			patch{l0 + ".filter_chains[0].filters[1]", `{"type": "connection_manager", "config": {"router_config_name": "r"}}`}),
			l0 + ".filter_chains[0].filters[1].config.router_config_name", `"r": duplicate router name (also servers[0].routers[0].router_config_name)`},
		{"router directory", with(http(`{"route": {"cluster_name": "backend"}}`), patch{"servers[0].routers[0].router_configs", `"/etc/mosn/routers"`}),
			"servers[0].routers[0].router_configs", "not supported"},
		{"duplicate domain", with(http(`{"route": {"cluster_name": "backend"}}`),
			patch{"servers[0].routers[0].virtual_hosts[1]", `{"domains": ["*"], "routers": [{"route": {"cluster_name": "backend"}}]}`}),
			"servers[0].routers[0].virtual_hosts[1].domains[0]", `"*": also in servers[0].routers[0].virtual_hosts[0]`},

		// Clusters.
		{"bad lb_type", []patch{{cluster0 + ".lb_type", `"LB_FOO"`}}, cluster0 + ".lb_type", `"LB_FOO": unknown load balancer type (known: LB_RANDOM, LB_ROUNDROBIN`},
		{"bad cluster type", []patch{{cluster0 + ".type", `"MAGIC"`}}, cluster0 + ".type", `"MAGIC": unknown cluster type (known: SIMPLE, STATIC`},
		{"duplicate cluster", []patch{{"cluster_manager.clusters[1]", `{"name": "backend", "hosts": [{"address": "127.0.0.1:8081"}]}`}},
			"cluster_manager.clusters[1].name", `"backend": duplicate cluster name (also cluster_manager.clusters[0].name)`},
		{"cluster without name", []patch{{"cluster_manager.clusters[1]", `{"hosts": [{"address": "127.0.0.1:8081"}]}`}}, "cluster_manager.clusters[1].name", "required"},
		{"simple cluster without hosts", []patch{{cluster0 + ".hosts", `[]`}}, cluster0 + ".hosts", "at least one host is required for a SIMPLE cluster"},
		{"host weight 200", []patch{{cluster0 + ".hosts[0].weight", `200`}}, cluster0 + ".hosts[0].weight", "200: out of range (1-128)"},
		{"host port 0", []patch{{cluster0 + ".hosts[0].address", `"backend.local:0"`}}, cluster0 + ".hosts[0].address", `"backend.local:0": port out of range (1-65535)`},
		{"host without port", []patch{{cluster0 + ".hosts[0].address", `"backend.local"`}}, cluster0 + ".hosts[0].address", `want IP:PORT or HOSTNAME:PORT`},
		{"connect_timeout 0s", []patch{{cluster0 + ".connect_timeout", `"0s"`}}, cluster0 + ".connect_timeout", `"0s": must be positive`},
		{"health check without protocol", []patch{{cluster0 + ".health_check", `{"interval": "5s"}`}}, cluster0 + ".health_check.protocol", "required"},
		{"cluster directory", []patch{{"cluster_manager.clusters_configs", `"/etc/mosn/clusters"`}}, "cluster_manager.clusters_configs", "not supported"},

		// Admin, metrics, tracing.
		{"admin port out of range", []patch{{"admin", `{"address": {"socket_address": {"address": "127.0.0.1", "port_value": 70000}}}`}},
			"admin.address.socket_address.port_value", "70000: port out of range"},
		{"pprof port out of range", []patch{{"pprof", `{"debug": true, "port_value": 70000}`}}, "pprof.port_value", "70000: port out of range"},
		{"admin host name", []patch{{"admin", `{"address": {"socket_address": {"address": "localhost", "port_value": 34901}}}`}},
			"admin.address.socket_address.address", `"localhost": must be an IP address`},
		{"prometheus port", []patch{{"metrics", `{"sinks": [{"type": "prometheus", "config": {"port": 70000}}]}`}},
			"metrics.sinks[0].config.port", "70000: port out of range"},
		{"tracing without driver", []patch{{"tracing", `{"enable": true}`}}, "tracing.driver", "required when tracing is enabled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			doc := build(t, tt.patches)
			_, ps := Parse(doc)
			errs := ps.Errors()
			if len(errs) != 1 || errs[0].Path != tt.path || !strings.Contains(errs[0].Msg, tt.msg) {
				t.Errorf("errors:\n%s\nwant one at %q containing %q; config:\n%s", strings.Join(lines(errs), "\n"), tt.path, tt.msg, doc)
			}
		})
	}
}

// TestAllAtOnce checks that Parse reports every problem, not just the first.
func TestAllAtOnce(t *testing.T) {
	t.Parallel()
	doc := build(t, []patch{
		{"servers[0].processor", `"many"`},
		{"servers[0].default_log_level", `"LOUD"`},
		{l0 + ".address", `"127.0.0.1:99999"`},
		{filter0 + ".config.cluster", `"nope"`},
		{cluster0 + ".lb_type", `"LB_FOO"`},
		{cluster0 + ".hosts[0].weight", `0`}, // 0 is the default, 1
		{cluster0 + ".hosts[1]", `{"address": "127.0.0.1:8081", "weight": 129}`},
		{"admin", `{"address": {"socket_address": {"port_value": 1}}}`},
	})
	_, ps := Parse(doc)
	want := []string{
		"servers[0].processor: expected integer, got string",
		`servers[0].default_log_level: "LOUD": unknown log level (known: TRACE, DEBUG, INFO, WARN, ERROR, CRITICAL, FATAL)`,
		`servers[0].listeners[0].address: "127.0.0.1:99999": port out of range`,
		`servers[0].listeners[0].filter_chains[0].filters[0].config.cluster: "nope": no such cluster`,
		`cluster_manager.clusters[0].lb_type: "LB_FOO": unknown load balancer type (known: LB_RANDOM, LB_ROUNDROBIN, LB_WEIGHTED_ROUNDROBIN, LB_LEAST_REQUEST, LB_LEAST_CONNECTION, LB_PEAK_EWMA, LB_MAGLEV, LB_RING_HASH, LB_ORIGINAL_DST, LB_REQUEST_ROUNDROBIN)`,
		"cluster_manager.clusters[0].hosts[1].weight: 129: out of range (1-128)",
		"admin.address.socket_address.address: required",
	}
	if got := strings.Join(lines(ps), "\n"); got != strings.Join(want, "\n") {
		t.Errorf("problems:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
	err := ps.Err()
	if err == nil || err.Error() != strings.Join(want, "\n") {
		t.Errorf("Err(): %v", err)
	}
}

// TestWarnings checks configs that may be used, but with warnings.
func TestWarnings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		patches []patch
		want    []string // every problem, in order
	}{
		{"unknown key in a listener", []patch{{l0 + ".bogus", `1`}}, []string{l0 + ".bogus: unknown key, ignored"}},
		{"unknown key deep down", []patch{{cluster0 + ".hosts[0].colour", `"blue"`}}, []string{cluster0 + ".hosts[0].colour: unknown key, ignored"}},
		{"unknown key in a filter config", []patch{{filter0 + ".config.clusterr", `"backend"`}}, []string{filter0 + ".config.clusterr: unknown key, ignored"}},
		{"unknown key in a route", http(`{"route": {"cluster_name": "backend", "timeout_ms": 10}}`),
			[]string{route0 + ".route.timeout_ms: unknown key, ignored"}},
		{"unknown top-level key", []patch{{"service_registry", `{}`}}, []string{"service_registry: unknown key, ignored"}},
		{"keys of raw slots are not walked", []patch{{l0 + ".stream_filters", `[{"type": "mirror", "config": {"anything": 1}}]`}}, nil},
		{"keys match in any case", []patch{{cluster0 + ".Name", `"backend"`}, {cluster0 + ".name", ``}, {cluster0 + ".LB_TYPE", `"lb_random"`}}, nil},
		{"shm_zone", []patch{{"metrics", `{"shm_zone": "metrics", "shm_size": "30m"}`}},
			[]string{"metrics.shm_zone: ignored: shared-memory metrics are not supported", "metrics.shm_size: ignored: shared-memory metrics are not supported"}},
		{"global_log_roller", []patch{{"servers[0].global_log_roller", `"size=100 age=10"`}},
			[]string{"servers[0].global_log_roller: ignored: log files are reopened on SIGUSR1 (rotate them with logrotate)"}},
		{"listener log_path like the server's", []patch{{l0 + ".log_path", `"stdout"`}, {l0 + ".log_level", `"info"`}}, nil},
		{"listener log_path not like the server's", []patch{{l0 + ".log_path", `"/var/log/l.log"`}, {l0 + ".log_level", `"DEBUG"`}}, []string{
			l0 + ".log_path: ignored: the server's default_log_path/default_log_level apply",
			l0 + ".log_level: ignored: the server's default_log_path/default_log_level apply",
		}},
		{"tracer", []patch{{"tracing", `{"enable": true, "tracer": "SOFATracer"}`}}, []string{`tracing.tracer: deprecated: use "driver"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			doc := build(t, tt.patches)
			_, ps := Parse(doc)
			if got := strings.Join(lines(ps), "\n"); got != strings.Join(tt.want, "\n") || len(ps.Warnings()) != len(ps) {
				t.Errorf("problems:\n%s\nwant warnings:\n%s\nconfig:\n%s", got, strings.Join(tt.want, "\n"), doc)
			}
		})
	}
}

// TestDefaults checks what Parse fills in.
func TestDefaults(t *testing.T) {
	t.Parallel()
	cfg, ps := Parse(build(t, with(http(`{"redirect": {"path_redirect": "/b"}}`),
		patch{l0 + ".name", ``},
		patch{filter0 + ".config.downstream_protocol", `"http2"`},
		patch{"servers[0].default_log_level", `"debug"`},
		patch{cluster0 + ".lb_type", `"lb_maglev"`})))
	if err := ps.Err(); err != nil {
		t.Fatal(err)
	}
	s, cl := cfg.Servers[0], cfg.ClusterManager.Clusters[0]
	p, _ := DecodeProxy("", s.Listeners[0].FilterChains[0].Filters[0].Config)
	for _, c := range []struct{ what, got, want string }{
		{"listener name", s.Listeners[0].Name, "127.0.0.1:0"},
		{"log level", s.DefaultLogLevel, "DEBUG"},
		{"lb_type", cl.LbType, "LB_MAGLEV"},
		{"cluster type", cl.Type, "SIMPLE"},
		{"downstream protocol", p.DownstreamProtocol, "Http2"},
		{"upstream protocol", p.UpstreamProtocol, "Http2"},
		{"redirect code", strconv.Itoa(s.Routers[0].VirtualHosts[0].Routes[0].Redirect.ResponseCode), "301"},
	} {
		if c.got != c.want {
			t.Errorf("%s: got %q, want %q", c.what, c.got, c.want)
		}
	}
	for _, down := range []string{"Auto", "Http1,Http2"} {
		raw := json.RawMessage(`{"downstream_protocol": "` + down + `", "router_config_name": "r"}`)
		if p, ps := DecodeProxy("", raw); ps != nil || p.UpstreamProtocol != "" {
			t.Errorf("downstream %s: upstream %q, want none; %v", down, p.UpstreamProtocol, ps)
		}
	}
}

// build applies patches to base and returns the JSON.
func build(t *testing.T, patches []patch) []byte {
	t.Helper()
	doc := decodeAny(t, base)
	for _, p := range patches {
		if p.path == "" {
			return []byte(p.value) // the whole document
		}
		var val any
		if p.value != "" {
			val = decodeAny(t, p.value)
		}
		doc = set(t, doc, pathSteps(p.path), val, p.value == "")
	}
	out, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func decodeAny(t *testing.T, s string) any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("test JSON %s: %v", s, err)
	}
	return v
}

// pathSteps splits a path such as a.b[2].c into "a", "b", 2, "c".
func pathSteps(path string) []any {
	var steps []any
	for _, m := range regexp.MustCompile(`([^.\[\]]+)|\[(\d+)\]`).FindAllStringSubmatch(path, -1) {
		if m[1] != "" {
			steps = append(steps, m[1])
		} else {
			i, _ := strconv.Atoi(m[2])
			steps = append(steps, i)
		}
	}
	return steps
}

// set returns node with the value at steps set to val, or deleted.
func set(t *testing.T, node any, steps []any, val any, del bool) any {
	t.Helper()
	if len(steps) == 0 {
		return val
	}
	switch step := steps[0].(type) {
	case string:
		m, _ := node.(map[string]any)
		if m == nil {
			m = map[string]any{}
		}
		if del && len(steps) == 1 {
			delete(m, step)
		} else {
			m[step] = set(t, m[step], steps[1:], val, del)
		}
		return m
	case int:
		s, _ := node.([]any)
		if step == len(s) {
			s = append(s, nil)
		}
		if step > len(s) {
			t.Fatalf("patch: index %d past the end", step)
		}
		if del && len(steps) == 1 {
			return append(s[:step], s[step+1:]...)
		}
		s[step] = set(t, s[step], steps[1:], val, del)
		return s
	}
	return nil
}

// lines returns each problem as its String.
func lines(ps Problems) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.String())
	}
	return out
}

// TestProblems checks the Problems helpers.
func TestProblems(t *testing.T) {
	t.Parallel()
	var ps Problems
	ps.Warnf("a.b", "unknown key, ignored")
	if ps.Err() != nil {
		t.Errorf("Err() with only warnings: %v", ps.Err())
	}
	ps.Errorf("a.c[1]", "%q: bad", "x")
	ps.Errorf("", "whole")
	if got := ps.Err().Error(); got != "a.c[1]: \"x\": bad\nwhole" {
		t.Errorf("Err(): %q", got)
	}
	if len(ps.Errors()) != 2 || len(ps.Warnings()) != 1 || ps[0].Severity.String() != "warning" || ps[1].Severity.String() != "error" {
		t.Errorf("Errors/Warnings/Severity: %v", ps)
	}
	var buf bytes.Buffer
	for _, p := range ps {
		buf.WriteString(p.String() + ";")
	}
	if got := buf.String(); got != `a.b: unknown key, ignored;a.c[1]: "x": bad;whole;` {
		t.Errorf("String: %s", got)
	}
}
