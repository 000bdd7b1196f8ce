package router

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sidecar-mesh/mosn/pkg/config"
)

// TestNew builds valid and invalid router configs; an invalid one must fail
// with every listed substring, and with ErrNotSupported exactly when it is
// valid config this router cannot run.
func TestNew(t *testing.T) {
	t.Parallel()
	fwd := func(action string) string { return oneRoute(`{"route": {"cluster_name": "c", `+action+`}}`, "", "") }
	tests := []struct {
		name        string
		config      string
		errs        []string // substrings; none = valid
		unsupported bool
	}{
		{name: "minimal", config: oneRoute(`{"route": {"cluster_name": "c"}}`, "", "")},
		{name: "every field", config: oneRoute(`{"match": {"prefix": "/", "headers": [{"name": "a", "value": "b"}]},
			"route": {"cluster_name": "c", "upstream_protocol": "Http1", "timeout": "1s", "prefix_rewrite": "/x",
				"host_rewrite": "h", "metadata_match": {"filter_metadata": {"mosn.lb": {"k": "v"}}},
				"retry_policy": {"retry_on": true, "num_retries": 1, "retry_timeout": "1s"},
				"request_headers_to_add": [{"header": {"key": "a", "value": "b"}, "append": false}],
				"request_headers_to_remove": ["c"],
				"response_headers_to_add": [{"header": {"key": "a", "value": "b"}}],
				"response_headers_to_remove": ["c"]},
			"metadata": {"filter_metadata": {"mosn.lb": {}}},
			"per_filter_config": {},
			"request_mirror_policies": {"cluster": "m", "percent": 10}}`, `"require_tls": "NONE"`, "")},
		{name: "metadata keys in any case", config: fwd(`"metadata_match": {"Filter_Metadata": {"MOSN.LB": {"k": "v"}}}`)},
		{name: "null raw fields", config: fwd(`"metadata_match": null, "hash_policy": null, "regex_rewrite": null`)},

		{name: "no name", config: `{"virtual_hosts": []}`, errs: []string{`router "": router_config_name: required`}},
		{name: "router_configs", config: `{"router_config_name": "r", "router_configs": "/etc/routers"}`,
			errs: []string{`router "r": router_configs: loading virtual hosts from a directory: not supported`}, unsupported: true},
		{name: "hash_policy", config: fwd(`"hash_policy": [{"header": {"key": "x"}}]`),
			errs: []string{"virtual_hosts[0].routers[0].route.hash_policy: consistent-hash load balancing: not supported"}, unsupported: true},
		{name: "require_tls", config: oneRoute(`{"route": {"cluster_name": "c"}}`, `"require_tls": "ALL"`, ""),
			errs: []string{`virtual_hosts[0].require_tls: "ALL": not supported`}, unsupported: true},
		{name: "metadata other than mosn.lb", config: fwd(`"metadata_match": {"filter_metadata": {"envoy.lb": {"k": "v"}}}`),
			errs: []string{"route.metadata_match.filter_metadata.envoy.lb: metadata other than mosn.lb: not supported"}, unsupported: true},
		{name: "metadata value not a string", config: fwd(`"metadata_match": {"filter_metadata": {"mosn.lb": {"k": 1, "j": true}}}`),
			errs: []string{"mosn.lb.j: true: want a string", "mosn.lb.k: 1: want a string"}},
		{name: "metadata unknown key", config: fwd(`"metadata_match": {"filter_metadata": {}, "other": {}}`),
			errs: []string{"route.metadata_match.other: unknown key"}},
		{name: "metadata not an object", config: fwd(`"metadata_match": ["x"]`), errs: []string{"route.metadata_match: want"}},
		{name: "route metadata", config: oneRoute(`{"route": {"cluster_name": "c"}, "metadata": {"label": "x"}}`, "", ""),
			errs: []string{"routers[0].metadata.label: unknown key"}},
		{name: "per_filter_config not an object", config: oneRoute(`{"route": {"cluster_name": "c"}, "per_filter_config": [1]}`, "", ""),
			errs: []string{"routers[0].per_filter_config: want an object"}},
		{name: "regex_rewrite unknown key", config: fwd(`"regex_rewrite": {"pattern": {"regex": "a"}, "substitute": "b"}`),
			errs: []string{"route.regex_rewrite: want", `unknown field "substitute"`}},
		{name: "regex_rewrite without regex", config: fwd(`"regex_rewrite": {"substitution": "b"}`),
			errs: []string{"route.regex_rewrite.pattern.regex: required"}},
		{name: "regex_rewrite bad regex", config: fwd(`"regex_rewrite": {"pattern": {"regex": "("}, "substitution": "b"}`),
			errs: []string{"route.regex_rewrite.pattern.regex: \"(\": invalid regular expression"}},
		{name: "both path rewrites", config: fwd(`"prefix_rewrite": "/a", "regex_rewrite": {"pattern": {"regex": "a"}, "substitution": "b"}`),
			errs: []string{"route: set at most one of prefix_rewrite, regex_rewrite"}},
		{name: "two host rewrites", config: fwd(`"host_rewrite": "h", "auto_host_rewrite": true`),
			errs: []string{"route: set at most one of host_rewrite, auto_host_rewrite"}},
		{name: "weights sum to 0", config: oneRoute(`{"route": {"weighted_clusters": [{"cluster": {"name": "a"}}, {"cluster": {"name": "b"}}]}}`, "", ""),
			errs: []string{"route.weighted_clusters: the weights sum to 0"}},
		{name: "weighted cluster without name", config: oneRoute(`{"route": {"weighted_clusters": [{"cluster": {"weight": 1}}]}}`, "", ""),
			errs: []string{"weighted_clusters[0].cluster.name: required"}},
		{name: "no action", config: oneRoute(`{"match": {"prefix": "/"}}`, "", ""),
			errs: []string{"virtual_hosts[0].routers[0]: want exactly one action", "(got 0)"}},
		{name: "two actions", config: oneRoute(`{"route": {"cluster_name": "c"}, "direct_response": {"status": 200}}`, "", ""),
			errs: []string{"(got 2)"}},
		{name: "timeout of a direct response", config: oneRoute(`{"route": {"timeout": "1s"}, "direct_response": {"status": 200}}`, "", ""),
			errs: []string{"route.timeout: only applies to a route that forwards to a cluster, not to a direct_response"}},
		{name: "mirror of a redirect", config: oneRoute(`{"redirect": {}, "request_mirror_policies": {"cluster": "m"}}`, "", ""),
			errs: []string{"request_mirror_policies: only applies"}},
		{name: "bad status", config: oneRoute(`{"direct_response": {"status": 99}}`, "", ""),
			errs: []string{"direct_response.status: 99: want 100-599"}},
		{name: "bad redirect code", config: oneRoute(`{"redirect": {"response_code": 300}}`, "", ""),
			errs: []string{"redirect.response_code: 300"}},
		{name: "mirror percent", config: oneRoute(`{"route": {"cluster_name": "c"}, "request_mirror_policies": {"cluster": "m", "percent": 101}}`, "", ""),
			errs: []string{"request_mirror_policies.percent: 101: want 0-100"}},
		{name: "two path matchers", config: oneRoute(`{"match": {"prefix": "/", "path": "/a"}, "route": {"cluster_name": "c"}}`, "", ""),
			errs: []string{"routers[0].match: set at most one of prefix, path, regex"}},
		{name: "bad path regex", config: oneRoute(`{"match": {"regex": "["}, "route": {"cluster_name": "c"}}`, "", ""),
			errs: []string{`match.regex: "[": invalid regular expression`}},
		{name: "bad header regex", config: oneRoute(`{"match": {"headers": [{"name": "a", "value": "(", "regex": true}]}, "route": {"cluster_name": "c"}}`, "", ""),
			errs: []string{`match.headers[0].value: "(": invalid regular expression`}},
		{name: "header matcher without name", config: oneRoute(`{"match": {"headers": [{"value": "a"}]}, "route": {"cluster_name": "c"}}`, "", ""),
			errs: []string{"match.headers[0].name: required"}},
		{name: "pseudo-header edit", config: fwd(`"request_headers_to_add": [{"header": {"key": ":path", "value": "/"}}]`),
			errs: []string{`route.request_headers_to_add[0].header.key: ":path": pseudo-headers cannot be edited`}},
		{name: "empty header key", config: oneRoute(`{"route": {"cluster_name": "c"}}`, "", `"response_headers_to_add": [{"header": {"value": "v"}}]`),
			errs: []string{"response_headers_to_add[0].header.key: required"}},
		{name: "empty header to remove", config: oneRoute(`{"route": {"cluster_name": "c"}}`, `"response_headers_to_remove": [""]`, ""),
			errs: []string{"virtual_hosts[0].response_headers_to_remove[0]: required"}},
		{name: "bad wildcard", config: `{"router_config_name": "r", "virtual_hosts": [{"domains": ["a.*.com", "**"]}]}`,
			errs: []string{`domains[0]: "a.*.com": a wildcard must be`, `domains[1]: "**": a wildcard must be`}},
		{name: "duplicate domain", config: `{"router_config_name": "r", "virtual_hosts": [{"domains": ["a.com"]}, {"domains": ["A.com"]}]}`,
			errs: []string{`virtual_hosts[1].domains[0]: "A.com": also in virtual_hosts[0].domains[0]`}},
		{name: "empty domain", config: `{"router_config_name": "r", "virtual_hosts": [{"domains": [""]}]}`,
			errs: []string{"virtual_hosts[0].domains[0]: empty domain"}},
		{name: "every problem at once", config: `{"router_config_name": "r", "virtual_hosts": [{"domains": [""],
			"routers": [{"match": {"regex": "["}}, {"route": {"cluster_name": "c", "hash_policy": [{}]}}]}]}`,
			errs:        []string{"empty domain", "invalid regular expression", "routers[0]: want exactly one action", "routers[1].route.hash_policy"},
			unsupported: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tb, err := New(decode(t, tt.config))
			if len(tt.errs) == 0 {
				if err != nil || tb == nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("New: no error, want %q", tt.errs)
			}
			if tb != nil {
				t.Error("New returned a table with its error")
			}
			for _, want := range tt.errs {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error\n%v\ndoes not contain %q", err, want)
				}
			}
			if got := errors.Is(err, ErrNotSupported); got != tt.unsupported {
				t.Errorf("errors.Is(err, ErrNotSupported) = %v, want %v", got, tt.unsupported)
			}
		})
	}
}

