package router

import (
	"bytes"
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/sidecar-mesh/mosn/pkg/config"
	"github.com/sidecar-mesh/mosn/pkg/protocol"
)

// maxHost is the longest authority lower-cased on the stack: a 253-byte DNS
// name, a colon and a five-digit port fit. Longer ones are lower-cased on the
// heap.
const maxHost = 264

// domainIndex finds the virtual host of a request authority with Envoy's
// precedence: exact domains, then the longest suffix wildcard, then the
// longest prefix wildcard, then "*". Keys are lower case.
type domainIndex struct {
	exact    map[string]*virtualHost
	suffixes []wildcards // longest first
	prefixes []wildcards // longest first
	any      *virtualHost
}

// wildcards are the wildcard domains of one length n (the length without the
// '*'), keyed by that part: "*.example.com" is ".example.com" in the suffix
// wildcards of length 12.
type wildcards struct {
	n     int
	hosts map[string]*virtualHost
}

// domains builds the domain index of the virtual hosts vcs, whose runtime
// virtual hosts are hosts (same order).
func (b *builder) domains(vcs []config.VirtualHost, hosts []virtualHost) domainIndex {
	var d domainIndex
	seen := make(map[string]string) // lower-case domain → path of its first use
	suffixes := make(map[int]map[string]*virtualHost)
	prefixes := make(map[int]map[string]*virtualHost)
	add := func(m map[int]map[string]*virtualHost, key string, vh *virtualHost) {
		if m[len(key)] == nil {
			m[len(key)] = make(map[string]*virtualHost)
		}
		m[len(key)][key] = vh
	}
	for i := range vcs {
		vh := &hosts[i]
		for j, dom := range vcs[i].Domains {
			p := fmt.Sprintf("virtual_hosts[%d].domains[%d]", i, j)
			low := strings.ToLower(dom)
			if low == "" {
				b.errorf(p, "empty domain")
				continue
			}
			if first, dup := seen[low]; dup {
				b.errorf(p, "%q: also in %s", dom, first)
				continue
			}
			seen[low] = p
			switch {
			case low == "*":
				d.any = vh
			case strings.HasPrefix(low, "*") && !strings.Contains(low[1:], "*"):
				add(suffixes, low[1:], vh)
			case strings.HasSuffix(low, "*") && !strings.Contains(low[:len(low)-1], "*"):
				add(prefixes, low[:len(low)-1], vh)
			case strings.Contains(low, "*"):
				b.errorf(p, "%q: a wildcard must be the first or last character, or the whole domain", dom)
			default:
				if d.exact == nil {
					d.exact = make(map[string]*virtualHost)
				}
				d.exact[low] = vh
			}
		}
	}
	d.suffixes = sortWildcards(suffixes)
	d.prefixes = sortWildcards(prefixes)
	return d
}

// sortWildcards returns m as a slice, longest first.
func sortWildcards(m map[int]map[string]*virtualHost) []wildcards {
	out := make([]wildcards, 0, len(m))
	for n, hosts := range m {
		out = append(out, wildcards{n: n, hosts: hosts})
	}
	slices.SortFunc(out, func(a, b wildcards) int { return cmp.Compare(b.n, a.n) })
	return out
}

// lookup returns the virtual host of the request, or nil.
func (d *domainIndex) lookup(h *protocol.Headers) *virtualHost {
	if d.exact == nil && d.suffixes == nil && d.prefixes == nil {
		return d.any // "*" only (or nothing): no need to read the host
	}
	host := authority(h)
	if len(host) > maxHost {
		return d.find(bytes.ToLower(host))
	}
	var buf [maxHost]byte
	n := copy(buf[:], host)
	lowerASCII(buf[:n])
	return d.find(buf[:n])
}

// find returns the virtual host of the lower-case host. A domain with a
// port matches that host:port only; a domain without one also matches the
// host with its port stripped. Within each tier, the host as given is tried
// before the host without its port.
func (d *domainIndex) find(host []byte) *virtualHost {
	bare := stripPort(host)
	stripped := len(bare) != len(host)
	if d.exact != nil {
		if vh := d.exact[string(host)]; vh != nil {
			return vh
		}
		if stripped {
			if vh := d.exact[string(bare)]; vh != nil {
				return vh
			}
		}
	}
	// A wildcard never matches the empty string: "*.example.com" does not
	// match ".example.com", hence len > n.
	for i := range d.suffixes {
		w := &d.suffixes[i]
		if len(host) > w.n {
			if vh := w.hosts[string(host[len(host)-w.n:])]; vh != nil {
				return vh
			}
		}
		if stripped && len(bare) > w.n {
			if vh := w.hosts[string(bare[len(bare)-w.n:])]; vh != nil {
				return vh
			}
		}
	}
	for i := range d.prefixes {
		w := &d.prefixes[i]
		if len(host) > w.n {
			if vh := w.hosts[string(host[:w.n])]; vh != nil {
				return vh
			}
		}
		if stripped && len(bare) > w.n {
			if vh := w.hosts[string(bare[:w.n])]; vh != nil {
				return vh
			}
		}
	}
	return d.any
}

// authority returns the request's authority: ":authority", or for HTTP/1
// (which keeps the Host header as it came) "host".
func authority(h *protocol.Headers) []byte {
	if v, ok := h.Get(protocol.Authority); ok && len(v) > 0 {
		return v
	}
	v, _ := h.Get("host")
	return v
}

// stripPort returns host without a trailing ":port" (digits only), keeping
// the brackets of an IPv6 literal ("[::1]:80" → "[::1]"). A host with more
// than one colon outside brackets has no port.
func stripPort(host []byte) []byte {
	i := bytes.LastIndexByte(host, ':')
	if i < 0 || !digits(host[i+1:]) {
		return host
	}
	if host[0] == '[' {
		if host[i-1] == ']' {
			return host[:i]
		}
		return host
	}
	if bytes.IndexByte(host[:i], ':') >= 0 {
		return host // a bare IPv6 address
	}
	return host[:i]
}

func digits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func lowerASCII(b []byte) {
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
}
