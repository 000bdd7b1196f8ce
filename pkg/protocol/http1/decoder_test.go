package http1

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/sidecar-mesh/mosn/pkg/network"
)

type decodeCase struct {
	name   string
	method string // response decoders: the request's method
	limits Limits
	in     string
	want   string // transcript; for bad cases only its last line, "ERR <status> <reason>"
}

var goodRequests = []decodeCase{
	{name: "get", in: "GET /index.html?q=1 HTTP/1.1\r\nHost: example.com\r\nUser-Agent: t/1\r\nAccept: */*\r\n\r\n",
		want: "HEAD 1.1 none ka {:method=GET :path=/index.html?q=1 host=example.com user-agent=t/1 accept=*/*}\nEND\nEOF"},
	{name: "post with length", in: "POST /submit HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\nhello world",
		want: "HEAD 1.1 length/11 ka {:method=POST :path=/submit host=a content-length=11}\nDATA hello world\nEND\nEOF"},
	{name: "zero length", in: "PUT /x HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n",
		want: "HEAD 1.1 length/0 ka {:method=PUT :path=/x host=a content-length=0}\nEND\nEOF"},
	{name: "chunked with extensions and trailers",
		in: "POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" +
			"5;name=val\r\nhello\r\n6 ; q=\"a \\\"b\\\"\" ;x\r\n world\r\n000A\r\n0123456789\r\n0\r\nX-Checksum: abc\r\nX-Other:1\r\n\r\n",
		want: "HEAD 1.1 chunked ka {:method=POST :path=/up host=a transfer-encoding=chunked}\nDATA hello world0123456789\nEND {x-checksum=abc x-other=1}\nEOF"},
	{name: "chunked empty", in: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n0\r\n\r\n",
		want: "HEAD 1.1 chunked ka {:method=POST :path=/ host=a transfer-encoding=Chunked}\nEND\nEOF"},
	{name: "pipelined pair", in: "GET /a HTTP/1.1\r\nHost: a\r\n\r\nPOST /b HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nxyz",
		want: "HEAD 1.1 none ka {:method=GET :path=/a host=a}\nEND\nHEAD 1.1 length/3 ka {:method=POST :path=/b host=a content-length=3}\nDATA xyz\nEND\nEOF"},
	{name: "http/1.0", in: "GET / HTTP/1.0\r\n\r\n",
		want: "HEAD 1.0 none close {:method=GET :path=/}\nEND\nEOF"},
	{name: "http/1.0 keep-alive", in: "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\nContent-Length: 2\r\n\r\nhi",
		want: "HEAD 1.0 length/2 ka {:method=GET :path=/ connection=Keep-Alive content-length=2}\nDATA hi\nEND\nEOF"},
	{name: "http/1.0 ignores expect", in: "POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\nx",
		want: "HEAD 1.0 length/1 close {:method=POST :path=/ expect=100-continue content-length=1}\nDATA x\nEND\nEOF"},
	{name: "connection close", in: "GET / HTTP/1.1\r\nHost: a\r\nConnection: foo, close\r\n\r\n",
		want: "HEAD 1.1 none close {:method=GET :path=/ host=a connection=foo, close}\nEND\nEOF"},
	{name: "expect 100-continue", in: "PUT /f HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\nz",
		want: "HEAD 1.1 length/1 ka expect {:method=PUT :path=/f host=a expect=100-Continue content-length=1}\nDATA z\nEND\nEOF"},
	{name: "empty lines before request line", in: "\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
		want: "HEAD 1.1 none ka {:method=GET :path=/ host=a}\nEND\nEOF"},
	{name: "repeated content-length collapsed", in: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 3\r\nX: y\r\nContent-Length: 3\r\n\r\nabc",
		want: "HEAD 1.1 length/3 ka {:method=POST :path=/ host=a content-length=3 x=y}\nDATA abc\nEND\nEOF"},
	{name: "names lower-cased, values trimmed", in: "GET / HTTP/1.1\r\nHOST:a\r\nX-Empty:\r\nX-Pad: \t a  b \t\r\nX-Utf8: caf\xc3\xa9\r\n\r\n",
		want: "HEAD 1.1 none ka {:method=GET :path=/ host=a x-empty= x-pad=a  b x-utf8=caf\xc3\xa9}\nEND\nEOF"},
	{name: "absolute-form", in: "GET http://example.com/x HTTP/1.1\r\nHost: example.com\r\n\r\n",
		want: "HEAD 1.1 none ka {:method=GET :path=http://example.com/x host=example.com}\nEND\nEOF"},
	{name: "asterisk-form", in: "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
		want: "HEAD 1.1 none ka {:method=OPTIONS :path=* host=a}\nEND\nEOF"},
	{name: "authority-form", in: "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
		want: "HEAD 1.1 none ka {:method=CONNECT :path=example.com:443 host=example.com:443}\nEND\nEOF"},
	{name: "ipv6 host", in: "GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n",
		want: "HEAD 1.1 none ka {:method=GET :path=/ host=[::1]:8080}\nEND\nEOF"},
	{name: "body at the limit", limits: Limits{MaxBodyBytes: 3}, in: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n1\r\nc\r\n0\r\n\r\n",
		want: "HEAD 1.1 chunked ka {:method=POST :path=/ host=a transfer-encoding=chunked}\nDATA abc\nEND\nEOF"},
	{name: "head at the limit", limits: Limits{MaxHeaderBytes: 27}, in: "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
		want: "HEAD 1.1 none ka {:method=GET :path=/ host=a}\nEND\nEOF"},
}

