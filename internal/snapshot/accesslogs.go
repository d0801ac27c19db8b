package snapshot

import "github.com/meshdoctor/meshdoctor/internal/accesslog"

// AccessLogs are the proxy access logs read (`meshdoctor logs`, or the
// proxies' logs of a bundle), folded into groups by the access-log scanner.
type AccessLogs struct {
	Summary *accesslog.Summary
	// Writers names the pod whose proxy wrote an input, by input name, when
	// it is known (a bundle's logs/<namespace>/<pod>/<container>.log).
	Writers map[string]LogWriter
}

// LogWriter is the container that wrote a log.
type LogWriter struct {
	Namespace, Pod, Container string
}

// SetAccessLogs sets the access logs read.
func (b *Builder) SetAccessLogs(a *AccessLogs) { b.s.accessLogs = a }

// AccessLogs returns the access logs read, or nil.
func (s *Snapshot) AccessLogs() *AccessLogs { return s.accessLogs }
