package upstream

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
)

// allLBs are the registered load balancers the tests below run over.
var allLBs = []string{LBRandom, LBRoundRobin, LBWeightedRoundRobin, LBLeastRequest}

// weightedHosts makes one host per weight, named a, b, c, … (then h26, …).
func weightedHosts(weights ...uint32) []*Host {
	hosts := make([]*Host, len(weights))
	for i, w := range weights {
		name := string(rune('a' + i))
		if i >= 26 {
			name = fmt.Sprintf("h%d", i)
		}
		hosts[i] = &Host{HostOptions: HostOptions{Address: name, Weight: w}}
	}
	return hosts
}

func buildLB(t testing.TB, name string, hosts []*Host) LoadBalancer {
	t.Helper()
	f, ok := LookupLB(name)
	if !ok {
		t.Fatalf("load balancer %s is not registered", name)
	}
	return f(hosts)
}

// pickCounts makes n picks and counts them by host index.
func pickCounts(t *testing.T, lb LoadBalancer, hosts []*Host, n int) []int {
	t.Helper()
	index := make(map[*Host]int, len(hosts))
	for i, h := range hosts {
		index[h] = i
	}
	counts := make([]int, len(hosts))
	for range n {
		i, ok := index[lb.Pick()]
		if !ok {
			t.Fatal("picked a host that is not in the set")
		}
		counts[i]++
	}
	return counts
}

// checkShares fails unless each host's share of picks is within ±5% of want.
func checkShares(t *testing.T, counts []int, want []float64) {
	t.Helper()
	var n int
	for _, c := range counts {
		n += c
	}
	for i, c := range counts {
		if share := float64(c) / float64(n); math.Abs(share-want[i]) > 0.05 {
			t.Errorf("host %d got %.1f%% of picks, want %.1f%% ± 5%% (counts %v)", i, 100*share, 100*want[i], counts)
		}
	}
}

// pickString names the first n picks, one letter each.
func pickString(lb LoadBalancer, n int) string {
	var b strings.Builder
	for range n {
		b.WriteString(lb.Pick().Address)
	}
	return b.String()
}

// nginxWRR is smooth weighted round robin as nginx runs it: live current
// weights behind a mutex, every host visited on every pick (without nginx's
// lowering of a failing host's effective weight). It is the reference the
// precomputed cycle is checked against, and the locking design it is
// benchmarked against.
type nginxWRR struct {
	mu      sync.Mutex
	hosts   []*Host
	current []int64
}

func newNginxWRR(hosts []*Host) *nginxWRR {
	return &nginxWRR{hosts: hosts, current: make([]int64, len(hosts))}
}

func (n *nginxWRR) Pick() *Host {
	n.mu.Lock()
	defer n.mu.Unlock()
	var total int64
	best := -1
	for i, h := range n.hosts {
		w := int64(max(h.Weight, 1))
		n.current[i] += w
		total += w
		if best < 0 || n.current[i] > n.current[best] {
			best = i
		}
	}
	if best < 0 {
		return nil
	}
	n.current[best] -= total
	return n.hosts[best]
}

func TestLBEmptyAndSingleHost(t *testing.T) {
	for _, name := range allLBs {
		t.Run(name, func(t *testing.T) {
			for _, hosts := range [][]*Host{nil, {}} {
				if h := buildLB(t, name, hosts).Pick(); h != nil {
					t.Fatalf("Pick over %d hosts = %s, want nil", len(hosts), h.Address)
				}
			}
			hosts := weightedHosts(7)
			hosts[0].Stats().RequestActive.Store(100)
			lb := buildLB(t, name, hosts)
			for range 10 {
				if h := lb.Pick(); h != hosts[0] {
					t.Fatalf("Pick over one host = %v, want it", h)
				}
			}
		})
	}
}

