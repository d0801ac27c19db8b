package files

// StreamReader reads in-memory streams (a page of a LIST response, say)
// exactly as the Loader reads files, reusing its reader memory from one
// stream to the next. It is not safe for concurrent use: use one per
// goroutine.
type StreamReader struct {
	l    *Loader
	proj *projections
	rd   *reader
}

// NewStreamReader returns a reader with l's decoder, projection and
// managedFields settings.
func (l *Loader) NewStreamReader() *StreamReader {
	proj := l.projections()
	return &StreamReader{l: l, proj: proj, rd: l.newReader(proj)}
}

// Read parses one stream named name (shown in positions). The objects keep
// data for locating their fields; callers that have better positions (live
// objects) drop the locators.
func (r *StreamReader) Read(name string, data []byte) Result {
	res := r.l.parseUnit(unit{name: name, data: data}, data, r.rd, r.proj)
	res.Files = 1
	return res
}
