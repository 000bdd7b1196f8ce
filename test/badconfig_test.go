package test

// Broken configs through the real binary: `mosn start` must name each
// problem by its JSON path, exit 1, and bind nothing. The configs' listeners
// are on ports the test itself holds open, so had the proxy tried to bind,
// it would have said "address already in use".

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const l1 = "servers[0].listeners[1]"

// heldConfig returns a maker of configs derived from proxyConfig with two
// listeners, on two ports the test holds open for its whole run, then
// patches; and the two addresses.
func heldConfig(t *testing.T) (cfg func(patches ...patch) string, held []string) {
	t.Helper()
	for range 2 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		held = append(held, ln.Addr().String())
	}
	return func(patches ...patch) string {
		return proxyConfig(t, "127.0.0.1:8080", append([]patch{
			{l0 + ".address", strconv.Quote(held[0])},
			{l1, `{"name": "tcp2", "address": ` + strconv.Quote(held[1]) + `, "bind_port": true,
				"filter_chains": [{"filters": [{"type": "tcp_proxy", "config": {"cluster": "backend"}}]}]}`},
		}, patches...)...)
	}, held
}

// startRefused runs `mosn start` on doc and checks that it exits 1 having bound
// nothing; it returns the config's path and stderr.
func startRefused(t *testing.T, doc string) (file, stderr string) {
	t.Helper()
	file = writeConfig(t, doc)
	pid := filepath.Join(t.TempDir(), "mosn.pid")
	stdout, stderr, code := runBinary(t, childEnv(), "start", "-c", file, "--pid-file", pid)
	if code != 1 {
		t.Errorf("exit %d, want 1; stderr:\n%s", code, stderr)
	}
	if strings.Contains(stderr, "address already in use") || strings.Contains(stdout, "msg=listening") {
		t.Errorf("the proxy tried to bind a listener:\nstdout:\n%s\nstderr:\n%s", stdout, stderr)
	}
	if strings.Contains(stderr, "panic") {
		t.Errorf("panic:\n%s", stderr)
	}
	if _, err := os.Stat(pid); err == nil {
		t.Errorf("pid file written for a config that did not start")
	}
	return file, stderr
}

// problemLine is the stderr line `mosn` prints for a problem.
func problemLine(file, severity, path string) string {
	if path == "" {
		return file + ": " + severity + ": "
	}
	return file + ": " + severity + ": " + path + ": "
}