func TestNewTables(t *testing.T) {
	t.Parallel()
	var a, b config.RouterConfig
	a.RouterConfigName, b.RouterConfigName = "a", "b"
	ts, err := NewTables([]config.RouterConfig{a, b})
	if err != nil || len(ts) != 2 || ts["a"].Name() != "a" || ts["b"].Name() != "b" {
		t.Fatalf("NewTables = %v, %v", ts, err)
	}
	if _, err := NewTables([]config.RouterConfig{a, a}); err == nil || !strings.Contains(err.Error(), `router "a": duplicate router_config_name`) {
		t.Errorf("duplicate names: %v", err)
	}
	bad := config.RouterConfig{RouterConfigName: "bad", RouterConfigs: "dir"}
	if _, err := NewTables([]config.RouterConfig{a, bad}); !errors.Is(err, ErrNotSupported) || !strings.Contains(err.Error(), `router "bad"`) {
		t.Errorf("bad table: %v", err)
	}
	if ts, err := NewTables(nil); err != nil || len(ts) != 0 {
		t.Errorf("NewTables(nil) = %v, %v", ts, err)
	}
}

// specs holds the shared config fixtures, beside the repository.
const specs = "../../../shared/specs"

// loadRouters loads a config file with pkg/config and returns its server's
// routers, failing on problems that concern routing.
func loadRouters(t *testing.T, file string) []config.RouterConfig {
	t.Helper()
	cfg, ps := config.Load(file)
	if cfg == nil {
		t.Fatalf("Load: %v", ps)
	}
	for _, p := range ps.Errors() {
		if strings.Contains(p.Path, "router") || strings.Contains(p.Path, "virtual_hosts") {
			t.Errorf("Load: %v", p)
		} else {
			t.Logf("Load (not about routing, ignored here): %v", p)
		}
	}
	if len(cfg.Servers) == 0 {
		return nil
	}
	return cfg.Servers[0].Routers
}

