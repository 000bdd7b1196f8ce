package config

import (
	"net/netip"
	"strings"
	"testing"
)

func TestParseAddrRange(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in     string
		prefix string // "" = an error is wanted
		port   uint16
		err    string // a substring of the error
	}{
		{in: "10.0.0.0/8", prefix: "10.0.0.0/8"},
		{in: "10.1.2.3/8", prefix: "10.0.0.0/8"}, // masked
		{in: "10.0.0.1", prefix: "10.0.0.1/32"},
		{in: "10.0.0.0/8:8080", prefix: "10.0.0.0/8", port: 8080},
		{in: "10.0.0.1:80", prefix: "10.0.0.1/32", port: 80},
		{in: "0.0.0.0/0", prefix: "0.0.0.0/0"},
		{in: "::1", prefix: "::1/128"},
		{in: "fe80::/10", prefix: "fe80::/10"},
		{in: "[::1]:80", prefix: "::1/128", port: 80},
		{in: "[::1]/128:80", prefix: "::1/128", port: 80},
		{in: "[2001:db8::]/32", prefix: "2001:db8::/32"},
		{in: "10.0.0.0/33", err: `invalid address range "10.0.0.0/33": want an IP address or CIDR prefix`},
		{in: "10.0.0.256", err: "want an IP address or CIDR prefix"},
		{in: "example.com:80", err: "want an IP address or CIDR prefix"},
		{in: "", err: "want an IP address or CIDR prefix"},
		{in: "10.0.0.1:", err: "empty port"},
		{in: "10.0.0.1:65536", err: "port must be 0-65535"},
		{in: "10.0.0.1:http", err: "port must be 0-65535"},
		{in: "[::1", err: "missing ']'"},
		{in: "[::1]x", err: "want [IPv6]:PORT or [IPv6]/BITS:PORT"},
		{in: "[::1]:", err: "empty port"},
		{in: "[fe80::1%eth0]:80", err: "want an IP address or CIDR prefix"},
	}
	for _, tt := range tests {
		r, err := ParseAddrRange(tt.in)
		switch {
		case tt.prefix == "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("ParseAddrRange(%q): error %v, want one containing %q", tt.in, err, tt.err)
		case tt.prefix != "" && (err != nil || r.Prefix.String() != tt.prefix || r.Port != tt.port):
			t.Errorf("ParseAddrRange(%q) = %v port %d, %v; want %s port %d", tt.in, r.Prefix, r.Port, err, tt.prefix, tt.port)
		case tt.prefix != "":
			if back, err := ParseAddrRange(r.String()); err != nil || back != r {
				t.Errorf("ParseAddrRange(%q).String() = %q does not parse back: %v", tt.in, r.String(), err)
			}
		}
	}
}

func TestAddrRangeContains(t *testing.T) {
	t.Parallel()
	tests := []struct {
		r    string
		addr string
		want bool
	}{
		{"10.0.0.0/8", "10.1.2.3:80", true},
		{"10.0.0.0/8", "11.0.0.1:80", false},
		{"10.0.0.0/8:80", "10.1.2.3:80", true},
		{"10.0.0.0/8:80", "10.1.2.3:81", false},
		{"10.0.0.1", "10.0.0.1:1", true},
		{"10.0.0.1", "10.0.0.2:1", false},
		{"10.0.0.0/8", "[::ffff:10.0.0.1]:80", true}, // IPv4-mapped
		{"10.0.0.0/8", "[::1]:80", false},
		{"[::1]:80", "[::1]:80", true},
		{"fe80::/10", "[fe80::1%eth0]:80", true}, // zone ignored
	}
	for _, tt := range tests {
		r, err := ParseAddrRange(tt.r)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.Contains(netip.MustParseAddrPort(tt.addr)); got != tt.want {
			t.Errorf("%s contains %s: got %v, want %v", tt.r, tt.addr, got, tt.want)
		}
	}
}

func TestTCPRouteRanges(t *testing.T) {
	t.Parallel()
	r := TCPRoute{Cluster: "c", SourceAddrs: []string{"10.0.0.0/8"}, DestinationAddrs: []string{"[::1]:80", "127.0.0.1"}}
	src, dst, err := r.Ranges()
	if err != nil || len(src) != 1 || len(dst) != 2 || dst[0].Port != 80 {
		t.Errorf("Ranges: %v %v %v", src, dst, err)
	}
	r.SourceAddrs = append(r.SourceAddrs, "nope")
	if _, _, err := r.Ranges(); err == nil {
		t.Error("Ranges of a bad range: no error")
	}
}