var goodResponses = []decodeCase{
	{name: "200 with length", method: "GET", in: "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello",
		want: "HEAD 1.1 length/5 ka {:status=200 content-type=text/plain content-length=5}\nDATA hello\nEND\nEOF"},
	{name: "chunked with trailers", method: "GET", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nGrpc-Status: 0\r\n\r\n",
		want: "HEAD 1.1 chunked ka {:status=200 transfer-encoding=chunked}\nDATA abc\nEND {grpc-status=0}\nEOF"},
	{name: "head response", method: "HEAD", in: "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n",
		want: "HEAD 1.1 none ka {:status=200 content-length=1000}\nEND\nEOF"},
	{name: "204", method: "DELETE", in: "HTTP/1.1 204 No Content\r\n\r\n",
		want: "HEAD 1.1 none ka {:status=204}\nEND\nEOF"},
	{name: "304", method: "GET", in: "HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\nContent-Length: 99\r\n\r\n",
		want: "HEAD 1.1 none ka {:status=304 etag=\"x\" content-length=99}\nEND\nEOF"},
	{name: "100-continue then final", method: "POST", in: "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok",
		want: "HEAD 1.1 none ka {:status=100}\nEND\nHEAD 1.1 length/2 ka {:status=201 content-length=2}\nDATA ok\nEND\nEOF"},
	{name: "103 then head response", method: "HEAD", in: "HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\n",
		want: "HEAD 1.1 none ka {:status=103 link=</a.css>}\nEND\nHEAD 1.1 none ka {:status=200 content-length=7}\nEND\nEOF"},
	{name: "until close", method: "GET", in: "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nabc\r\ndef",
		want: "HEAD 1.1 until_close close {:status=200 content-type=text/plain}\nDATA abc\r\ndef\nEND@eof\nEOF"},
	{name: "http/1.0 keep-alive", method: "GET", in: "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\nx",
		want: "HEAD 1.0 length/1 ka {:status=200 connection=keep-alive content-length=1}\nDATA x\nEND\nEOF"},
	{name: "http/1.0 default close", method: "GET", in: "HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n",
		want: "HEAD 1.0 length/0 close {:status=404 content-length=0}\nEND\nEOF"},
	{name: "no reason phrase", method: "GET", in: "HTTP/1.1 200\r\nContent-Length: 0\r\n\r\nHTTP/1.1 404 \r\nContent-Length: 0\r\n\r\n",
		want: "HEAD 1.1 length/0 ka {:status=200 content-length=0}\nEND\nHEAD 1.1 length/0 ka {:status=404 content-length=0}\nEND\nEOF"},
	{name: "connection close", method: "GET", in: "HTTP/1.1 500 Internal Server Error\r\nConnection: close\r\nContent-Length: 2\r\n\r\nno",
		want: "HEAD 1.1 length/2 close {:status=500 connection=close content-length=2}\nDATA no\nEND\nEOF"},
	{name: "101 stops", method: "GET", in: "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x05hello",
		want: "HEAD 1.1 none close {:status=101 upgrade=websocket connection=Upgrade}\nEND\nERR 502 upgrade not supported"},
	{name: "connect 2xx stops", method: "CONNECT", in: "HTTP/1.1 200 Connection Established\r\n\r\n",
		want: "HEAD 1.1 none close {:status=200}\nEND\nERR 502 tunnel not supported"},
	{name: "connect refused has a body", method: "CONNECT", in: "HTTP/1.1 403 Forbidden\r\nContent-Length: 2\r\n\r\nno",
		want: "HEAD 1.1 length/2 ka {:status=403 content-length=2}\nDATA no\nEND\nEOF"},
}

