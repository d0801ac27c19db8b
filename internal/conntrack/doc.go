// Package conntrack reads connection-tracking tables into one model,
// [Entry], whether they come as text — `conntrack -L` (libnetfilter_conntrack's
// default format), `conntrack -L -o extended`, `conntrack -E` events, or
// /proc/net/nf_conntrack, which prints like the extended form — or live
// from netlink (package ctflow converts github.com/ti-mo/conntrack flows).
//
// Listings of the expectation table (`conntrack -L expect`, `-E expect`)
// read into [Expectation]s, so a dump of either table is accepted.
//
// [Parse] never stops at a bad line: each becomes a [*LineError] with its
// line number and parsing goes on. Every entry keeps its line number and
// raw text as evidence. The closing "conntrack v1.4.x (conntrack-tools): N
// flow entries have been shown." line is recognised and kept as a
// [Summary].
package conntrack
