package config

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// AddrRange is a range of IP addresses with an optional port, as tcp_proxy
// routes match connections. It is written as a CIDR prefix or a single IP
// address (a /32 or /128), optionally followed by ":PORT":
//
//	10.0.0.0/8   10.0.0.1   10.0.0.0/8:8080   10.0.0.1:8080
//	::1   fe80::/10   [::1]/128:80   [::1]:80
//
// An IPv6 address with a port is written in brackets.
type AddrRange struct {
	// Prefix is the addresses in the range, masked (10.0.0.1/8 becomes
	// 10.0.0.0/8).
	Prefix netip.Prefix
	// Port is the port the range matches; 0 matches any port.
	Port uint16
}

// ParseAddrRange parses s as an AddrRange.
func ParseAddrRange(s string) (AddrRange, error) {
	bad := func(why string) (AddrRange, error) {
		return AddrRange{}, fmt.Errorf("invalid address range %q: %s", s, why)
	}
	ip, port := s, ""
	switch {
	case strings.HasPrefix(s, "["):
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return bad("missing ']'")
		}
		ip = s[1:end]
		rest := s[end+1:]
		if bits, ok := strings.CutPrefix(rest, "/"); ok {
			bits, port, _ = strings.Cut(bits, ":")
			ip += "/" + bits
		} else if p, ok := strings.CutPrefix(rest, ":"); ok {
			port = p
		} else if rest != "" {
			return bad("want [IPv6]:PORT or [IPv6]/BITS:PORT")
		}
		if port == "" && strings.Contains(rest, ":") {
			return bad("empty port")
		}
	case strings.Count(s, ":") == 1: // IPv4 with a port
		var ok bool
		ip, port, ok = strings.Cut(s, ":")
		if ok && port == "" {
			return bad("empty port")
		}
	}
	var r AddrRange
	if strings.Contains(ip, "/") {
		p, err := netip.ParsePrefix(ip)
		if err != nil {
			return bad("want an IP address or CIDR prefix")
		}
		r.Prefix = p.Masked()
	} else {
		a, err := netip.ParseAddr(ip)
		if err != nil || a.Zone() != "" {
			return bad("want an IP address or CIDR prefix")
		}
		r.Prefix = netip.PrefixFrom(a, a.BitLen())
	}
	if port != "" {
		n, err := strconv.ParseUint(port, 10, 16)
		if err != nil {
			return bad("port must be 0-65535")
		}
		r.Port = uint16(n)
	}
	return r, nil
}

// Contains reports whether ap is in the range. An IPv4-mapped IPv6 address
// (::ffff:10.0.0.1) matches as the IPv4 address it maps; zones are ignored.
func (r AddrRange) Contains(ap netip.AddrPort) bool {
	if r.Port != 0 && r.Port != ap.Port() {
		return false
	}
	a := ap.Addr().WithZone("")
	return r.Prefix.Contains(a) || r.Prefix.Contains(a.Unmap())
}

// String returns r as ParseAddrRange reads it.
func (r AddrRange) String() string {
	s := r.Prefix.String()
	if r.Port == 0 {
		return s
	}
	if r.Prefix.Addr().Is6() {
		return "[" + r.Prefix.Addr().String() + "]/" + strconv.Itoa(r.Prefix.Bits()) + ":" + strconv.Itoa(int(r.Port))
	}
	return s + ":" + strconv.Itoa(int(r.Port))
}

// parseIPPort parses a listening address "IP:PORT" (IPv6 in brackets). On
// failure it returns what is wrong, as the message of a Problem about s.
func parseIPPort(s string) (netip.AddrPort, string) {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return netip.AddrPort{}, fmt.Sprintf("%q: want IP:PORT", s)
	}
	n, err := strconv.ParseUint(port, 10, 64)
	if err != nil {
		return netip.AddrPort{}, fmt.Sprintf("%q: want IP:PORT", s)
	}
	if n > 65535 {
		return netip.AddrPort{}, fmt.Sprintf("%q: port out of range", s)
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		msg := fmt.Sprintf("%q: host must be an IP address", s)
		if host == "" {
			msg += " (0.0.0.0 or [::] for all interfaces)"
		}
		return netip.AddrPort{}, msg
	}
	return netip.AddrPortFrom(ip, uint16(n)), ""
}
