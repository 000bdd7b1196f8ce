package router

import (
	"testing"

	"github.com/sidecar-mesh/mosn/pkg/protocol"
)

// hotConfig is a table shaped like a real one: several virtual hosts of
// each kind of domain, several routes before the one that matches.
const hotConfig = `{
	"router_config_name": "hot",
	"virtual_hosts": [
		{"name": "www", "domains": ["www.example.com", "example.com"], "routers": [
			{"match": {"path": "/healthz"}, "direct_response": {"status": 200}},
			{"match": {"prefix": "/static/"}, "route": {"cluster_name": "static"}},
			{"match": {"prefix": "/api/v2/"}, "route": {"cluster_name": "api-v2"}},
			{"match": {"prefix": "/api/"}, "route": {"cluster_name": "api"}}]},
		{"name": "cdn", "domains": ["*.cdn.example.net", "*.example.net"], "routers": [
			{"match": {"prefix": "/live/"}, "route": {"cluster_name": "live"}},
			{"match": {"regex": "/img/[0-9]+/[a-z0-9_-]+\\.(png|jpg)"}, "route": {"cluster_name": "images"}}]},
		{"name": "admin", "domains": ["admin.*"], "routers": [{"route": {"cluster_name": "admin"}}]},
		{"name": "rpc", "domains": ["*"], "routers": [
			{"match": {"headers": [{"name": "service", "value": "com.example.Admin:1.0"}]}, "route": {"cluster_name": "admin-rpc"}},
			{"match": {"headers": [{"name": "service", "value": ".*"}, {"name": "target-app", "value": "echo"},
				{"name": "version", "value": "1\\.[0-9]+", "regex": true}]}, "route": {"cluster_name": "echo"}},
			{"match": {"headers": [{"name": "service", "value": ".*"}]}, "route": {"cluster_name": "default-rpc"}}]}
	]
}`

// hotRequests are the requests of the allocation tests and benchmarks, each
// with the cluster it must reach.
var hotRequests = []struct {
	name    string
	headers []string
	cluster string
	regexp  bool // the match runs a regexp
}{
	{"ExactHostPrefix", []string{":method", "GET", ":path", "/api/users?id=7", "host", "WWW.Example.com:8080",
		"user-agent", "bench", "accept", "*/*"}, "api", false},
	{"WildcardHostRegex", []string{":method", "GET", ":path", "/img/1234/cat_01.png?w=200", ":authority", "eu1.cdn.example.net",
		"user-agent", "bench", "accept", "*/*"}, "images", true},
	{"Headers", []string{"service", "com.example.EchoService:1.0", "target-app", "echo", "version", "1.2",
		"sofa_head_method_name", "echo"}, "echo", true},
}

// TestMatchAllocs holds Match to zero allocations per request (STYLE rule
// 27).
func TestMatchAllocs(t *testing.T) {
	tb := build(t, hotConfig)
	for _, hr := range hotRequests {
		t.Run(hr.name, func(t *testing.T) {
			h := req(hr.headers...)
			if r := tb.Match(h); r == nil || r.PickCluster(h) != hr.cluster {
				t.Fatalf("routed to %v, want %s", r, hr.cluster)
			}
			if hr.regexp && raceEnabled {
				// regexp keeps its matchers in a sync.Pool, which the race
				// detector makes drop items at random.
				t.Skip("regexp allocates under the race detector")
			}
			if n := testing.AllocsPerRun(200, func() { _ = tb.Match(h) }); n != 0 {
				t.Errorf("Match: %v allocations per run, want 0", n)
			}
		})
	}
}

func TestPickAllocs(t *testing.T) {
	tb := build(t, oneRoute(`{"route": {"weighted_clusters": [{"cluster": {"name": "a", "weight": 1}}, {"cluster": {"name": "b", "weight": 2}}]},
		"request_mirror_policies": {"cluster": "m", "percent": 50}}`, "", ""))
	h := req(":path", "/")
	r := tb.Match(h)
	if n := testing.AllocsPerRun(200, func() {
		_ = r.PickCluster(h)
		m, _ := r.Mirror()
		_ = m.Sample()
	}); n != 0 {
		t.Errorf("PickCluster and Mirror: %v allocations per run, want 0", n)
	}
}

func BenchmarkMatch(b *testing.B) {
	tb := build(b, hotConfig)
	for _, hr := range hotRequests {
		b.Run(hr.name, func(b *testing.B) {
			h := req(hr.headers...)
			b.ReportAllocs()
			for b.Loop() {
				if tb.Match(h) == nil {
					b.Fatal("no route")
				}
			}
		})
	}
}

func BenchmarkMatchParallel(b *testing.B) {
	tb := build(b, hotConfig)
	hr := hotRequests[0]
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		h := req(hr.headers...)
		for pb.Next() {
			if tb.Match(h) == nil {
				b.Fatal("no route")
			}
		}
	})
}

func BenchmarkPickWeighted(b *testing.B) {
	tb := build(b, oneRoute(`{"route": {"weighted_clusters": [{"cluster": {"name": "a", "weight": 50}},
		{"cluster": {"name": "b", "weight": 30}}, {"cluster": {"name": "c", "weight": 20}}]}}`, "", ""))
	h := new(protocol.Headers)
	r := tb.Match(h)
	b.ReportAllocs()
	for b.Loop() {
		_ = r.PickCluster(h)
	}
}
