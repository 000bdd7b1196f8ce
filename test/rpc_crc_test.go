package test

import (
	"encoding/binary"
	"hash/crc32"

	"github.com/sidecar-mesh/mosn/pkg/network"
	"github.com/sidecar-mesh/mosn/pkg/protocol"
)

// encodeFrames joins and releases what an rpc.Codec encoded.
func encodeFrames(bufs []*network.Buffer) []byte {
	var out []byte
	for _, b := range bufs {
		out = append(out, b.Bytes()...)
		b.Release()
	}
	return out
}

// appendCRC appends the CRC32 of p, as bolt v2 frames end.
func appendCRC(p []byte) []byte {
	return binary.BigEndian.AppendUint32(p, crc32.ChecksumIEEE(p))
}

// protocolHeaders makes Headers of name, value pairs.
func protocolHeaders(kv ...string) *protocol.Headers {
	h := new(protocol.Headers)
	for i := 0; i+1 < len(kv); i += 2 {
		h.AddString(kv[i], kv[i+1])
	}
	return h
}