func TestWeightedRoundRobinDistribution(t *testing.T) {
	for _, weights := range [][]uint32{
		{1, 2, 3},
		{5, 1, 1},
		{2, 4, 6}, // reduced to 1, 2, 3
		{128, 1, 64, 1},
		{3, 3, 3}, // plain round robin
		{0, 1, 2}, // 0 counts as 1
	} {
		t.Run(fmt.Sprint(weights), func(t *testing.T) {
			hosts := weightedHosts(weights...)
			var total float64
			for _, w := range weights {
				total += float64(max(w, 1))
			}
			want := make([]float64, len(weights))
			for i, w := range weights {
				want[i] = float64(max(w, 1)) / total
			}
			checkShares(t, pickCounts(t, buildLB(t, LBWeightedRoundRobin, hosts), hosts, 3000), want)
		})
	}
}

func TestWeightedRoundRobinIsSmooth(t *testing.T) {
	for _, tc := range []struct {
		weights []uint32
		want    string // two cycles
	}{
		{[]uint32{5, 1, 1}, "aabacaa" + "aabacaa"},
		{[]uint32{1, 2, 3}, "cbacbc" + "cbacbc"},
		{[]uint32{2, 1}, "aba" + "aba"},
		{[]uint32{4, 2}, "aba" + "aba"},
		{[]uint32{1, 1, 1}, "abc" + "abc"},
		{[]uint32{1, 5}, "bbabbb" + "bbabbb"},
	} {
		t.Run(fmt.Sprint(tc.weights), func(t *testing.T) {
			lb := buildLB(t, LBWeightedRoundRobin, weightedHosts(tc.weights...))
			if got := pickString(lb, len(tc.want)); got != tc.want {
				t.Fatalf("picks %s, want %s", got, tc.want)
			}
		})
	}
}

// TestWeightedRoundRobinMatchesNginx checks the precomputed cycle against
// nginx's algorithm run live, over two cycles of random weight sets.
func TestWeightedRoundRobinMatchesNginx(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 300 {
		weights := make([]uint32, 1+r.IntN(40))
		for j := range weights {
			switch i % 3 {
			case 0:
				weights[j] = 1 + r.Uint32N(128)
			case 1: // few distinct weights: many ties
				weights[j] = []uint32{1, 2, 3}[r.IntN(3)]
			case 2: // a common divisor
				weights[j] = 4 * (1 + r.Uint32N(32))
			}
		}
		hosts := weightedHosts(weights...)
		lb, ref := buildLB(t, LBWeightedRoundRobin, hosts), newNginxWRR(hosts)
		var total int
		for _, w := range weights {
			total += int(w)
		}
		for k := range 2 * total {
			if got, want := lb.Pick(), ref.Pick(); got != want {
				t.Fatalf("weights %v: pick %d is %s, nginx picks %s", weights, k, got.Address, want.Address)
			}
		}
	}
}

// TestWeightedRoundRobinLongCycle covers cycles too long to precompute.
func TestWeightedRoundRobinLongCycle(t *testing.T) {
	t.Run("order", func(t *testing.T) {
		for _, tc := range []struct {
			weights []uint32
			want    string // two cycles
		}{
			{[]uint32{5, 1, 1}, "abcaaaa" + "abcaaaa"},
			{[]uint32{1, 2, 3}, "cbacbc" + "cbacbc"},
			{[]uint32{3, 3, 1}, "abcabab" + "abcabab"},
			{[]uint32{1, 1}, "ab" + "ab"},
		} {
			hosts := weightedHosts(tc.weights...)
			weights, total := reducedWeights(hosts)
			if got := pickString(newInterleavedWRR(hosts, weights, total), len(tc.want)); got != tc.want {
				t.Errorf("weights %v: picks %s, want %s", tc.weights, got, tc.want)
			}
		}
	})
	t.Run("exact over a cycle", func(t *testing.T) {
		weights := make([]uint32, 601)
		for i := range weights {
			weights[i] = 128
		}
		weights[300] = 127
		hosts := weightedHosts(weights...)
		lb := buildLB(t, LBWeightedRoundRobin, hosts)
		if _, ok := lb.(*interleavedWRR); !ok {
			t.Fatalf("a cycle of 76927 picks got %T, want *interleavedWRR", lb)
		}
		for cycle := range 2 {
			for i, c := range pickCounts(t, lb, hosts, 600*128+127) {
				if c != int(weights[i]) {
					t.Fatalf("cycle %d: host %d picked %d times, want %d", cycle, i, c, weights[i])
				}
			}
		}
	})
}

