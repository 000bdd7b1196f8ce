package main

// The extensions compiled into this binary: each registers itself by name
// from its init, and configs refer to them by that name. This is the only
// file with such imports.
import (
	_ "github.com/sidecar-mesh/mosn/pkg/proxy/fault"       // stream filter "fault"
	_ "github.com/sidecar-mesh/mosn/pkg/proxy/healthcheck" // stream filter "healthcheck" (SOFARPC heartbeats)
	_ "github.com/sidecar-mesh/mosn/pkg/proxy/l7"          // network filter "proxy"
	_ "github.com/sidecar-mesh/mosn/pkg/proxy/tcpproxy"    // network filter "tcp_proxy"
	_ "github.com/sidecar-mesh/mosn/pkg/stream/auto"       // protocol "Auto" (and lists such as "Http1,Http2")
	_ "github.com/sidecar-mesh/mosn/pkg/stream/http1"      // protocol "Http1"
	_ "github.com/sidecar-mesh/mosn/pkg/stream/http2"      // protocol "Http2"
	_ "github.com/sidecar-mesh/mosn/pkg/stream/rpc"        // protocols "bolt" ("SofaRpc"), "boltv2", "dubbo"
)
