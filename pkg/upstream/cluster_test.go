package upstream

import (
	"errors"
	"fmt"
	"math"
	"net"
	"testing"
	"time"

	"github.com/sidecar-mesh/mosn/pkg/network"
)

func threeHosts(lb string) ClusterOptions {
	return ClusterOptions{Name: "c", LB: lb, Hosts: []HostOptions{
		{Address: "127.0.0.1:1"}, {Address: "127.0.0.1:2"}, {Address: "127.0.0.1:3"},
	}}
}

func TestLoadBalancerDistribution(t *testing.T) {
	for _, lb := range []string{LBRandom, LBRoundRobin} {
		t.Run(lb, func(t *testing.T) {
			m := NewManager(nil, nil)
			if err := m.AddOrUpdate(threeHosts(lb)); err != nil {
				t.Fatal(err)
			}
			c := m.Get("c")
			const picks = 3000
			counts := map[string]int{}
			for range picks {
				counts[c.ChooseHost().Address]++
			}
			for _, h := range c.Hosts() {
				share := float64(counts[h.Address]) / picks
				if math.Abs(share-1.0/3) > 0.05 {
					t.Errorf("%s got %.1f%% of picks, want 33.3%% ± 5%%", h.Address, 100*share)
				}
			}
			if lb == LBRoundRobin && (counts["127.0.0.1:1"] != 1000 || counts["127.0.0.1:2"] != 1000) {
				t.Errorf("round robin is not exact: %v", counts)
			}
		})
	}
}

func TestPickAllocatesNothing(t *testing.T) {
	m := NewManager(nil, nil)
	for _, lb := range []string{LBRandom, LBRoundRobin} {
		opts := threeHosts(lb)
		opts.Name = lb
		m.AddOrUpdate(opts)
		c := m.Get(lb)
		if allocs := testing.AllocsPerRun(1000, func() { c.ChooseHost() }); allocs != 0 {
			t.Errorf("%s pick allocates %.1f times, want 0", lb, allocs)
		}
	}
}

func TestEmptyClusterPicksNil(t *testing.T) {
	m := NewManager(nil, nil)
	m.AddOrUpdate(ClusterOptions{Name: "empty", LB: LBRoundRobin})
	if h := m.Get("empty").ChooseHost(); h != nil {
		t.Fatalf("ChooseHost on an empty cluster = %v, want nil", h.Address)
	}
}

func TestUpdateKeepsClusterAndStats(t *testing.T) {
	m := NewManager(nil, nil)
	m.AddOrUpdate(threeHosts(LBRoundRobin))
	c := m.Get("c")
	c.Stats().ConnectionTotal.Add(7)
	if err := m.AddOrUpdate(ClusterOptions{Name: "c", LB: LBRandom, Hosts: []HostOptions{{Address: "127.0.0.1:9"}}}); err != nil {
		t.Fatal(err)
	}
	if m.Get("c") != c || c.Stats().ConnectionTotal.Load() != 7 {
		t.Fatal("update replaced the cluster or lost its stats")
	}
	if h := c.ChooseHost(); h.Address != "127.0.0.1:9" {
		t.Fatalf("after update picked %s", h.Address)
	}
	if err := m.AddOrUpdate(ClusterOptions{Name: "c", LB: "LB_MAGLEV"}); err == nil {
		t.Fatal("an unsupported load balancer was accepted")
	}
	m.Remove("c")
	if m.Get("c") != nil || len(m.Names()) != 0 {
		t.Fatal("Remove left the cluster in place")
	}
}

func TestCircuitBreakerMaxConnections(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	m := NewManager(nil, nil)
	m.AddOrUpdate(ClusterOptions{Name: "c", LB: LBRoundRobin, MaxConnections: 2, ConnectTimeout: time.Second,
		Hosts: []HostOptions{{Address: ln.Addr().String()}}})
	c := m.Get("c")
	var conns []*network.Conn
	for i := range 2 {
		conn, err := c.NewConn(c.ChooseHost())
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		conns = append(conns, conn)
	}
	if _, err := c.NewConn(c.ChooseHost()); !errors.Is(err, ErrCircuitOpen) {
		t.Fatalf("third connection: %v, want ErrCircuitOpen", err)
	}
	if c.Stats().ConnectionOverflow.Load() != 1 {
		t.Fatalf("overflow count = %d, want 1", c.Stats().ConnectionOverflow.Load())
	}
	conns[0].Close(network.CloseNoFlush) // closing one frees a slot
	if _, err := c.NewConn(c.ChooseHost()); err != nil {
		t.Fatalf("after a close: %v", err)
	}
	st := c.Stats()
	if st.ConnectionTotal.Load() != 3 || st.ConnectionActive.Load() != 2 || st.ConnectionLocalClose.Load() != 1 {
		t.Fatalf("total/active/local_close = %d/%d/%d, want 3/2/1",
			st.ConnectionTotal.Load(), st.ConnectionActive.Load(), st.ConnectionLocalClose.Load())
	}
}

func BenchmarkChooseHost(b *testing.B) {
	for _, lb := range []string{LBRandom, LBRoundRobin} {
		b.Run(lb, func(b *testing.B) {
			m := NewManager(nil, nil)
			opts := threeHosts(lb)
			for i := range 50 {
				opts.Hosts = append(opts.Hosts, HostOptions{Address: fmt.Sprintf("127.0.0.1:%d", 100+i)})
			}
			m.AddOrUpdate(opts)
			c := m.Get("c")
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					c.ChooseHost()
				}
			})
		})
	}
}