func TestLeastRequest(t *testing.T) {
	for _, tc := range []struct {
		name    string
		weights []uint32
		active  []int64
		want    []float64 // shares of 3000 picks, ± 5%
	}{
		{"avoids a busy host", []uint32{1, 1, 1}, []int64{100, 0, 0}, []float64{0, 0.5, 0.5}},
		{"evenly when equal", []uint32{1, 1, 1}, []int64{0, 0, 0}, []float64{1. / 3, 1. / 3, 1. / 3}},
		{"evenly when equally busy", []uint32{2, 2, 2, 2}, []int64{9, 9, 9, 9}, []float64{.25, .25, .25, .25}},
		{"least busy of two", []uint32{1, 1}, []int64{3, 2}, []float64{0, 1}},
		{"busy per weight", []uint32{4, 1}, []int64{4, 0}, []float64{0, 1}},    // 5/4 > 1/1
		{"tie goes to weight", []uint32{4, 1}, []int64{3, 0}, []float64{1, 0}}, // 4/4 = 1/1
		{"idle leans heavy", []uint32{1, 2, 3}, []int64{0, 0, 0}, []float64{0, 1. / 3, 2. / 3}},
		{"negative counts as idle", []uint32{1, 1}, []int64{-5, 1}, []float64{1, 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hosts := weightedHosts(tc.weights...)
			for i, a := range tc.active {
				hosts[i].Stats().RequestActive.Store(a)
			}
			checkShares(t, pickCounts(t, buildLB(t, LBLeastRequest, hosts), hosts, 3000), tc.want)
		})
	}
}

