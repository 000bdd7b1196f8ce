package l7

import (
	"log/slog"
	"testing"
	"time"

	"github.com/sidecar-mesh/mosn/pkg/metrics"
	"github.com/sidecar-mesh/mosn/pkg/upstream"
)

// TestCountingAllocatesNothing holds the budget of the counting hooks: a
// request counted from begin to end, with one try, costs 0 allocations.
func TestCountingAllocatesNothing(t *testing.T) {
	m := upstream.NewManager(nil, slog.New(slog.DiscardHandler))
	if err := m.AddOrUpdate(upstream.ClusterOptions{Name: "c", LB: upstream.LBRoundRobin, Hosts: []upstream.HostOptions{{Address: "127.0.0.1:1"}}}); err != nil {
		t.Fatal(err)
	}
	c := m.Get("c")
	d := new(metrics.Downstream)
	f := &Filter{stats: d}
	r := &request{f: f, cluster: c, start: time.Now()}
	a := &attempt{r: r, host: c.ChooseHost(), retry: true}
	allocs := testing.AllocsPerRun(1000, func() {
		r.countBegin()
		a.countSent()
		r.phase = phaseUpstream
		a.countResponse(200)
		r.cur = a
		r.countAbandon(true)
		r.cur = nil
		a.countRemoteReset()
		a.countDone()
		r.status = 200
		r.countEnd()
	})
	if allocs != 0 {
		t.Fatalf("counting a request allocates %v times, want 0", allocs)
	}
	if n := c.Stats().Requests.Total.Load(); n < 1000 || d.RequestActive.Load() != 0 {
		t.Fatalf("tries %d, active %d", n, d.RequestActive.Load())
	}
}
