// Package xds will be the ADS client (xDS v3 over gRPC) that translates
// Listener, Route, Cluster, Endpoint and Secret resources into pkg/config's
// structs and applies them through the same path as the static file. It
// imports only config and go-control-plane's protos, which never leave it.
//
// Nothing is here yet: a config with dynamic_resources or static_resources
// is reported as not supported by pkg/server.
package xds
