// Package router holds route tables: virtual hosts chosen by domain, routes
// matched by path, prefix, regex and headers, and their actions. It imports
// only protocol and returns a cluster name; the proxy asks upstream for it.
//
// Nothing is here yet: routing arrives with the HTTP/1.1 data path. Router
// configs are already parsed and validated by pkg/config.
package router