func TestBadConfigs(t *testing.T) {
	t.Parallel()
	cfg, held := heldConfig(t)

	// The control: the unpatched config is good, and start does try to
	// bind the held ports. This is what the rows below must not show.
	t.Run("control: good config on held ports", func(t *testing.T) {
		t.Parallel()
		_, stderr, code := runBinary(t, childEnv(), "start", "-c", writeConfig(t, cfg()), "--pid-file", filepath.Join(t.TempDir(), "mosn.pid"))
		if code != 1 || !strings.Contains(stderr, "address already in use") || !strings.Contains(stderr, `listener "tcp"`) {
			t.Errorf("exit %d, stderr %q; want 1 and listener \"tcp\": address already in use", code, stderr)
		}
	})

	const tls = l0 + ".filter_chains[0].tls_context"
	tests := []struct {
		name    string
		patches []patch
		path    string // "" for the document as a whole
		msg     string // a substring of the message
	}{
		// The document.
		{"syntax error", []patch{{"", "{\n  \"servers\": [,]\n}"}}, "", "invalid JSON at line 2"},
		{"not an object", []patch{{"", `[1]`}}, "", "the config must be a JSON object, got array"},
		{"duplicate key in another case", []patch{{l0 + ".Name", `"other"`}}, l0 + ".name", `duplicate key ("Name" and "name")`},

		// The server.
		{"no servers", []patch{{"servers", `[]`}}, "servers", "at least one server is required"},
		{"two servers", []patch{{"servers[1]", `{}`}}, "servers", "only one server is supported (got 2)"},
		{"processor x", []patch{{"servers[0].processor", `"x"`}}, "servers[0].processor", "expected integer, got string"},
		{"negative processor", []patch{{"servers[0].processor", `-1`}}, "servers[0].processor", "-1: must not be negative"},
		{"log level LOUD", []patch{{"servers[0].default_log_level", `"LOUD"`}}, "servers[0].default_log_level", `"LOUD": unknown log level`},
		{"duration without unit", []patch{{"servers[0].graceful_timeout", `"10"`}}, "servers[0].graceful_timeout", `"10": invalid duration`},
		{"duration as number", []patch{{l0 + ".connection_idle_timeout", `10`}}, l0 + ".connection_idle_timeout", `10: invalid duration`},
		{"negative duration", []patch{{l0 + ".connection_idle_timeout", `"-1s"`}}, l0 + ".connection_idle_timeout", `"-1s": negative duration`},

		// Listeners.
		{"port out of range", []patch{{l0 + ".address", `"127.0.0.1:99999"`}}, l0 + ".address", `"127.0.0.1:99999": port out of range`},
		{"host name", []patch{{l0 + ".address", `"localhost:80"`}}, l0 + ".address", `"localhost:80": host must be an IP address`},
		{"not IP:PORT", []patch{{l0 + ".address", `"foo"`}}, l0 + ".address", `"foo": want IP:PORT`},
		{"missing address", []patch{{l0 + ".address", ``}}, l0 + ".address", "required"},
		{"duplicate address", []patch{{l1 + ".address", strconv.Quote(held[0])}}, l1 + ".address", strconv.Quote(held[0]) + ": same address as " + l0},
		{"duplicate listener name", []patch{{l1 + ".name", `"tcp"`}}, l1 + ".name", `"tcp": duplicate listener name (also servers[0].listeners[0])`},
		{"listener type", []patch{{l0 + ".type", `"sideways"`}}, l0 + ".type", `"sideways": want "ingress", "egress" or nothing`},
		{"negative buffer limit", []patch{{l0 + ".per_connection_buffer_limit_bytes", `-1`}}, l0 + ".per_connection_buffer_limit_bytes", "-1: want an integer in 0..4294967295"},
		{"buffer limit as string", []patch{{l0 + ".per_connection_buffer_limit_bytes", `"64k"`}}, l0 + ".per_connection_buffer_limit_bytes", "expected integer, got string"},
		{"no filter chains", []patch{{l0 + ".filter_chains", `[]`}}, l0 + ".filter_chains", "at least one filter chain is required"},
		{"two filter chains", []patch{{l0 + ".filter_chains[1]", `{"filters": [{"type": "tcp_proxy", "config": {"cluster": "backend"}}]}`}},
			l0 + ".filter_chains", "only one filter chain per listener is supported"},
		{"no filters", []patch{{l0 + ".filter_chains[0].filters", `[]`}}, l0 + ".filter_chains[0].filters", "at least one filter is required"},
		{"unknown network filter", []patch{{filter0 + ".type", `"bogus"`}}, filter0 + ".type", `"bogus": unknown network filter`},
		{"TLS certificate missing", []patch{{tls, `{"status": true, "cert_chain": "missing-cert.pem", "private_key": "missing-key.pem"}`}},
			tls + ".cert_chain", `"missing-cert.pem": no such file`},

		// The tcp_proxy filter.
		{"tcp_proxy: no such cluster", []patch{{filter0 + ".config.cluster", `"nope"`}}, filter0 + ".config.cluster", `"nope": no such cluster`},
		{"tcp_proxy: no cluster, no routes", []patch{{filter0 + ".config", `{}`}}, filter0 + ".config", "cluster or at least one route is required"},
		{"tcp_proxy: route to a missing cluster", []patch{{filter0 + ".config.routes", `[{"cluster": "nope"}]`}}, filter0 + ".config.routes[0].cluster", `"nope": no such cluster`},
		{"tcp_proxy: bad CIDR", []patch{{filter0 + ".config.routes", `[{"cluster": "backend", "source_addrs": ["10.0.0.0/33"]}]`}},
			filter0 + ".config.routes[0].source_addrs[0]", `invalid address range "10.0.0.0/33"`},
		{"tcp_proxy: bad address range port", []patch{{filter0 + ".config.routes", `[{"cluster": "backend", "destination_addrs": ["127.0.0.1:99999"]}]`}},
			filter0 + ".config.routes[0].destination_addrs[0]", `invalid address range "127.0.0.1:99999"`},

		// Clusters.
		{"unknown lb_type", []patch{{cluster0 + ".lb_type", `"LB_FOO"`}}, cluster0 + ".lb_type", `"LB_FOO": unknown load balancer type`},
		{"unknown cluster type", []patch{{cluster0 + ".type", `"MAGIC"`}}, cluster0 + ".type", `"MAGIC": unknown cluster type`},
		{"duplicate cluster name", []patch{{"cluster_manager.clusters[1]", `{"name": "backend", "hosts": [{"address": "127.0.0.1:8081"}]}`}},
			"cluster_manager.clusters[1].name", `"backend": duplicate cluster name (also cluster_manager.clusters[0].name)`},
		{"cluster without name", []patch{{"cluster_manager.clusters[1]", `{"hosts": [{"address": "127.0.0.1:8081"}]}`}}, "cluster_manager.clusters[1].name", "required"},
		{"connect_timeout 0s", []patch{{cluster0 + ".connect_timeout", `"0s"`}}, cluster0 + ".connect_timeout", `"0s": must be positive`},
		{"host weight 200", []patch{{cluster0 + ".hosts[0].weight", `200`}}, cluster0 + ".hosts[0].weight", "200: out of range (1-128)"},
		{"host without port", []patch{{cluster0 + ".hosts[0].address", `"127.0.0.1"`}}, cluster0 + ".hosts[0].address", `"127.0.0.1": want IP:PORT or HOSTNAME:PORT`},
		{"host port 0", []patch{{cluster0 + ".hosts[0].address", `"127.0.0.1:0"`}}, cluster0 + ".hosts[0].address", `"127.0.0.1:0": port out of range (1-65535)`},
		{"no hosts", []patch{{cluster0 + ".hosts", `[]`}}, cluster0 + ".hosts", "at least one host is required for a SIMPLE cluster"},
		{"bad circuit breaker priority", []patch{{cluster0 + ".circuit_breakers[0].priority", `"urgent"`}}, cluster0 + ".circuit_breakers[0].priority", `"urgent": want "default" or "high"`},
	}
	if len(tests) < 20 {
		t.Fatalf("only %d bad configs", len(tests))
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			file, stderr := startRefused(t, cfg(tt.patches...))
			want := problemLine(file, "error", tt.path)
			if lineWith(stderr, want, tt.msg) == "" {
				t.Errorf("stderr has no line starting %q containing %q; stderr:\n%s", want, tt.msg, stderr)
			}
		})
	}

	// Every problem of a config is reported at once.
	t.Run("several errors at once", func(t *testing.T) {
		t.Parallel()
		file, stderr := startRefused(t, cfg(
			patch{"servers[0].processor", `"many"`},
			patch{"servers[0].default_log_level", `"LOUD"`},
			patch{l0 + ".address", `"127.0.0.1:99999"`},
			patch{filter0 + ".config.cluster", `"nope"`},
			patch{cluster0 + ".lb_type", `"LB_FOO"`},
			patch{cluster0 + ".hosts[1]", `{"address": "127.0.0.1:8081", "weight": 129}`},
		))
		for _, path := range []string{
			"servers[0].processor",
			"servers[0].default_log_level",
			l0 + ".address",
			filter0 + ".config.cluster",
			cluster0 + ".lb_type",
			cluster0 + ".hosts[1].weight",
		} {
			if !strings.Contains(stderr, problemLine(file, "error", path)) {
				t.Errorf("stderr does not name %s; stderr:\n%s", path, stderr)
			}
		}
	})
}

