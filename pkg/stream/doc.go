// Package stream is the stream layer: a stream is one request and its
// response. A stream connection sits on a network.Conn, feeds its bytes to a
// protocol codec and creates streams; client stream connections are pooled
// per upstream host in the protocol's shape (ping-pong, pipeline,
// multiplexed). It imports protocol and network.
//
// Nothing is here yet: streams arrive with the HTTP/1.1 data path.
package stream