func TestSeedConfig(t *testing.T) {
	t.Parallel()
	ts, err := NewTables(loadRouters(t, filepath.Join(specs, "seed-config.json")))
	if err != nil {
		t.Fatal(err)
	}
	for router, want := range map[string]string{"client_router": "clientCluster", "server_router": "serverCluster"} {
		h := req("service", "com.example.EchoService:1.0")
		r := ts[router].Match(h)
		if r == nil {
			t.Fatalf("%s: no route", router)
		}
		if got := r.PickCluster(h); got != want {
			t.Errorf("%s: cluster %q, want %q", router, got, want)
		}
		if r := ts[router].Match(req("version", "1.0")); r != nil {
			t.Errorf("%s: a request without service matched %q", router, r.PickCluster(nil))
		}
	}
}

// TestMOSNFixtures builds the route tables of MOSN's own example configs
// and routes, by each table, an HTTP request to "/" that also carries an
// RPC service header.
func TestMOSNFixtures(t *testing.T) {
	t.Parallel()
	type want struct {
		cluster, mirror string
		percent         uint32
		status          int // direct response
	}
	fixtures := map[string]map[string]want{
		"auto-protocol-direct-response.json": {
			"server_router": {cluster: "serverCluster"},
			"client_router": {cluster: "clientCluster"},
			"application":   {status: 200},
		},
		"bolt-sofarpc-proxy.json": {"server_router": {cluster: "serverCluster"}},
		"dubbo-proxy.json":        {"server_router": {cluster: "serverCluster"}},
		"http1-proxy.json":        {"server_router": {cluster: "serverCluster"}},
		"http2-proxy.json":        {"router_to_server": {cluster: "server_cluster"}},
		"mirror-http1-http2-dubbo.json": {
			"20882": {cluster: "dubbo_provider_cluster", mirror: "dubbo_mirror", percent: 30},
			"8080":  {cluster: "http1", mirror: "http1_mirror", percent: 100},
			"18080": {cluster: "http2", mirror: "http2_mirror", percent: 100},
		},
		"tcp-proxy.json":       {},
		"tls-http1-proxy.json": {"server_router": {cluster: "serverCluster"}},
	}
	files, _ := filepath.Glob(filepath.Join(specs, "mosn-configs", "*.json"))
	if len(files) != len(fixtures) {
		t.Errorf("%d fixtures, want %d: update this test", len(files), len(fixtures))
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			t.Parallel()
			wants, ok := fixtures[filepath.Base(file)]
			if !ok {
				t.Fatal("fixture not listed in this test")
			}
			ts, err := NewTables(loadRouters(t, file))
			if err != nil {
				t.Fatal(err)
			}
			if len(ts) != len(wants) {
				t.Errorf("%d tables, want %d", len(ts), len(wants))
			}
			for name, w := range wants {
				tb := ts[name]
				if tb == nil {
					t.Errorf("no table %q", name)
					continue
				}
				h := req(":method", "GET", ":path", "/", "host", "localhost:2046", "service", "com.alipay.test.TestService:1.0")
				r := tb.Match(h)
				if r == nil {
					t.Errorf("%s: no route", name)
					continue
				}
				if status, _, ok := r.DirectResponse(); ok != (w.status != 0) || status != w.status {
					t.Errorf("%s: direct response %d, %v; want %d", name, status, ok, w.status)
				}
				if got := r.PickCluster(h); got != w.cluster {
					t.Errorf("%s: cluster %q, want %q", name, got, w.cluster)
				}
				m, ok := r.Mirror()
				if ok != (w.mirror != "") || m.Cluster != w.mirror || m.Percent != w.percent {
					t.Errorf("%s: mirror %+v, %v; want %s %d%%", name, m, ok, w.mirror, w.percent)
				}
			}
		})
	}
}
