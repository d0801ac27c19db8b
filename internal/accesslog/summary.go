package accesslog

import (
	"cmp"
	"fmt"
	"strconv"
)

// Key is what records are grouped by. Envoy records fill Cluster, Route,
// Code, Flags and Details; ztunnel records Service and Error. Values are as
// logged (escapes resolved), "" when absent or unset.
type Key struct {
	Cluster string
	Route   string
	// Code is the response code, -1 when absent or unset.
	Code    int
	Flags   string
	Details string
	Service string
	Error   string
}

// keyFields are the fields a Key is made of, in the order the binary key
// holds them.
var keyFields = [...]Field{FieldUpstreamCluster, FieldRouteName, FieldResponseCode, FieldResponseFlags, FieldResponseCodeDetails, FieldDstService, FieldError}

// Failure reports whether records with this key failed: a 5xx, a ztunnel
// error or any response flag. Code 0 is left to Group.Failures, because it
// is a failure for HTTP and the norm for TCP, which the key does not tell
// apart.
func (k Key) Failure() bool {
	return k.Code >= 500 || k.Error != "" || k.Flags != "" && k.Flags != "-"
}

// String is a one-line rendering for messages and tests.
func (k Key) String() string {
	code := "-"
	if k.Code >= 0 {
		code = strconv.Itoa(k.Code)
	}
	if k.Service != "" || k.Error != "" {
		return fmt.Sprintf("service=%s error=%q", orDash(k.Service), k.Error)
	}
	return fmt.Sprintf("%s %s %s %s route=%s", orDash(k.Cluster), code, orDash(k.Flags), orDash(k.Details), orDash(k.Route))
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func compareKeys(a, b Key) int {
	return cmp.Or(
		cmp.Compare(a.Cluster, b.Cluster),
		cmp.Compare(a.Route, b.Route),
		cmp.Compare(a.Code, b.Code),
		cmp.Compare(a.Flags, b.Flags),
		cmp.Compare(a.Details, b.Details),
		cmp.Compare(a.Service, b.Service),
		cmp.Compare(a.Error, b.Error),
	)
}

// Position is a line of an input.
type Position struct {
	File string
	Line int64 // 1-based
	// Time is the line's timestamp as logged (START_TIME, ztunnel's, or
	// kubectl's), "" when it has none.
	Time string
}

func (p Position) String() string { return fmt.Sprintf("%s:%d", p.File, p.Line) }

// Sample is one line kept as evidence: its text (at most MaxSampleLen
// bytes, invalid UTF-8 replaced) and where it was.
type Sample struct {
	Position
	Text string
}

// MaxSampleLen caps a sample's text.
const MaxSampleLen = 4096

// Group is the records that share a Key.
type Group struct {
	Key Key
	// Count is the number of records; Failures those for which
	// Record.Failure holds.
	Count, Failures int64
	// First and Last are where the group was first and last seen, in input
	// order (inputs in the order given, lines in file order).
	First, Last Position
	// Samples are the group's first lines (Scanner.Samples of them).
	Samples []Sample
}

// Failure reports whether any record of the group failed.
func (g *Group) Failure() bool { return g.Failures > 0 }

// Cluster is the group's upstream cluster taken apart.
func (g *Group) Cluster() Cluster { return ParseCluster(g.Key.Cluster) }

// FormatCount is how many lines one format matched.
type FormatCount struct {
	Format string
	Lines  int64
}

// Counts are line totals. Lines = Matched + Unmatched + Blank; TooLong
// lines are also Unmatched.
type Counts struct {
	Lines, Matched, Unmatched, Blank, TooLong int64
}

func (c *Counts) add(o Counts) {
	c.Lines += o.Lines
	c.Matched += o.Matched
	c.Unmatched += o.Unmatched
	c.Blank += o.Blank
	c.TooLong += o.TooLong
}

// FileStats are one input's totals.
type FileStats struct {
	Name string
	Counts
	// Gzip is set when the input was gzip-compressed (by its magic bytes).
	Gzip bool
	// Read is how many bytes were read from the input; Bytes how many the
	// lines hold (after decompression).
	Read, Bytes int64
	Formats     []FormatCount
	// Err is the error that stopped reading this input, if any.
	Err *ReadError
}

// Summary is the result of a scan.
type Summary struct {
	Counts
	Read, Bytes int64
	// Groups are sorted by Count, largest first, then by Key.
	Groups []Group
	// UnmatchedSamples are the first lines no format matched.
	UnmatchedSamples []Sample
	Formats          []FormatCount
	Files            []FileStats
	// Errors are the inputs' read errors, in input order.
	Errors []*ReadError
}

// ReadError is an input that could not be read to its end. Everything
// before it was scanned.
type ReadError struct {
	File string
	// Line is the number of lines read before the error; Offset the number
	// of bytes (after decompression).
	Line, Offset int64
	Err          error
}

func (e *ReadError) Error() string {
	return fmt.Sprintf("%s: read error after line %d (byte %d): %v", e.File, e.Line, e.Offset, e.Err)
}

func (e *ReadError) Unwrap() error { return e.Err }
