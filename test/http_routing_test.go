package test

// Routing and load balancing of the HTTP/1.1 proxy, through the binary:
// every backend answers with its name, so the body says where a request
// went.

import (
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
)

// TestHTTPRouting sends requests that differ in host, path and headers, and
// checks which backend each reaches: virtual hosts by exact domain, suffix
// wildcard, prefix wildcard and "*" (in Envoy's precedence), then routes by
// exact path, prefix, regex and header, first match winning.
func TestHTTPRouting(t *testing.T) {
	t.Parallel()
	names := []string{"exact", "suffix", "prefix", "path", "prefix-path", "regex", "header", "header-regex", "default"}
	var cs []string
	for _, n := range names {
		cs = append(cs, clusterJSON(n, "LB_ROUNDROBIN", namedHTTP(t, n).addr()))
	}
	all := func(cluster string) string { return `[` + forward("/", cluster, "") + `]` }
	vhosts := `[
  {"name": "exact", "domains": ["exact.example.com", "www.suffix.example"], "routers": ` + all("exact") + `},
  {"name": "suffix", "domains": ["*.suffix.example"], "routers": ` + all("suffix") + `},
  {"name": "prefix", "domains": ["prefix.*"], "routers": ` + all("prefix") + `},
  {"name": "any", "domains": ["*"], "routers": [
    {"match": {"path": "/exact/path"}, "route": {"cluster_name": "path"}},
    {"match": {"prefix": "/pre/"}, "route": {"cluster_name": "prefix-path"}},
    {"match": {"regex": "/items/[0-9]+"}, "route": {"cluster_name": "regex"}},
    {"match": {"prefix": "/", "headers": [{"name": "x-tenant", "value": "blue"}]}, "route": {"cluster_name": "header"}},
    {"match": {"prefix": "/", "headers": [{"name": "X-Version", "value": "v[0-9]+", "regex": true}]}, "route": {"cluster_name": "header-regex"}},
    {"match": {"prefix": "/"}, "route": {"cluster_name": "default"}}
  ]}
]`
	_, addrs := startBinary(t, httpConfig(t, "127.0.0.1:1",
		patch{routers + "[0].virtual_hosts", vhosts}, clustersPatch(cs...)))
	client, _ := newClient(t, 4)

	tests := []struct {
		host, path string
		header     []string
		want       string
	}{
		{"exact.example.com", "/", nil, "exact"},
		{"EXACT.Example.COM:8080", "/any/path", nil, "exact"}, // any case, any port
		{"exact.example.com", "/exact/path", nil, "exact"},    // the virtual host decides first
		{"a.suffix.example", "/", nil, "suffix"},
		{"a.b.suffix.example", "/", nil, "suffix"},
		{"www.suffix.example", "/", nil, "exact"},      // exact beats suffix
		{"prefix.suffix.example", "/", nil, "suffix"},  // suffix beats prefix
		{"suffix.example", "/", nil, "default"},        // a wildcard never matches the empty string
		{"prefix.anything.test", "/", nil, "prefix"},   //
		{"prefix.", "/", nil, "default"},               // nor here
		{"other.test", "/exact/path", nil, "path"},     //
		{"other.test", "/exact/path?q=1", nil, "path"}, // the query is not part of the path
		{"other.test", "/exact/path/more", nil, "default"},
		{"other.test", "/exact/Path", nil, "default"}, // paths compare case-sensitively
		{"other.test", "/pre/x", nil, "prefix-path"},
		{"other.test", "/pre", nil, "default"},
		{"other.test", "/items/42", nil, "regex"},
		{"other.test", "/items/42?x=y", nil, "regex"},
		{"other.test", "/items/42/x", nil, "default"}, // a regex matches the whole path
		{"other.test", "/items/abc", nil, "default"},
		{"other.test", "/", []string{"X-Tenant: blue"}, "header"},
		{"other.test", "/", []string{"X-Tenant: red"}, "default"},
		{"other.test", "/pre/x", []string{"X-Tenant: blue"}, "prefix-path"}, // first match wins
		{"other.test", "/", []string{"X-Version: v12"}, "header-regex"},
		{"other.test", "/", []string{"X-Version: v12x"}, "default"}, // whole value
		{"other.test", "/", []string{"X-Version: 12"}, "default"},
	}
	for _, tt := range tests {
		resp, body := request(t, client, "GET", addrs[0], tt.host, tt.path, nil, tt.header...)
		if resp.StatusCode != 200 || body != tt.want {
			t.Errorf("host %q path %q %v: %d %q, want 200 from %q", tt.host, tt.path, tt.header, resp.StatusCode, body, tt.want)
		}
	}
}

