// Package accesslog reads proxy access logs — Envoy and Istio sidecars,
// gateways and waypoints, and ambient's ztunnel — and folds them into
// failure groups.
//
// Each line is recognised on its own, so one input may mix formats:
//
//   - Istio's default TEXT format (1.9 and later; the 1.5–1.8 layout too),
//   - Envoy's own default format,
//   - JSON lines (Istio's `accessLogEncoding: JSON` keys, or the keys of a
//     custom JSON format),
//   - ztunnel's `access` lines (key=value, text or JSON),
//   - any custom Envoy format string given to [CompileFormat].
//
// The TEXT formats are not hand-written patterns: their Envoy format strings
// are compiled by [CompileFormat] into a matcher of literal separators and
// typed fields, the same way a user's format is. Lines may carry the
// wrappers `kubectl logs --prefix` and `--timestamps` add, or those of the
// container runtime's log files (/var/log/pods: timestamp, stream, tag).
//
// [ParseLine] parses one line into a [Record] whose values are sub-slices of
// the line: nothing is allocated. [Scanner.Scan] streams any number of
// inputs (gzip recognised by its magic bytes), parses chunks on all cores and
// aggregates records by upstream cluster, route, response code, flags and
// details (ztunnel: destination service and error). Memory is bounded by the
// number of distinct groups, not by the size of the input, and the result is
// the same whatever the number of workers.
//
// Parsers never panic on any input: a line no format matches is counted and
// sampled, never an error. Only reading can fail (a truncated gzip stream,
// say); the error says where, and what came before is kept.
package accesslog