func TestLessLoaded(t *testing.T) {
	type host struct {
		weight uint32
		active int64
	}
	for _, tc := range []struct {
		a, b host
		want bool
	}{
		{host{1, 0}, host{1, 1}, true},
		{host{1, 1}, host{1, 0}, false},
		{host{1, 5}, host{1, 5}, false}, // a full tie: neither is less loaded
		{host{2, 0}, host{1, 0}, true},  // idle: the heavier
		{host{1, 0}, host{2, 0}, false},
		{host{128, 1}, host{1, 0}, true}, // 2/128 < 1/1
		{host{0, 0}, host{1, 0}, false},  // weight 0 counts as 1
		{host{1, math.MaxInt64}, host{128, math.MaxInt64 - 1}, false},
		{host{128, math.MaxInt64}, host{1, math.MaxInt64}, true},
	} {
		a := &Host{HostOptions: HostOptions{Weight: tc.a.weight}}
		a.Stats().RequestActive.Store(tc.a.active)
		b := &Host{HostOptions: HostOptions{Weight: tc.b.weight}}
		b.Stats().RequestActive.Store(tc.b.active)
		if got := lessLoaded(a, b); got != tc.want {
			t.Errorf("lessLoaded(%v, %v) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestLBPickAllocatesNothing(t *testing.T) {
	hosts := weightedHosts(1, 2, 3)
	many := make([]uint32, 2000)
	for i := range many {
		many[i] = uint32(i%128 + 1)
	}
	lbs := map[string]LoadBalancer{"interleaved": buildLB(t, LBWeightedRoundRobin, weightedHosts(many...))}
	for _, name := range allLBs {
		lbs[name] = buildLB(t, name, hosts)
	}
	if _, ok := lbs["interleaved"].(*interleavedWRR); !ok {
		t.Fatalf("2000 hosts of mixed weights got %T, want *interleavedWRR", lbs["interleaved"])
	}
	for name, lb := range lbs {
		if allocs := testing.AllocsPerRun(1000, func() { lb.Pick() }); allocs != 0 {
			t.Errorf("%s: Pick allocates %.1f times, want 0", name, allocs)
		}
	}
}

// TestLBConcurrentPicks picks from many goroutines at once, while request
// counts change, for the race detector; round robins must still be exact.
func TestLBConcurrentPicks(t *testing.T) {
	const goroutines, picks = 8, 750 // 6000 picks: whole cycles of weights 1, 2, 3
	for _, name := range allLBs {
		t.Run(name, func(t *testing.T) {
			hosts := weightedHosts(1, 2, 3)
			lb := buildLB(t, name, hosts)
			index := map[*Host]int{hosts[0]: 0, hosts[1]: 1, hosts[2]: 2}
			counts := make([][3]int, goroutines)
			stop := make(chan struct{})
			var load, pickers sync.WaitGroup
			load.Go(func() {
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					hosts[i%3].Stats().RequestActive.Add(1)
					hosts[(i+1)%3].Stats().RequestActive.Add(-1)
				}
			})
			for g := range goroutines {
				pickers.Go(func() {
					for range picks {
						i, ok := index[lb.Pick()]
						if !ok {
							t.Error("picked a host that is not in the set")
							return
						}
						counts[g][i]++
					}
				})
			}
			pickers.Wait()
			close(stop)
			load.Wait()
			var sum [3]int
			for _, c := range counts {
				for i := range c {
					sum[i] += c[i]
				}
			}
			var want [3]int
			switch name {
			case LBRoundRobin:
				want = [3]int{2000, 2000, 2000}
			case LBWeightedRoundRobin:
				want = [3]int{1000, 2000, 3000}
			default:
				return
			}
			if sum != want {
				t.Fatalf("concurrent picks %v, want %v", sum, want)
			}
		})
	}
}

func BenchmarkLBPick(b *testing.B) {
	for _, n := range []int{3, 50} {
		weights := make([]uint32, n)
		for i := range weights {
			weights[i] = uint32(i%8 + 1)
		}
		hosts := weightedHosts(weights...)
		for i, h := range hosts {
			h.Stats().RequestActive.Store(int64(i % 5))
		}
		lbs := []struct {
			name string
			lb   LoadBalancer
		}{
			{LBRandom, buildLB(b, LBRandom, hosts)},
			{LBRoundRobin, buildLB(b, LBRoundRobin, hosts)},
			{LBWeightedRoundRobin, buildLB(b, LBWeightedRoundRobin, hosts)},
			{"nginx-mutex", newNginxWRR(hosts)}, // what the precomputed cycle replaces
			{LBLeastRequest, buildLB(b, LBLeastRequest, hosts)},
		}
		for _, l := range lbs {
			b.Run(fmt.Sprintf("%s/hosts=%d", l.name, n), func(b *testing.B) {
				b.ReportAllocs()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						l.lb.Pick()
					}
				})
			})
		}
	}
	b.Run("interleaved/hosts=2000", func(b *testing.B) {
		weights := make([]uint32, 2000)
		for i := range weights {
			weights[i] = uint32(i%128 + 1)
		}
		lb := buildLB(b, LBWeightedRoundRobin, weightedHosts(weights...))
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				lb.Pick()
			}
		})
	})
}

// BenchmarkWeightedRoundRobinBuild is the cost of a host-set update.
func BenchmarkWeightedRoundRobinBuild(b *testing.B) {
	for _, n := range []int{10, 100, 500, 1000, 2000} {
		weights := make([]uint32, n)
		for i := range weights {
			weights[i] = uint32(i%128 + 1)
		}
		hosts := weightedHosts(weights...)
		b.Run(fmt.Sprintf("hosts=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				newWeightedRoundRobin(hosts)
			}
		})
	}
}