var badRequests = []decodeCase{
	// Start line.
	{name: "bare LF after request line", in: "GET / HTTP/1.1\nHost: a\r\n\r\n", want: "ERR 400 line not ended by CRLF"},
	{name: "double space", in: "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", want: "ERR 400 malformed request line"},
	{name: "leading space", in: " GET / HTTP/1.1\r\nHost: a\r\n\r\n", want: "ERR 400 malformed request line"},
	{name: "http/0.9", in: "GET /\r\n\r\n", want: "ERR 400 malformed request line"},
	{name: "method not a token", in: "GE(T / HTTP/1.1\r\nHost: a\r\n\r\n", want: "ERR 400 malformed request line"},
	{name: "lower-case version", in: "GET / http/1.1\r\nHost: a\r\n\r\n", want: "ERR 400 malformed request line"},
	{name: "trailing space", in: "GET / HTTP/1.1 \r\nHost: a\r\n\r\n", want: "ERR 400 malformed request line"},
	{name: "space in target", in: "GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", want: "ERR 400 malformed request line"},
	{name: "control in target", in: "GET /a\x01b HTTP/1.1\r\nHost: a\r\n\r\n", want: "ERR 400 invalid request target"},
	{name: "relative target", in: "GET a/b HTTP/1.1\r\nHost: a\r\n\r\n", want: "ERR 400 invalid request target"},
	{name: "asterisk not options", in: "GET * HTTP/1.1\r\nHost: a\r\n\r\n", want: "ERR 400 invalid request target"},
	{name: "bad version digits", in: "GET / HTTP/1.x\r\nHost: a\r\n\r\n", want: "ERR 400 malformed request line"},
	{name: "http/2.0", in: "GET / HTTP/2.0\r\nHost: a\r\n\r\n", want: "ERR 505 http version not supported"},
	{name: "http/1.2", in: "GET / HTTP/1.2\r\nHost: a\r\n\r\n", want: "ERR 505 http version not supported"},
	{name: "h2 preface", in: "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", want: "ERR 505 http version not supported"},
	// Field lines.
	{name: "bare LF after field", in: "GET / HTTP/1.1\r\nHost: a\nX: b\r\n\r\n", want: "ERR 400 line not ended by CRLF"},
	{name: "bare LF ends head", in: "GET / HTTP/1.1\r\nHost: a\r\n\n", want: "ERR 400 line not ended by CRLF"},
	{name: "bare CR in value", in: "GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n", want: "ERR 400 invalid character in header field value"},
	{name: "bare CR in name", in: "GET / HTTP/1.1\r\nHost: a\r\nX\r: b\r\n\r\n", want: "ERR 400 malformed header field name"},
	{name: "bare CR line", in: "GET / HTTP/1.1\r\nHost: a\r\n\r\r\n", want: "ERR 400 malformed header field name"},
	{name: "obs-fold", in: "GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n", want: "ERR 400 obsolete line folding or leading whitespace"},
	{name: "whitespace before first field", in: "GET / HTTP/1.1\r\n Host: a\r\n\r\n", want: "ERR 400 obsolete line folding or leading whitespace"},
	{name: "space before colon", in: "GET / HTTP/1.1\r\nHost : a\r\n\r\n", want: "ERR 400 malformed header field name"},
	{name: "no colon", in: "GET / HTTP/1.1\r\nHost: a\r\nX\r\n\r\n", want: "ERR 400 malformed header field name"},
	{name: "empty name", in: "GET / HTTP/1.1\r\nHost: a\r\n: b\r\n\r\n", want: "ERR 400 empty header field name"},
	{name: "NUL in value", in: "GET / HTTP/1.1\r\nHost: a\r\nX: a\x00b\r\n\r\n", want: "ERR 400 invalid character in header field value"},
	{name: "control in value", in: "GET / HTTP/1.1\r\nHost: a\r\nX: \x1b[0m\r\n\r\n", want: "ERR 400 invalid character in header field value"},
	{name: "DEL in value", in: "GET / HTTP/1.1\r\nHost: a\r\nX: a\x7f\r\n\r\n", want: "ERR 400 invalid character in header field value"},
	// Host.
	{name: "missing host", in: "GET / HTTP/1.1\r\nX: a\r\n\r\n", want: "ERR 400 missing host"},
	{name: "two hosts", in: "GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n", want: "ERR 400 several host fields"},
	{name: "host with space", in: "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", want: "ERR 400 invalid host"},
	{name: "host with slash", in: "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", want: "ERR 400 invalid host"},
	// Content-Length.
	{name: "content-length and transfer-encoding", in: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		want: "ERR 400 both content-length and transfer-encoding"},
	{name: "transfer-encoding and content-length", in: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n",
		want: "ERR 400 both content-length and transfer-encoding"},
	{name: "two content-lengths", in: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", want: "ERR 400 conflicting content-length values"},
	{name: "content-length list", in: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 4\r\n\r\nabcd", want: "ERR 400 conflicting content-length values"},
	{name: "negative content-length", in: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", want: "ERR 400 invalid content-length"},
	{name: "signed content-length", in: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +1\r\n\r\nx", want: "ERR 400 invalid content-length"},
	{name: "hex content-length", in: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x1\r\n\r\nx", want: "ERR 400 invalid content-length"},
	{name: "content-length with junk", in: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1 1\r\n\r\nx", want: "ERR 400 invalid content-length"},
	{name: "empty content-length", in: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n", want: "ERR 400 invalid content-length"},
	{name: "content-length empty element", in: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1,\r\n\r\nx", want: "ERR 400 invalid content-length"},
	{name: "content-length overflow", in: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 9223372036854775808\r\n\r\n", want: "ERR 400 invalid content-length"},
	// Transfer-Encoding.
	{name: "gzip only", in: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", want: "ERR 400 final transfer coding is not chunked"},
	{name: "chunked not final", in: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", want: "ERR 400 final transfer coding is not chunked"},
	{name: "chunked lookalike", in: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n", want: "ERR 400 final transfer coding is not chunked"},
	{name: "chunked with parameter", in: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked;q=1\r\n\r\n", want: "ERR 400 final transfer coding is not chunked"},
	{name: "empty transfer-encoding", in: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \r\n\r\n", want: "ERR 400 final transfer coding is not chunked"},
	{name: "chunked twice", in: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", want: "ERR 400 chunked applied more than once"},
	{name: "unknown coding", in: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", want: "ERR 501 transfer coding not implemented"},
	{name: "transfer-encoding in http/1.0", in: "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", want: "ERR 400 transfer-encoding in an http/1.0 request"},
	// Chunked bodies.
	{name: "chunk size not hex", in: chunkedReq("zz\r\n"), want: "ERR 400 chunk size has no digits"},
	{name: "chunk size empty", in: chunkedReq("\r\nabc"), want: "ERR 400 chunk size has no digits"},
	{name: "chunk size negative", in: chunkedReq("-5\r\nhello\r\n0\r\n\r\n"), want: "ERR 400 chunk size has no digits"},
	{name: "chunk size 0x prefix", in: chunkedReq("0x5\r\nhello\r\n0\r\n\r\n"), want: "ERR 400 invalid chunk size or extension"},
	{name: "chunk size trailing space", in: chunkedReq("5 \r\nhello\r\n0\r\n\r\n"), want: "ERR 400 invalid chunk size or extension"},
	{name: "chunk size junk", in: chunkedReq("5x\r\nhello\r\n0\r\n\r\n"), want: "ERR 400 invalid chunk size or extension"},
	{name: "chunk size overflow", in: chunkedReq("8000000000000000\r\n"), want: "ERR 400 chunk size overflows"},
	{name: "chunk ext no name", in: chunkedReq("5;\r\nhello\r\n0\r\n\r\n"), want: "ERR 400 invalid chunk size or extension"},
	{name: "chunk ext no value", in: chunkedReq("5;a=\r\nhello\r\n0\r\n\r\n"), want: "ERR 400 invalid chunk size or extension"},
	{name: "chunk ext unterminated quote", in: chunkedReq("5;a=\"b\r\nhello\r\n0\r\n\r\n"), want: "ERR 400 invalid chunk size or extension"},
	{name: "chunk ext bare CR", in: chunkedReq("5;a=\"b\rc\"\r\nhello\r\n0\r\n\r\n"), want: "ERR 400 invalid chunk size or extension"},
	{name: "bare LF after chunk size", in: chunkedReq("5\nhello\r\n0\r\n\r\n"), want: "ERR 400 line not ended by CRLF"},
	{name: "bare LF in chunk ext", in: chunkedReq("5;a=\"\n\"\r\nhello\r\n0\r\n\r\n"), want: "ERR 400 line not ended by CRLF"},
	{name: "chunk data too long", in: chunkedReq("5\r\nhelloXX\r\n0\r\n\r\n"), want: "ERR 400 chunk data not followed by CRLF"},
	{name: "chunk data then LF", in: chunkedReq("5\r\nhello\n0\r\n\r\n"), want: "ERR 400 chunk data not followed by CRLF"},
	{name: "chunk data then CR only", in: chunkedReq("5\r\nhello\r0\r\n\r\n"), want: "ERR 400 chunk data not followed by CRLF"},
	{name: "chunk line too long", in: chunkedReq("5;a=" + strings.Repeat("b", maxChunkLineBytes)), want: "ERR 400 chunk-size line too long"},
	{name: "bare LF in trailers", in: chunkedReq("0\r\nX: a\n\r\n"), want: "ERR 400 line not ended by CRLF"},
	{name: "bare LF ends trailers", in: chunkedReq("0\r\nX: a\r\n\n"), want: "ERR 400 line not ended by CRLF"},
	{name: "obs-fold in trailers", in: chunkedReq("0\r\nX: a\r\n b\r\n\r\n"), want: "ERR 400 obsolete line folding or leading whitespace"},
	// Limits.
	{name: "head too large", limits: Limits{MaxHeaderBytes: 26}, in: "GET / HTTP/1.1\r\nHost: a\r\n\r\n", want: "ERR 431 request header fields too large"},
	{name: "head without end too large", limits: Limits{MaxHeaderBytes: 64}, in: "GET / HTTP/1.1\r\nHost: a\r\nX: " + strings.Repeat("x", 100),
		want: "ERR 431 request header fields too large"},
	{name: "content-length too large", limits: Limits{MaxBodyBytes: 10}, in: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\n", want: "ERR 413 body too large"},
	{name: "chunked too large", limits: Limits{MaxBodyBytes: 10}, in: chunkedReq("a\r\n0123456789\r\n1\r\nx\r\n0\r\n\r\n"), want: "ERR 413 body too large"},
	{name: "trailers too large", limits: Limits{MaxHeaderBytes: 64}, in: chunkedReq("0\r\nX: " + strings.Repeat("x", 100) + "\r\n\r\n"),
		want: "ERR 431 trailer fields too large"},
	// The peer closes mid-message.
	{name: "eof in head", in: "GET / HTTP/1.1\r\nHost:", want: "ERR 400 connection closed in the middle of a message"},
	{name: "eof in body", in: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhel", want: "ERR 400 connection closed in the middle of a message"},
	{name: "eof in chunk", in: chunkedReq("5\r\nhel"), want: "ERR 400 connection closed in the middle of a message"},
	{name: "eof before last chunk", in: chunkedReq("5\r\nhello\r\n"), want: "ERR 400 connection closed in the middle of a message"},
	{name: "eof in trailers", in: chunkedReq("0\r\nX: a\r\n"), want: "ERR 400 connection closed in the middle of a message"},
	{name: "eof after CR", in: "\r", want: "ERR 400 connection closed in the middle of a message"},
}

func chunkedReq(body string) string {
	return "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" + body
}

var badResponses = []decodeCase{
	{name: "bare LF", method: "GET", in: "HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n", want: "ERR 502 line not ended by CRLF"},
	{name: "empty status line", method: "GET", in: "\r\nHTTP/1.1 200 OK\r\n\r\n", want: "ERR 502 malformed status line"},
	{name: "two-digit status", method: "GET", in: "HTTP/1.1 20 OK\r\n\r\n", want: "ERR 502 malformed status line"},
	{name: "four-digit status", method: "GET", in: "HTTP/1.1 2000 OK\r\n\r\n", want: "ERR 502 malformed status line"},
	{name: "status below 100", method: "GET", in: "HTTP/1.1 099 x\r\n\r\n", want: "ERR 502 malformed status line"},
	{name: "status above 599", method: "GET", in: "HTTP/1.1 600 x\r\n\r\n", want: "ERR 502 malformed status line"},
	{name: "http/2", method: "GET", in: "HTTP/2 200 OK\r\n\r\n", want: "ERR 502 malformed status line"},
	{name: "http/2.0", method: "GET", in: "HTTP/2.0 200 OK\r\n\r\n", want: "ERR 502 http version not supported"},
	{name: "control in reason", method: "GET", in: "HTTP/1.1 200 O\x00K\r\n\r\n", want: "ERR 502 invalid character in reason phrase"},
	{name: "content-length and transfer-encoding", method: "GET", in: "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		want: "ERR 502 both content-length and transfer-encoding"},
	{name: "gzip coding", method: "GET", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", want: "ERR 502 transfer coding not implemented"},
	{name: "conflicting content-length", method: "GET", in: "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", want: "ERR 502 conflicting content-length values"},
	{name: "obs-fold", method: "GET", in: "HTTP/1.1 200 OK\r\nX: a\r\n\tb\r\n\r\n", want: "ERR 502 obsolete line folding or leading whitespace"},
	{name: "bad chunk", method: "GET", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nq\r\n", want: "ERR 502 chunk size has no digits"},
	{name: "head too large", method: "GET", limits: Limits{MaxHeaderBytes: 32}, in: "HTTP/1.1 200 OK\r\nServer: a-long-server-name\r\n\r\n",
		want: "ERR 502 response header fields too large"},
	{name: "content-length too large", method: "GET", limits: Limits{MaxBodyBytes: 4}, in: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", want: "ERR 502 body too large"},
	{name: "until close too large", method: "GET", limits: Limits{MaxBodyBytes: 4}, in: "HTTP/1.1 200 OK\r\n\r\nhello", want: "ERR 502 body too large"},
	{name: "eof in head", method: "GET", in: "HTTP/1.1 200 OK\r\n", want: "ERR 502 connection closed in the middle of a message"},
	{name: "eof in body", method: "GET", in: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab", want: "ERR 502 connection closed in the middle of a message"},
}

func requestDecoder(l Limits) func() *Decoder {
	return func() *Decoder { return NewRequestDecoder(l) }
}

func responseDecoder(l Limits, method string) func() *Decoder {
	return func() *Decoder {
		d := NewResponseDecoder(l)
		d.SetRequestMethod([]byte(method))
		return d
	}
}

// TestDecode runs every table whole, byte by byte and cut at every
// position: all must give the same transcript.
func TestDecode(t *testing.T) {
	t.Parallel()
	tables := []struct {
		name     string
		response bool
		bad      bool
		cases    []decodeCase
	}{
		{"good requests", false, false, goodRequests},
		{"good responses", true, false, goodResponses},
		{"bad requests", false, true, badRequests},
		{"bad responses", true, true, badResponses},
	}
	for _, tb := range tables {
		for _, tc := range tb.cases {
			t.Run(tb.name+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				newDec := requestDecoder(tc.limits)
				if tb.response {
					newDec = responseDecoder(tc.limits, tc.method)
				}
				got := sameEveryWay(t, newDec, []byte(tc.in))
				if tb.bad {
					got = got[strings.LastIndexByte(got, '\n')+1:]
				}
				if got != tc.want {
					t.Fatalf("got\n%s\nwant\n%s", got, tc.want)
				}
			})
		}
	}
}

// TestDecodeErrors checks the error's shape: an *Error, sticky, and
// wrapping io.ErrUnexpectedEOF for a close mid-message.
func TestDecodeErrors(t *testing.T) {
	t.Parallel()
	d := NewRequestDecoder(Limits{})
	buf := network.NewBuffer([]byte("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nab"))
	for {
		ev, err := d.Decode(buf)
		if err != nil {
			t.Fatal(err)
		}
		if ev == EventNeedMore {
			break
		}
	}
	_, err := d.Finish()
	var e *Error
	if !errors.As(err, &e) || e.Status != 400 || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("Finish mid-body: %v", err)
	}
	if got := err.Error(); got != "http1: 400 connection closed in the middle of a message: unexpected EOF" {
		t.Fatalf("Error() = %q", got)
	}
	buf.Append([]byte("cde"))
	if _, again := d.Decode(buf); again != err {
		t.Fatalf("error not sticky: %v", again)
	}
	d.Reset()
	buf = network.NewBuffer([]byte("GET / HTTP/1.1\r\nHost: a\r\n\r\n"))
	if ev, err := d.Decode(buf); ev != EventHead || err != nil {
		t.Fatalf("after Reset: %v %v", ev, err)
	}
}

// TestDecodeAccessors covers what the transcripts do not show.
func TestDecodeAccessors(t *testing.T) {
	t.Parallel()
	d := NewResponseDecoder(Limits{})
	d.SetRequestMethod([]byte("GET"))
	buf := network.NewBuffer([]byte("HTTP/1.1 418 I'm a teapot\r\nTransfer-Encoding: chunked\r\n\r\n"))
	if ev, err := d.Decode(buf); ev != EventHead || err != nil {
		t.Fatal(ev, err)
	}
	if d.Status() != 418 || d.ContentLength() != -1 || d.Body() != BodyChunked || buf.Len() != 0 {
		t.Fatalf("status %d length %d body %v left %d", d.Status(), d.ContentLength(), d.Body(), buf.Len())
	}
	if EventData.String() != "data" || BodyUntilClose.String() != "until_close" || Event(9).String() != "unknown" {
		t.Fatal("String")
	}
}

// TestDecodePartialHeadNotRescanned checks that a head fed in pieces is
// parsed once: the complete lines go into Head() and are not drained, and
// scanning resumes where it stopped.
func TestDecodePartialHeadNotRescanned(t *testing.T) {
	t.Parallel()
	d := NewRequestDecoder(Limits{})
	buf := network.NewBuffer([]byte("GET / HTTP/1.1\r\nHost: a\r\nX-Long: abc"))
	if ev, err := d.Decode(buf); ev != EventNeedMore || err != nil {
		t.Fatal(ev, err)
	}
	if d.Head().Len() != 3 || d.scan != buf.Len() || d.pos != len("GET / HTTP/1.1\r\nHost: a\r\n") || buf.Len() != 36 {
		t.Fatalf("after a partial head: %d fields, pos %d scan %d, %d bytes left", d.Head().Len(), d.pos, d.scan, buf.Len())
	}
	buf.Append([]byte("def\r\n\r\n"))
	if ev, err := d.Decode(buf); ev != EventHead || err != nil {
		t.Fatal(ev, err)
	}
	if v, _ := d.Head().Get("x-long"); string(v) != "abcdef" || d.Head().Len() != 4 {
		t.Fatalf("x-long = %q, %d fields", v, d.Head().Len())
	}
}

// TestDecodeStreamsBody checks that body bytes come out as they arrive,
// without waiting for the rest.
func TestDecodeStreamsBody(t *testing.T) {
	t.Parallel()
	for _, in := range []string{
		"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\nabc",
		"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n64\r\nabc",
	} {
		d := NewRequestDecoder(Limits{})
		buf := network.NewBuffer([]byte(in))
		if ev, _ := d.Decode(buf); ev != EventHead {
			t.Fatal(ev)
		}
		if ev, err := d.Decode(buf); ev != EventData || string(d.Data()) != "abc" || err != nil {
			t.Fatalf("%q: %v %q %v", in, ev, d.Data(), err)
		}
		if ev, err := d.Decode(buf); ev != EventNeedMore || err != nil {
			t.Fatalf("%q: %v %v", in, ev, err)
		}
	}
}

// TestDecodeRequestAllocs holds the hot path to its budget: a typical
// request head, and a whole chunked request, decoded by a reused Decoder
// allocate nothing.
func TestDecodeRequestAllocs(t *testing.T) {
	for _, tc := range []struct {
		name string
		msg  []byte
	}{
		{"typical GET", typicalGET},
		{"chunked POST", chunkedPOST},
		{"response", typicalResponse},
	} {
		d := NewRequestDecoder(Limits{})
		if tc.name == "response" {
			d = NewResponseDecoder(Limits{})
		}
		buf := network.GetBuffer(4096)
		decode := func() {
			buf.Append(tc.msg)
			for {
				ev, err := d.Decode(buf)
				if err != nil {
					t.Fatal(err)
				}
				if ev == EventEnd {
					return
				}
				if ev == EventNeedMore {
					t.Fatal("incomplete")
				}
			}
		}
		decode() // grow the header lists once
		if n := testing.AllocsPerRun(200, decode); n != 0 {
			t.Errorf("%s: %v allocations per message", tc.name, n)
		}
		buf.Release()
	}
}

var typicalGET = []byte("GET /api/v1/users/12345?fields=name,email HTTP/1.1\r\n" +
	"Host: api.example.com\r\n" +
	"User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n" +
	"Accept: application/json, text/plain, */*\r\n" +
	"Accept-Encoding: gzip, deflate, br\r\n" +
	"Accept-Language: en-US,en;q=0.9\r\n" +
	"Connection: keep-alive\r\n" +
	"Cookie: session=3f2a9c1e7b; theme=dark\r\n" +
	"X-Request-Id: 6f1c2d3e-4a5b-6c7d-8e9f-0a1b2c3d4e5f\r\n" +
	"\r\n")

var chunkedPOST = []byte("POST /upload HTTP/1.1\r\n" +
	"Host: api.example.com\r\n" +
	"Content-Type: application/octet-stream\r\n" +
	"Transfer-Encoding: chunked\r\n" +
	"\r\n" +
	"400\r\n" + strings.Repeat("a", 0x400) + "\r\n" +
	"400;ext=1\r\n" + strings.Repeat("b", 0x400) + "\r\n" +
	"10\r\n0123456789abcdef\r\n" +
	"0\r\nX-Checksum: 1234\r\n\r\n")

var typicalResponse = []byte("HTTP/1.1 200 OK\r\n" +
	"Server: nginx\r\n" +
	"Date: Sat, 21 Nov 2026 14:00:00 GMT\r\n" +
	"Content-Type: application/json\r\n" +
	"Content-Length: 27\r\n" +
	"Connection: keep-alive\r\n" +
	"Cache-Control: no-cache\r\n" +
	"\r\n" +
	`{"id":12345,"name":"alice"}`)
