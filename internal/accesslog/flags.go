package accesslog

import "strings"

// responseFlags pairs Envoy's short %RESPONSE_FLAGS% codes with the long
// names %RESPONSE_FLAGS_LONG% prints (Envoy's stream_info utility table).
var responseFlags = [...]struct{ short, long string }{
	{"DC", "DownstreamConnectionTermination"},
	{"LH", "FailedLocalHealthCheck"},
	{"UH", "NoHealthyUpstream"},
	{"UT", "UpstreamRequestTimeout"},
	{"LR", "LocalReset"},
	{"UR", "UpstreamRemoteReset"},
	{"UF", "UpstreamConnectionFailure"},
	{"UC", "UpstreamConnectionTermination"},
	{"UO", "UpstreamOverflow"},
	{"NR", "NoRouteFound"},
	{"DI", "DelayInjected"},
	{"FI", "FaultInjected"},
	{"RL", "RateLimited"},
	{"UAEX", "UnauthorizedExternalService"},
	{"RLSE", "RateLimitServiceError"},
	{"IH", "InvalidEnvoyRequestHeaders"},
	{"SI", "StreamIdleTimeout"},
	{"DPE", "DownstreamProtocolError"},
	{"UPE", "UpstreamProtocolError"},
	{"UMSDR", "UpstreamMaxStreamDurationReached"},
	{"RFCF", "ResponseFromCacheFilter"},
	{"NFCF", "NoFilterConfigFound"},
	{"URX", "UpstreamRetryLimitExceeded"},
	{"NC", "NoClusterFound"},
	{"DT", "DurationTimeout"},
	{"OM", "OverloadManagerTerminated"},
	{"DF", "DnsResolutionFailed"},
	{"DO", "DropOverload"},
	{"DR", "DownstreamRemoteReset"},
}

// SplitFlags splits a %RESPONSE_FLAGS% value ("UF,URX") into its flags.
// Long names (%RESPONSE_FLAGS_LONG%) are given as their short codes; flags
// Envoy does not list (extensions can add their own) are kept as printed.
// "-", "" and null give none.
func SplitFlags(v string) []string {
	v = strings.TrimSpace(v)
	if v == "" || v == "-" || v == "null" {
		return nil
	}
	parts := strings.Split(v, ",")
	out := parts[:0]
	for _, p := range parts {
		p = strings.TrimSpace(p)
		if p == "" || p == "-" {
			continue
		}
		out = append(out, ShortFlag(p))
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// ShortFlag gives the short code of a flag given by its long name, or the
// flag unchanged.
func ShortFlag(f string) string {
	if len(f) <= 5 {
		return f
	}
	for _, rf := range responseFlags {
		if rf.long == f {
			return rf.short
		}
	}
	return f
}

// LongFlag gives the long name of a short flag code, or "" for a flag Envoy
// does not list.
func LongFlag(short string) string {
	for _, rf := range responseFlags {
		if rf.short == short {
			return rf.long
		}
	}
	return ""
}