// TestHTTPLoadBalancing sends 3,000 requests, from 10 keep-alive clients at
// once, to each of five routes over the same three backends a, b and c, and
// counts where they went. Round robin, plain and weighted, must be exact:
// picks are one atomic counter whatever the concurrency. Random choices must
// be within 5 percentage points of their share: with 3,000 draws a share's
// standard deviation is at most 0.9 points, so 5 points is over five
// deviations and the test does not flake.
func TestHTTPLoadBalancing(t *testing.T) {
	t.Parallel()
	const total, clients = 3000, 10
	a, b, c := namedHTTP(t, "a").addr(), namedHTTP(t, "b").addr(), namedHTTP(t, "c").addr()
	weighted := func(name string) string {
		return `{"name": "` + name + `", "lb_type": "LB_WEIGHTED_ROUNDROBIN", "hosts": [
			{"address": "` + a + `", "weight": 1}, {"address": "` + b + `", "weight": 2}, {"address": "` + c + `", "weight": 3}]}`
	}
	cfg := httpConfig(t, "127.0.0.1:1",
		routesPatch(
			forward("/random", "random", ""),
			forward("/rr", "rr", ""),
			forward("/wrr", "wrr", ""),
			forward("/least", "least", ""),
			`{"match": {"prefix": "/weighted-clusters"}, "route": {"weighted_clusters": [
				{"cluster": {"name": "only-a", "weight": 20}},
				{"cluster": {"name": "only-b", "weight": 30}},
				{"cluster": {"name": "only-c", "weight": 50}}]}}`),
		clustersPatch(
			clusterJSON("random", "LB_RANDOM", a, b, c),
			clusterJSON("rr", "LB_ROUNDROBIN", a, b, c),
			weighted("wrr"),
			clusterJSON("least", "LB_LEAST_REQUEST", a, b, c),
			clusterJSON("only-a", "LB_ROUNDROBIN", a),
			clusterJSON("only-b", "LB_ROUNDROBIN", b),
			clusterJSON("only-c", "LB_ROUNDROBIN", c)))
	_, addrs := startBinary(t, cfg)

	tests := []struct {
		path  string
		share map[string]float64
		exact bool
	}{
		{"/rr", map[string]float64{"a": 1.0 / 3, "b": 1.0 / 3, "c": 1.0 / 3}, true},
		{"/wrr", map[string]float64{"a": 1.0 / 6, "b": 2.0 / 6, "c": 3.0 / 6}, true},
		{"/random", map[string]float64{"a": 1.0 / 3, "b": 1.0 / 3, "c": 1.0 / 3}, false},
		// Equal weights: the less loaded of two random picks, so about even.
		{"/least", map[string]float64{"a": 1.0 / 3, "b": 1.0 / 3, "c": 1.0 / 3}, false},
		{"/weighted-clusters", map[string]float64{"a": 0.2, "b": 0.3, "c": 0.5}, false},
	}
	for _, tt := range tests {
		t.Run(strings.TrimPrefix(tt.path, "/"), func(t *testing.T) {
			t.Parallel()
			client, tr := newClient(t, clients)
			var mu sync.Mutex
			counts := map[string]int{}
			var wg sync.WaitGroup
			for i := range clients {
				wg.Go(func() {
					for j := range total / clients {
						resp, body, err := tryRequest(client, "GET", addrs[0], "", fmt.Sprintf("%s/%d/%d", tt.path, i, j), nil)
						key := body
						if err != nil {
							key = "error: " + err.Error()
						} else if resp.StatusCode != 200 {
							key = fmt.Sprintf("status %d: %s", resp.StatusCode, body)
						}
						mu.Lock()
						counts[key]++
						mu.Unlock()
					}
				})
			}
			wg.Wait()
			tr.CloseIdleConnections()
			got := share(counts, total)
			for name := range counts {
				if _, ok := tt.share[name]; !ok {
					t.Fatalf("unexpected answers: %s", got)
				}
			}
			for name, want := range tt.share {
				n := counts[name]
				if tt.exact {
					if w := int(math.Round(want * total)); n != w {
						t.Errorf("%s got %d requests, want exactly %d; all: %s", name, n, w, got)
					}
				} else if d := math.Abs(float64(n)/total - want); d > 0.05 {
					t.Errorf("%s got %.1f%% of the requests, want %.1f%% ± 5; all: %s", name, 100*float64(n)/total, 100*want, got)
				}
			}
			t.Logf("%s: %s", tt.path, got)
		})
	}
}