// TestUnsupportedConfigs gives valid configs using features this build
// cannot run yet: validate accepts them, start refuses them by name, before
// binding anything.
func TestUnsupportedConfigs(t *testing.T) {
	t.Parallel()
	cfg, _ := heldConfig(t)
	tests := []struct {
		name    string
		patches []patch
		path    string
	}{
		{"Tars proxy filter", []patch{
			{filter0, `{"type": "proxy", "config": {"downstream_protocol": "Tars", "router_config_name": "r"}}`},
			{"servers[0].routers", `[{"router_config_name": "r", "virtual_hosts": [{"name": "vh", "domains": ["*"],
				"routers": [{"match": {"prefix": "/"}, "route": {"cluster_name": "backend"}}]}]}]`},
		}, filter0 + ".config"},
		{"listener without bind_port", []patch{{l1 + ".bind_port", ``}}, l1 + ".bind_port"},
		{"maglev balancer", []patch{{cluster0 + ".lb_type", `"LB_MAGLEV"`}}, cluster0 + ".lb_type"},
		{"STRICT_DNS cluster", []patch{{cluster0 + ".type", `"STRICT_DNS"`}}, cluster0 + ".type"},
		{"health check", []patch{{cluster0 + ".health_check", `{"protocol": "tcp", "interval": "5s"}`}}, cluster0 + ".health_check"},
		{"metrics sink other than prometheus", []patch{{"metrics", `{"sinks": [{"type": "console"}]}`}}, "metrics.sinks[0].type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			doc := cfg(tt.patches...)
			file, stderr := startRefused(t, doc)
			want := problemLine(file, "not supported yet", tt.path)
			if !strings.Contains(stderr, want) || !strings.Contains(stderr, "refusing to start") {
				t.Errorf("stderr lacks %q or %q; stderr:\n%s", want, "refusing to start", stderr)
			}
			if strings.Contains(stderr, ": error: ") {
				t.Errorf("a valid config reported as an error:\n%s", stderr)
			}
			stdout, vstderr, code := runBinary(t, childEnv(), "validate", "-c", file)
			if code != 0 || !strings.Contains(vstderr, want) || !strings.Contains(stdout, "cannot run") {
				t.Errorf("validate: exit %d, stdout %q, stderr %q; want 0, %q and \"cannot run\"", code, stdout, vstderr, want)
			}
		})
	}
}
