package accesslog

// Field names one value of an access-log record. Envoy fields are named
// after the keys of Istio's JSON encoding; ztunnel fields after its keys.
type Field uint8

// Envoy (sidecar, gateway, waypoint) fields.
const (
	FieldStartTime Field = iota
	FieldMethod
	FieldPath
	FieldProtocol
	FieldResponseCode
	FieldResponseFlags
	FieldResponseCodeDetails
	FieldConnectionTerminationDetails
	FieldUpstreamTransportFailureReason
	FieldBytesReceived
	FieldBytesSent
	FieldDuration
	FieldUpstreamServiceTime
	FieldXForwardedFor
	FieldUserAgent
	FieldRequestID
	FieldAuthority
	FieldUpstreamHost
	FieldUpstreamCluster
	FieldUpstreamLocalAddress
	FieldDownstreamLocalAddress
	FieldDownstreamRemoteAddress
	FieldRequestedServerName
	FieldRouteName

	// ztunnel fields. Its timestamp is FieldStartTime, bytes_sent and
	// bytes_recv are FieldBytesSent and FieldBytesReceived, and duration
	// ("2ms") is FieldDuration.
	FieldSrcAddr
	FieldSrcWorkload
	FieldSrcNamespace
	FieldSrcIdentity
	FieldDstAddr
	FieldDstHBONEAddr
	FieldDstService
	FieldDstWorkload
	FieldDstNamespace
	FieldDstIdentity
	FieldDirection
	FieldError
	FieldLevel
	FieldMessage

	numFields
)

// Records keep the fields they carry in a uint64 mask.
const _ uint = 63 - uint(numFields)

// fieldNone marks a format operator that meshdoctor does not keep. A
// Record has a spare slot for it, so matching need not test for it.
const fieldNone = numFields

var fieldNames = [numFields]string{
	FieldStartTime:                      "start_time",
	FieldMethod:                         "method",
	FieldPath:                           "path",
	FieldProtocol:                       "protocol",
	FieldResponseCode:                   "response_code",
	FieldResponseFlags:                  "response_flags",
	FieldResponseCodeDetails:            "response_code_details",
	FieldConnectionTerminationDetails:   "connection_termination_details",
	FieldUpstreamTransportFailureReason: "upstream_transport_failure_reason",
	FieldBytesReceived:                  "bytes_received",
	FieldBytesSent:                      "bytes_sent",
	FieldDuration:                       "duration",
	FieldUpstreamServiceTime:            "upstream_service_time",
	FieldXForwardedFor:                  "x_forwarded_for",
	FieldUserAgent:                      "user_agent",
	FieldRequestID:                      "request_id",
	FieldAuthority:                      "authority",
	FieldUpstreamHost:                   "upstream_host",
	FieldUpstreamCluster:                "upstream_cluster",
	FieldUpstreamLocalAddress:           "upstream_local_address",
	FieldDownstreamLocalAddress:         "downstream_local_address",
	FieldDownstreamRemoteAddress:        "downstream_remote_address",
	FieldRequestedServerName:            "requested_server_name",
	FieldRouteName:                      "route_name",
	FieldSrcAddr:                        "src.addr",
	FieldSrcWorkload:                    "src.workload",
	FieldSrcNamespace:                   "src.namespace",
	FieldSrcIdentity:                    "src.identity",
	FieldDstAddr:                        "dst.addr",
	FieldDstHBONEAddr:                   "dst.hbone_addr",
	FieldDstService:                     "dst.service",
	FieldDstWorkload:                    "dst.workload",
	FieldDstNamespace:                   "dst.namespace",
	FieldDstIdentity:                    "dst.identity",
	FieldDirection:                      "direction",
	FieldError:                          "error",
	FieldLevel:                          "level",
	FieldMessage:                        "message",
}

// String is the field's key: Istio's JSON key, or ztunnel's.
func (f Field) String() string {
	if f < numFields {
		return fieldNames[f]
	}
	return "unknown"
}

// Fields lists every field, in order.
func Fields() []Field {
	out := make([]Field, numFields)
	for i := range out {
		out[i] = Field(i)
	}
	return out
}

// ztunnelKeys maps ztunnel's keys (text and JSON logs) to fields.
var ztunnelKeys = map[string]Field{
	"src.addr":       FieldSrcAddr,
	"src.workload":   FieldSrcWorkload,
	"src.namespace":  FieldSrcNamespace,
	"src.identity":   FieldSrcIdentity,
	"dst.addr":       FieldDstAddr,
	"dst.hbone_addr": FieldDstHBONEAddr,
	"dst.service":    FieldDstService,
	"dst.workload":   FieldDstWorkload,
	"dst.namespace":  FieldDstNamespace,
	"dst.identity":   FieldDstIdentity,
	"direction":      FieldDirection,
	"error":          FieldError,
	"bytes_sent":     FieldBytesSent,
	"bytes_recv":     FieldBytesReceived,
	"duration":       FieldDuration,
	// JSON logs only: the envelope.
	"level":     FieldLevel,
	"message":   FieldMessage,
	"time":      FieldStartTime,
	"timestamp": FieldStartTime,
}
