package router

import (
	"maps"
	"math"
	"testing"
	"time"
)

func TestWeightedClusters(t *testing.T) {
	t.Parallel()
	tb := build(t, oneRoute(`{"route": {"weighted_clusters": [
		{"cluster": {"name": "a", "weight": 50}},
		{"cluster": {"name": "never", "weight": 0}},
		{"cluster": {"name": "b", "weight": 30}},
		{"cluster": {"name": "c", "weight": 20}}]}}`, "", ""))
	h := req(":path", "/")
	r := tb.Match(h)
	const n = 3000
	counts := make(map[string]int)
	for range n {
		counts[r.PickCluster(h)]++
	}
	for name, weight := range map[string]float64{"a": 0.5, "b": 0.3, "c": 0.2, "never": 0} {
		share := float64(counts[name]) / n
		if math.Abs(share-weight) > 0.05 {
			t.Errorf("cluster %s: picked %.3f of the time, want %.2f ± 0.05 (counts %v)", name, share, weight, counts)
		}
	}
	if counts["never"] != 0 {
		t.Errorf("a cluster of weight 0 was picked %d times", counts["never"])
	}
}

func TestPickMetadata(t *testing.T) {
	t.Parallel()
	tb := build(t, oneRoute(`{"route": {
		"metadata_match": {"filter_metadata": {"mosn.lb": {"version": "v1", "zone": "z1"}}},
		"weighted_clusters": [
			{"cluster": {"name": "a", "weight": 1, "metadata_match": {"filter_metadata": {"mosn.lb": {"version": "v2"}}}}},
			{"cluster": {"name": "b", "weight": 1}}]}}`, "", ""))
	r := tb.Match(req())
	want := map[string]map[string]string{
		"a": {"version": "v2", "zone": "z1"},
		"b": {"version": "v1", "zone": "z1"},
	}
	seen := map[string]bool{}
	for range 200 {
		c, md := r.Pick(req())
		if !maps.Equal(md, want[c]) {
			t.Fatalf("Pick: cluster %q with metadata %v, want %v", c, md, want[c])
		}
		seen[c] = true
	}
	if len(seen) != 2 {
		t.Errorf("picked %v, want both a and b", seen)
	}
	if got := r.MetadataMatch(); !maps.Equal(got, want["b"]) {
		t.Errorf("MetadataMatch = %v, want %v", got, want["b"])
	}
}

func TestClusterHeader(t *testing.T) {
	t.Parallel()
	tb := build(t, oneRoute(`{"route": {"cluster_header": "X-Cluster"}}`, "", ""))
	r := tb.Match(req())
	if got := r.PickCluster(req("x-cluster", "blue")); got != "blue" {
		t.Errorf("PickCluster = %q, want blue", got)
	}
	if got := r.PickCluster(req()); got != "" {
		t.Errorf("PickCluster without the header = %q, want \"\"", got)
	}
}

func TestRouteAccessors(t *testing.T) {
	t.Parallel()
	tb := build(t, `{"router_config_name": "acc", "virtual_hosts": [{"name": "v", "domains": ["*"], "routers": [
		{"match": {"prefix": "/a"}, "route": {"cluster_name": "c", "timeout": "3s", "upstream_protocol": "Http2",
			"auto_host_rewrite": true,
			"retry_policy": {"retry_on": true, "num_retries": 2, "retry_timeout": "500ms"}},
		 "request_mirror_policies": {"cluster": "m", "percent": 30, "trace_sampled": true},
		 "metadata": {"filter_metadata": {"mosn.lb": {"label": "x"}}},
		 "per_filter_config": {"fault": {"delay": "1s"}}},
		{"match": {"prefix": "/b"}, "route": {"cluster_name": "c"}},
		{"match": {"prefix": "/d"}, "direct_response": {"status": 503, "body": "down"}}]}]}`)
	if tb.Name() != "acc" {
		t.Errorf("Name = %q", tb.Name())
	}
	a := tb.Match(req(":path", "/a"))
	if a.Action() != ActionForward || a.Timeout() != 3*time.Second || a.PerTryTimeout() != 500*time.Millisecond ||
		a.UpstreamProtocol() != "Http2" || !a.AutoHostRewrite() {
		t.Errorf("route a: action %v timeout %v per-try %v protocol %q auto host %v",
			a.Action(), a.Timeout(), a.PerTryTimeout(), a.UpstreamProtocol(), a.AutoHostRewrite())
	}
	if on, n := a.Retries(); !on || n != 2 {
		t.Errorf("Retries = %v, %d; want true, 2", on, n)
	}
	if m, ok := a.Mirror(); !ok || m != (Mirror{Cluster: "m", Percent: 30, TraceSampled: true}) {
		t.Errorf("Mirror = %+v, %v", m, ok)
	}
	if md := a.Metadata(); !maps.Equal(md, map[string]string{"label": "x"}) {
		t.Errorf("Metadata = %v", md)
	}
	if fc, ok := a.FilterConfig("fault"); !ok || string(fc) != `{"delay": "1s"}` {
		t.Errorf("FilterConfig(fault) = %s, %v", fc, ok)
	}
	if _, ok := a.FilterConfig("other"); ok {
		t.Error("FilterConfig(other) found")
	}
	if _, _, ok := a.DirectResponse(); ok {
		t.Error("DirectResponse of a forwarding route")
	}
	if _, _, ok := a.Redirect(req()); ok {
		t.Error("Redirect of a forwarding route")
	}

	b := tb.Match(req(":path", "/b"))
	if on, n := b.Retries(); on || n != 0 || b.Timeout() != 0 || b.PerTryTimeout() != 0 || b.UpstreamProtocol() != "" ||
		b.MetadataMatch() != nil || b.Metadata() != nil || b.AutoHostRewrite() {
		t.Errorf("route b has settings it was not given")
	}
	if _, ok := b.Mirror(); ok {
		t.Error("route b has a mirror")
	}

	d := tb.Match(req(":path", "/d"))
	if status, body, ok := d.DirectResponse(); !ok || status != 503 || body != "down" || d.Action() != ActionDirectResponse {
		t.Errorf("DirectResponse = %d, %q, %v", status, body, ok)
	}
	if c, md := d.Pick(req()); c != "" || md != nil {
		t.Errorf("Pick of a direct response = %q, %v", c, md)
	}
}

func TestMirrorSample(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		percent uint32
		lo, hi  int // of 3000
	}{{0, 0, 0}, {100, 3000, 3000}, {30, 750, 1050}} {
		m := Mirror{Cluster: "m", Percent: tt.percent}
		n := 0
		for range 3000 {
			if m.Sample() {
				n++
			}
		}
		if n < tt.lo || n > tt.hi {
			t.Errorf("percent %d: sampled %d of 3000, want %d-%d", tt.percent, n, tt.lo, tt.hi)
		}
	}
}

func TestActionString(t *testing.T) {
	t.Parallel()
	for a, want := range map[Action]string{ActionForward: "forward", ActionRedirect: "redirect",
		ActionDirectResponse: "direct_response", Action(9): "action(9)"} {
		if got := a.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", a, got, want)
		}
	}
}
