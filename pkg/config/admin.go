package config

import (
	"net/netip"
	"strconv"
)

// Admin is the admin HTTP endpoint, written as Envoy's bootstrap writes it:
//
//	"admin": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": 34901}}}
type Admin struct {
	// Address is where the endpoint listens.
	Address AdminAddress `json:"address"`
}

// AdminAddress wraps the socket address of the admin endpoint.
type AdminAddress struct {
	// SocketAddress is the IP and port.
	SocketAddress SocketAddress `json:"socket_address"`
}

// SocketAddress is an IP address and a port.
type SocketAddress struct {
	// Address is a literal IP address, such as "127.0.0.1". Required.
	Address string `json:"address,omitempty"`
	// PortValue is the port, 0 to 65535; 0 picks a free port (for tests).
	PortValue uint32 `json:"port_value,omitempty"`
}

// AddrPort returns the address of a, or the zero AddrPort if it is not valid
// (Validate reports it).
func (a *Admin) AddrPort() netip.AddrPort {
	sa := a.Address.SocketAddress
	ip, err := netip.ParseAddr(sa.Address)
	if err != nil || sa.PortValue > 65535 {
		return netip.AddrPort{}
	}
	return netip.AddrPortFrom(ip, uint16(sa.PortValue))
}

func (a *Admin) validate(c *checker, path string) {
	sa := a.Address.SocketAddress
	sp := key(path, "address.socket_address")
	if sa.Address == "" {
		c.errorf(key(sp, "address"), "required")
	} else if _, err := netip.ParseAddr(sa.Address); err != nil {
		c.errorf(key(sp, "address"), "%q: must be an IP address", sa.Address)
	}
	if sa.PortValue > 65535 {
		c.errorf(key(sp, "port_value"), "%s: port out of range", strconv.FormatUint(uint64(sa.PortValue), 10))
	}
}
