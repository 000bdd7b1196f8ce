// Package accesslog writes the proxy's access logs: one line per request,
// formatted by a MOSN log_format string, to a file or to stdout/stderr.
//
// # Layer
//
// accesslog is a leaf that the proxy uses (and pkg/server builds from the
// listener's access_logs config). It imports only the standard library and
// pkg/protocol (for Headers); nothing below the proxy imports it.
//
//	server ──► proxy ──► accesslog ──► protocol
//	   └──────────────────┘  (New, Reopen, Close)
//
// # Main types
//
// Entry is what a finished request leaves for the log; the proxy fills it
// from its pooled per-request state and calls Logger.Log. Logger formats
// the line on the caller's goroutine into a pooled buffer and queues it
// for its own writer goroutine, which writes queued lines in batches:
//
//	Log ─► format into pooled *[]byte ─► bounded queue ─► writer ─► one Write per batch
//	                                       └─ full: drop, count (Dropped)
//
// Log never blocks and does not allocate in the steady state. Reopen
// (log rotation on SIGUSR1) and Close go through the writer, so neither
// loses a queued line.
//
// # Format
//
// A format is literal text with %name% variables; \% writes a literal %.
// An empty format is DefaultFormat, MOSN's default:
//
//	%start_time% %request_received_duration% %response_received_duration% %bytes_sent% %bytes_received% %protocol% %response_code% %duration% %response_flag% %response_code% %upstream_local_address% %downstream_local_address% %downstream_remote_address% %upstream_host%
//
// The variables are MOSN's (mosn.io/mosn pkg/types/variable.go and
// pkg/proxy/var.go), with these values:
//
//	%start_time%                         Entry.StartTime, as "2006/01/02 15:04:05.000"
//	%request_received_duration%          Entry.RequestReceived, as time.Duration.String: "1.5ms"
//	%response_received_duration%         Entry.ResponseReceived, likewise ("0s" if no response came)
//	%duration%                           Entry.Duration, likewise
//	%bytes_sent%                         Entry.BytesSent
//	%bytes_received%                     Entry.BytesReceived
//	%protocol%                           Entry.Protocol
//	%response_code%                      Entry.ResponseCode (0 if none was sent)
//	%response_flag%, %response_flags%    Entry.ResponseFlags: "UF", "UT", "NR", ...
//	%upstream_transport_failure_reason%  the response flags in words: "upstream_connection_failure"
//	%upstream_cluster%                   Entry.UpstreamCluster
//	%upstream_host%                      Entry.UpstreamHost
//	%upstream_local_address%             Entry.UpstreamLocalAddr
//	%downstream_local_address%           Entry.DownstreamLocalAddr
//	%downstream_remote_address%          Entry.DownstreamRemoteAddr
//	%request_header_NAME%                the first value of request header NAME
//	%response_header_NAME%               the first value of response header NAME
//
// Header names are matched in lower case, and pseudo-headers work too:
// %request_header_:method%, %request_header_:path%,
// %response_header_:status%. A variable with no value (an empty string, a
// missing header, a zero start time) writes "-", MOSN's
// variable.ValueNotFound, so that columns stay aligned. Control bytes in
// values are written as \xHH so that an entry is always one line.
//
// Any other %name% is an error from New that names it; among MOSN's proxy
// variables, request_finished_duration, process_time_duration,
// requested_server_name, route_name, protocol_config and
// stream_response_bytes are not supported (the proxy does not record
// them), nor are the protocol variables such as %Http1_request_method%
// (use the pseudo-headers) or MOSN's old %StartTime%/%REQ.name% names.
//
// Where this differs from MOSN: MOSN writes %response_flag% as "true" or
// "false" (whether any flag is set), which tells nothing about the
// failure; here it is the flag codes, as Envoy writes %RESPONSE_FLAGS%.
// MOSN keeps the backslash of \% in the output; here it is dropped. MOSN
// writes an empty %protocol% as nothing; here it is "-".
package accesslog
