package upstream

import (
	"math/rand/v2"
	"sync/atomic"

	"github.com/sidecar-mesh/mosn/internal/registry"
)

// LoadBalancer picks a host from an immutable set. Pick is called
// concurrently and must not block or allocate.
type LoadBalancer interface {
	// Pick returns a host, or nil when there is none to pick.
	Pick() *Host
}

// LBFactory builds a LoadBalancer over hosts, which it must not modify.
type LBFactory func(hosts []*Host) LoadBalancer

// Names of the load balancers, as MOSN's lb_type writes them.
const (
	LBRandom             = "LB_RANDOM"
	LBRoundRobin         = "LB_ROUNDROBIN"
	LBWeightedRoundRobin = "LB_WEIGHTED_ROUNDROBIN"
	LBLeastRequest       = "LB_LEAST_REQUEST"
)

var lbs = registry.New[LBFactory]("load balancer")

// RegisterLB makes a load balancer available by name. Call it only from
// init; it panics on an empty or duplicate name.
func RegisterLB(name string, f LBFactory) { lbs.Register(name, f) }

// LookupLB returns the factory registered under name.
func LookupLB(name string) (LBFactory, bool) { return lbs.Lookup(name) }

func init() {
	RegisterLB(LBRandom, func(hosts []*Host) LoadBalancer { return randomLB(hosts) })
	RegisterLB(LBRoundRobin, func(hosts []*Host) LoadBalancer { return &roundRobinLB{hosts: hosts} })
	RegisterLB(LBWeightedRoundRobin, newWeightedRoundRobin)
	RegisterLB(LBLeastRequest, func(hosts []*Host) LoadBalancer { return leastRequestLB(hosts) })
}

// Interface guards.
var (
	_ LoadBalancer = randomLB(nil)
	_ LoadBalancer = (*roundRobinLB)(nil)
	_ LoadBalancer = (*smoothWRR)(nil)
	_ LoadBalancer = (*interleavedWRR)(nil)
	_ LoadBalancer = leastRequestLB(nil)
)

// randomLB picks uniformly, as MOSN's LB_RANDOM does (weights are ignored).
type randomLB []*Host

func (r randomLB) Pick() *Host {
	switch len(r) {
	case 0:
		return nil
	case 1:
		return r[0]
	}
	return r[rand.IntN(len(r))]
}

// roundRobinLB takes the hosts in turn.
type roundRobinLB struct {
	hosts []*Host
	next  atomic.Uint64
}

func (r *roundRobinLB) Pick() *Host {
	if len(r.hosts) == 0 {
		return nil
	}
	return r.hosts[(r.next.Add(1)-1)%uint64(len(r.hosts))]
}

// LBNames returns the registered load balancers, sorted.
func LBNames() []string { return lbs.Names() }
