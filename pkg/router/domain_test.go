package router

import (
	"strings"
	"testing"
)

// hostsConfig has one virtual host per kind of domain; each has one route
// answering with the virtual host's name.
const hostsConfig = `{
	"router_config_name": "hosts",
	"virtual_hosts": [
		{"name": "exact", "domains": ["example.com", "Example.ORG", "www.example.com"], "routers": [{"direct_response": {"status": 200}}]},
		{"name": "exact-port", "domains": ["example.com:8080"], "routers": [{"direct_response": {"status": 200}}]},
		{"name": "suffix", "domains": ["*.example.com"], "routers": [{"direct_response": {"status": 200}}]},
		{"name": "suffix-long", "domains": ["*.api.example.com"], "routers": [{"direct_response": {"status": 200}}]},
		{"name": "suffix-port", "domains": ["*.example.com:9443"], "routers": [{"direct_response": {"status": 200}}]},
		{"name": "suffix-nodot", "domains": ["*-dev.net"], "routers": [{"direct_response": {"status": 200}}]},
		{"name": "prefix", "domains": ["foo.*"], "routers": [{"direct_response": {"status": 200}}]},
		{"name": "prefix-long", "domains": ["foo.bar.*"], "routers": [{"direct_response": {"status": 200}}]},
		{"name": "prefix-nodot", "domains": ["cache*"], "routers": [{"direct_response": {"status": 200}}]},
		{"name": "v6", "domains": ["[::1]"], "routers": [{"direct_response": {"status": 200}}]},
		{"name": "v6-port", "domains": ["[::1]:9000"], "routers": [{"direct_response": {"status": 200}}]},
		{"name": "any", "domains": ["*"], "routers": [{"direct_response": {"status": 200}}]}
	]
}`

func TestVirtualHostSelection(t *testing.T) {
	t.Parallel()
	tb := build(t, hostsConfig)
	long := strings.Repeat("a", 300) + ".example.com"
	tests := []struct {
		name    string
		headers []string
		want    string // virtual host name
	}{
		{"exact", []string{"host", "example.com"}, "exact"},
		{"exact is case-insensitive", []string{"host", "EXAMPLE.Com"}, "exact"},
		{"domain written in upper case", []string{"host", "example.org"}, "exact"},
		{"domain with port matches host:port", []string{"host", "example.com:8080"}, "exact-port"},
		{"domain without port matches any port", []string{"host", "example.com:9090"}, "exact"},
		{"exact beats suffix", []string{"host", "www.example.com"}, "exact"},
		{"exact beats suffix, with port", []string{"host", "www.example.com:8080"}, "exact"},
		{"suffix", []string{"host", "a.example.com"}, "suffix"},
		{"suffix matches a single label", []string{"host", "api.example.com"}, "suffix"},
		{"longest suffix wins", []string{"host", "v1.api.example.com"}, "suffix-long"},
		{"suffix on the host without port", []string{"host", "a.example.com:8080"}, "suffix"},
		{"suffix with port", []string{"host", "a.example.com:9443"}, "suffix-port"},
		{"suffix without dot", []string{"host", "my-dev.net"}, "suffix-nodot"},
		{"wildcard does not match empty", []string{"host", "-dev.net"}, "any"},
		{"suffix beats prefix", []string{"host", "foo.example.com"}, "suffix"},
		{"prefix", []string{"host", "foo.com"}, "prefix"},
		{"longest prefix wins", []string{"host", "foo.bar.com"}, "prefix-long"},
		{"prefix with port", []string{"host", "foo.bar.com:81"}, "prefix-long"},
		{"prefix without dot", []string{"host", "cache01"}, "prefix-nodot"},
		{"IPv6", []string{"host", "[::1]"}, "v6"},
		{"IPv6 with its port", []string{"host", "[::1]:9000"}, "v6-port"},
		{"IPv6 other port", []string{"host", "[::1]:80"}, "v6"},
		{"no match falls to *", []string{"host", "other.net"}, "any"},
		{"no host falls to *", nil, "any"},
		{":authority", []string{":authority", "example.com"}, "exact"},
		{":authority before host", []string{"host", "other.net", ":authority", "a.example.com"}, "suffix"},
		{"empty :authority falls back to host", []string{":authority", "", "host", "example.com"}, "exact"},
		{"host longer than the stack buffer", []string{"host", strings.ToUpper(long)}, "suffix"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := tb.Match(req(tt.headers...))
			if r == nil {
				t.Fatalf("no route, want virtual host %q", tt.want)
			}
			if got := r.VirtualHost(); got != tt.want {
				t.Errorf("virtual host %q, want %q", got, tt.want)
			}
		})
	}
}

func TestVirtualHostNoDefault(t *testing.T) {
	t.Parallel()
	tb := build(t, `{"router_config_name": "r", "virtual_hosts": [
		{"name": "a", "domains": ["a.test"], "routers": [{"direct_response": {"status": 200}}]}]}`)
	for _, host := range []string{"b.test", "", "a.test.evil"} {
		if r := tb.Match(req("host", host)); r != nil {
			t.Errorf("host %q: got virtual host %q, want no route", host, r.VirtualHost())
		}
	}
	if r := tb.Match(req()); r != nil {
		t.Errorf("no host: got virtual host %q, want no route", r.VirtualHost())
	}
}

func TestStripPort(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"example.com":      "example.com",
		"example.com:80":   "example.com",
		"example.com:":     "example.com",
		"example.com:http": "example.com:http",
		"[::1]":            "[::1]",
		"[::1]:443":        "[::1]",
		"::1":              "::1",
		"fe80::1:80":       "fe80::1:80",
		"":                 "",
	} {
		if got := string(stripPort([]byte(in))); got != want {
			t.Errorf("stripPort(%q) = %q, want %q", in, got, want)
		}
	}
}
