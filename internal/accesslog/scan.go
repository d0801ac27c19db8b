package accesslog

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// Input is one log to scan: a name for positions ("access.log", "-") and
// its contents. Gzip is recognised by its magic bytes, whatever the name.
type Input struct {
	Name string
	R    io.Reader
}

// Scanner scans inputs into a Summary. The zero value is ready to use.
type Scanner struct {
	// Formats are custom formats, tried before the built-in ones.
	Formats []*Format
	// Workers parse chunks in parallel; 0 means GOMAXPROCS. The summary is
	// the same whatever the number.
	Workers int
	// Samples is how many lines each group (and the unmatched lines) keeps;
	// 0 means 3, negative none.
	Samples int
	// ChunkSize is how much is read at once; 0 means 4 MiB (at least 64
	// bytes).
	ChunkSize int
	// MaxLineLen is the longest line parsed; longer ones are counted as
	// unmatched (and TooLong). 0 means 256 KiB. It is capped below ChunkSize.
	MaxLineLen int
	// Progress, when set, is called after each read with the number of
	// bytes read so far from all inputs (before decompression) and the
	// number of lines parsed so far (which trails the bytes by the chunks
	// in flight). It runs on the reading goroutine: it must be quick.
	Progress func(read, lines int64)
}

const (
	defaultChunk   = 4 << 20
	defaultMaxLine = 256 << 10
	defaultSamples = 3
	// maxBufferMemory caps the chunk buffers in flight on machines with
	// many cores.
	maxBufferMemory = 256 << 20
)

// chunk is a run of whole lines of one input (or a marker).
type chunk struct {
	seq   int64
	input int
	data  []byte
	buf   *[]byte // returned to the pool once parsed
	// long: data is the head of one line longer than MaxLineLen; the rest
	// of it was skipped.
	long bool
	// eof: the input ends here (no data); err is why reading stopped if
	// not at its end; read/bytes are the input's totals.
	eof         bool
	err         error
	read, bytes int64
	gzip        bool
}

// span is a line of a chunk: its index, its bytes' offsets, and those of
// its timestamp (t0 == t1 when it has none).
type span struct {
	line       int64
	start, end int
	t0, t1     int
}

type lineSample struct {
	line       int64
	time, text string
}

type chunkGroup struct {
	info        *groupInfo
	count, fail int64
	first, last span
	// firstTime and lastTime are offsets into the result's arena; first
	// only when the group had not been merged yet (else it is not needed).
	firstTime, lastTime [2]int32
	samples             []lineSample
}

// result is what a worker made of a chunk. Results are recycled once
// merged, so that a scan allocates per new group, not per chunk.
type result struct {
	c         *chunk
	counts    Counts
	formats   []int64
	groups    []chunkGroup
	unmatched []lineSample
	arena     []byte // timestamps of the groups' first and last lines
}

// groupInfo is one group, shared by all workers; its aggregate is written
// by the merging goroutine only.
type groupInfo struct {
	key Key
	// full: the group has all its samples from the chunks merged so far,
	// so later chunks need not copy lines for it.
	full atomic.Bool

	// merged: a merged chunk had the group, so its first line is known.
	merged atomic.Bool

	g                   Group
	firstTime, lastTime []byte
}

// scanState is shared by the workers and the merger of one Scan.
type scanState struct {
	parser  *Parser
	samples int
	maxLine int
	names   []string // input names

	mu     sync.Mutex
	groups map[string]*groupInfo

	unmatchedFull atomic.Bool
	// lines counts the lines parsed so far, for Progress.
	lines atomic.Int64

	results sync.Pool
}

func (st *scanState) getResult(c *chunk) *result {
	res, _ := st.results.Get().(*result)
	if res == nil {
		res = &result{formats: make([]int64, len(st.parser.formats))}
	}
	res.c = c
	return res
}

func (st *scanState) putResult(res *result) {
	clear(res.formats)
	clear(res.groups) // drop the samples and group pointers
	res.c, res.counts = nil, Counts{}
	res.groups, res.unmatched, res.arena = res.groups[:0], res.unmatched[:0], res.arena[:0]
	st.results.Put(res)
}

func (st *scanState) intern(bin []byte, r *Record) *groupInfo {
	st.mu.Lock()
	defer st.mu.Unlock()
	if gi, ok := st.groups[string(bin)]; ok {
		return gi
	}
	gi := &groupInfo{key: makeKey(r)}
	if st.samples == 0 {
		gi.full.Store(true)
	}
	st.groups[string(bin)] = gi
	return gi
}

func makeKey(r *Record) Key {
	k := Key{
		Cluster: r.String(FieldUpstreamCluster),
		Route:   r.String(FieldRouteName),
		Code:    -1,
		Flags:   r.String(FieldResponseFlags),
		Details: r.String(FieldResponseCodeDetails),
		Service: r.String(FieldDstService),
		Error:   r.String(FieldError),
	}
	if c, ok := r.Code(); ok {
		k.Code = c
	}
	return k
}

// appendKey appends the record's binary group key: each key field's
// value, escapes resolved, after its length; the code as a number so that
// 503 and "503" are one group.
func appendKey(dst []byte, r *Record) []byte {
	for _, f := range keyFields {
		at := len(dst)
		dst = append(dst, 0, 0, 0)
		if f == FieldResponseCode {
			if c, ok := r.Code(); ok {
				if v := r.val[f]; v[0] != '0' || len(v) == 1 {
					dst = append(dst, v...) // as printed, when that is canonical
				} else {
					dst = strconv.AppendInt(dst, int64(c), 10)
				}
			}
		} else {
			dst = r.appendValue(dst, f)
		}
		n := len(dst) - at - 3
		dst[at], dst[at+1], dst[at+2] = byte(n>>16), byte(n>>8), byte(n)
	}
	return dst
}

// worker parses chunks; its state is reused from chunk to chunk.
type worker struct {
	st     *scanState
	rec    Record
	key    []byte
	local  map[string]*localGroup
	gen    int64
	active []*localGroup
}

type localGroup struct {
	gen int64
	acc chunkGroup
}

func (w *worker) process(c *chunk) *result {
	res := w.st.getResult(c)
	if c.eof {
		return res
	}
	if c.long {
		res.counts = Counts{Lines: 1, Unmatched: 1, TooLong: 1}
		if !w.st.unmatchedFull.Load() {
			res.unmatched = append(res.unmatched, lineSample{text: sampleText(c.data[:min(len(c.data), w.st.maxLine)])})
		}
		return res
	}
	w.gen++
	w.active = w.active[:0]
	data := c.data
	var line int64
	for off := 0; off < len(data); line++ {
		end := len(data)
		next := end
		if j := bytes.IndexByte(data[off:], '\n'); j >= 0 {
			end = off + j
			next = end + 1
		}
		w.line(res, data, span{line: line, start: off, end: end})
		off = next
	}
	res.counts.Lines = line
	for _, lg := range w.active {
		g := lg.acc
		if !g.info.merged.Load() {
			g.firstTime = res.keep(data, g.first)
		}
		g.lastTime = res.keep(data, g.last)
		res.groups = append(res.groups, g)
		lg.acc.samples = nil
	}
	return res
}

// keep copies a line's timestamp into the arena.
func (res *result) keep(data []byte, s span) [2]int32 {
	at := len(res.arena)
	res.arena = append(res.arena, data[s.t0:s.t1]...)
	return [2]int32{int32(at), int32(len(res.arena))}
}

// subOffset is where sub, a sub-slice of b, starts in b.
func subOffset(b, sub []byte) int { return cap(b) - cap(sub) }

func (w *worker) line(res *result, data []byte, s span) {
	line := data[s.start:s.end]
	if len(line) > w.st.maxLine {
		res.counts.Unmatched++
		res.counts.TooLong++
		// Only the head of an over-long line is kept, as much as the reader
		// keeps of one longer than a chunk, so samples do not depend on
		// where chunks split.
		w.sampleUnmatched(res, s.line, line[:w.st.maxLine])
		return
	}
	r := &w.rec
	f, ok := w.st.parser.ParseLine(line, r)
	if !ok {
		if len(bytes.TrimSpace(line)) == 0 {
			res.counts.Blank++
			return
		}
		res.counts.Unmatched++
		w.sampleUnmatched(res, s.line, line)
		return
	}
	res.counts.Matched++
	for i, pf := range w.st.parser.formats {
		if pf == f {
			res.formats[i]++
			break
		}
	}
	w.key = appendKey(w.key[:0], r)
	lg := w.local[string(w.key)]
	if lg == nil {
		lg = &localGroup{acc: chunkGroup{info: w.st.intern(w.key, r)}}
		w.local[string(w.key)] = lg
	}
	if tt := r.timeText(); len(tt) > 0 {
		s.t0 = s.start + subOffset(line, tt)
		s.t1 = s.t0 + len(tt)
	}
	if lg.gen != w.gen {
		lg.gen = w.gen
		lg.acc = chunkGroup{info: lg.acc.info, first: s}
		w.active = append(w.active, lg)
	}
	acc := &lg.acc
	acc.count++
	if r.Failure() {
		acc.fail++
	}
	acc.last = s
	if len(acc.samples) < w.st.samples && !acc.info.full.Load() {
		acc.samples = append(acc.samples, lineSample{line: s.line, time: string(r.timeText()), text: sampleText(line)})
	}
}

func (w *worker) sampleUnmatched(res *result, line int64, text []byte) {
	if len(res.unmatched) < w.st.samples && !w.st.unmatchedFull.Load() {
		res.unmatched = append(res.unmatched, lineSample{line: line, text: sampleText(text)})
	}
}

func sampleText(b []byte) string {
	b = trimEOL(b)
	if len(b) > MaxSampleLen {
		b = b[:MaxSampleLen]
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

// Scan reads the inputs in order and returns their summary. Reading errors
// do not stop the scan: each is kept in its FileStats and Summary.Errors,
// with everything before it counted, and Scan returns them joined. When ctx
// is cancelled, Scan stops and returns what it merged so far with
// ctx.Err().
func (s *Scanner) Scan(ctx context.Context, inputs []Input) (*Summary, error) {
	workers := s.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	chunkSize := cmpOr(s.ChunkSize, defaultChunk)
	chunkSize = max(chunkSize, 64)
	nbuf := workers + 2
	if nbuf*chunkSize > maxBufferMemory {
		chunkSize = max(maxBufferMemory/nbuf, 1<<20)
	}
	// Below the chunk size, so that a full chunk without a newline always
	// holds an over-long line.
	maxLine := min(cmpOr(s.MaxLineLen, defaultMaxLine), chunkSize-1)
	samples := s.Samples
	if samples == 0 {
		samples = defaultSamples
	}
	samples = max(samples, 0)

	st := &scanState{
		parser:  NewParser(s.Formats...),
		samples: samples,
		maxLine: maxLine,
		groups:  map[string]*groupInfo{},
	}
	for _, in := range inputs {
		st.names = append(st.names, in.Name)
	}
	if samples == 0 {
		st.unmatchedFull.Store(true)
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	pool := make(chan *[]byte, nbuf)
	for range nbuf {
		b := make([]byte, chunkSize)
		pool <- &b
	}
	// tokens bound the chunks read but not yet merged, so that a slow
	// worker cannot make results pile up.
	tokens := make(chan struct{}, 4*nbuf)
	chunks := make(chan *chunk, workers)
	results := make(chan *result, 4*nbuf)

	go func() {
		defer close(chunks)
		rd := reader{s: s, ctx: ctx, pool: pool, tokens: tokens, out: chunks, maxLine: maxLine, lines: &st.lines}
		rd.run(inputs)
	}()
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := &worker{st: st, local: map[string]*localGroup{}}
			for c := range chunks {
				res := w.process(c)
				st.lines.Add(res.counts.Lines)
				if c.buf != nil {
					c.data = nil
					pool <- c.buf
				}
				results <- res
			}
		}()
	}
	go func() {
		wg.Wait()
		close(results)
	}()

	m := newMerger(st, len(inputs))
	pending := map[int64]*result{}
	var next int64
	for res := range results {
		pending[res.c.seq] = res
		for {
			r, ok := pending[next]
			if !ok {
				break
			}
			delete(pending, next)
			m.apply(r)
			next++
			<-tokens
		}
	}
	sum := m.summary()
	if err := ctx.Err(); err != nil {
		return sum, err
	}
	if len(sum.Errors) > 0 {
		errs := make([]error, len(sum.Errors))
		for i, e := range sum.Errors {
			errs[i] = e
		}
		return sum, errors.Join(errs...)
	}
	return sum, nil
}

func cmpOr(v, def int) int {
	if v <= 0 {
		return def
	}
	return v
}

// reader reads the inputs into chunks of whole lines.
type reader struct {
	s       *Scanner
	ctx     context.Context
	pool    chan *[]byte
	tokens  chan struct{}
	out     chan<- *chunk
	maxLine int

	lines *atomic.Int64 // lines parsed, for Progress
	seq   int64
	total int64 // bytes read from all inputs
	carry []byte
}

// send hands a chunk on, holding a token until it is merged.
func (rd *reader) send(c *chunk) bool {
	select {
	case rd.tokens <- struct{}{}:
	case <-rd.ctx.Done():
		return false
	}
	c.seq = rd.seq
	rd.seq++
	select {
	case rd.out <- c:
		return true
	case <-rd.ctx.Done():
		return false
	}
}

func (rd *reader) getBuf() *[]byte {
	select {
	case b := <-rd.pool:
		return b
	case <-rd.ctx.Done():
		return nil
	}
}

// countingReader counts what is read through it, for Progress.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func (rd *reader) run(inputs []Input) {
	for i, in := range inputs {
		if !rd.input(i, in) {
			return
		}
	}
}

// fill reads into b until it is full or the source ends.
func fill(src io.Reader, b []byte) (int, error) {
	n, empty := 0, 0
	for n < len(b) {
		m, err := src.Read(b[n:])
		n += m
		if err != nil {
			return n, err
		}
		if m == 0 {
			if empty++; empty > 100 {
				return n, io.ErrNoProgress
			}
		}
	}
	return n, nil
}

func (rd *reader) input(idx int, in Input) bool {
	cr := &countingReader{r: in.R}
	if in.R == nil {
		cr.r = bytes.NewReader(nil)
	}
	// src is buffered so that the rest of an over-long line can be skipped
	// without reading past its end; large reads bypass the buffer.
	var src *bufio.Reader
	br := bufio.NewReaderSize(cr, 64<<10)
	magic, _ := br.Peek(2)
	gz := len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b
	eof := &chunk{input: idx, eof: true, gzip: gz}
	if gz {
		zr, err := gzip.NewReader(br)
		if err != nil {
			eof.err, eof.read = err, cr.n
			return rd.send(eof)
		}
		src = bufio.NewReaderSize(zr, 64<<10)
	} else {
		src = br
	}
	var offset int64 // bytes of lines handed on
	rd.carry = rd.carry[:0]
	progress := func() {
		if rd.s.Progress != nil {
			rd.s.Progress(rd.total+cr.n, rd.lines.Load())
		}
	}
	defer func() { rd.total += cr.n }()
	for {
		buf := rd.getBuf()
		if buf == nil {
			return false
		}
		b := (*buf)[:cap(*buf)]
		n := copy(b, rd.carry)
		rd.carry = rd.carry[:0]
		m, err := fill(src, b[n:])
		n += m
		progress()
		data := b[:n]
		if err != nil {
			if len(data) > 0 {
				if len(data) > rd.maxLine && bytes.IndexByte(data, '\n') < 0 {
					if !rd.send(&chunk{input: idx, data: data[:min(len(data), MaxSampleLen, rd.maxLine)], buf: buf, long: true}) {
						return false
					}
				} else if !rd.send(&chunk{input: idx, data: data, buf: buf}) {
					return false
				}
			} else {
				rd.pool <- buf
			}
			offset += int64(len(data))
			if err != io.EOF {
				eof.err = err
			}
			eof.read, eof.bytes = cr.n, offset
			return rd.send(eof)
		}
		k := bytes.LastIndexByte(data, '\n')
		if k < 0 {
			// One line fills the whole buffer: keep its head as the sample,
			// skip the rest of it.
			if !rd.send(&chunk{input: idx, data: data[:min(len(data), MaxSampleLen, rd.maxLine)], buf: buf, long: true}) {
				return false
			}
			skipped, err := skipLine(src)
			offset += int64(len(data)) + skipped
			if err != nil {
				if err != io.EOF {
					eof.err = err
				}
				eof.read, eof.bytes = cr.n, offset
				return rd.send(eof)
			}
			continue
		}
		rd.carry = append(rd.carry, data[k+1:]...)
		offset += int64(k + 1)
		if !rd.send(&chunk{input: idx, data: data[:k+1], buf: buf}) {
			return false
		}
	}
}

// skipLine reads past the next newline and returns how many bytes it
// skipped, the newline included.
func skipLine(src *bufio.Reader) (int64, error) {
	var skipped int64
	for {
		b, err := src.ReadSlice('\n')
		skipped += int64(len(b))
		if err != bufio.ErrBufferFull {
			return skipped, err
		}
	}
}

// merger folds results, in chunk order, into the summary.
type merger struct {
	st        *scanState
	files     []FileStats
	formats   [][]int64 // per input, per parser format
	groups    []*groupInfo
	unmatched []Sample
}

func newMerger(st *scanState, n int) *merger {
	m := &merger{st: st, files: make([]FileStats, n), formats: make([][]int64, n)}
	for i := range m.files {
		m.files[i].Name = st.names[i]
		m.formats[i] = make([]int64, len(st.parser.formats))
	}
	return m
}

func (m *merger) apply(r *result) {
	c := r.c
	fs := &m.files[c.input]
	name := fs.Name
	base := fs.Lines
	pos := func(line int64, time string) Position { return Position{File: name, Line: base + line + 1, Time: time} }
	for i := range r.groups {
		cg := &r.groups[i]
		gi := cg.info
		if !gi.merged.Load() {
			gi.merged.Store(true)
			gi.g.Key = gi.key
			gi.g.First = pos(cg.first.line, "")
			gi.firstTime = append(gi.firstTime[:0], r.arena[cg.firstTime[0]:cg.firstTime[1]]...)
			m.groups = append(m.groups, gi)
		}
		gi.g.Last = pos(cg.last.line, "")
		gi.lastTime = append(gi.lastTime[:0], r.arena[cg.lastTime[0]:cg.lastTime[1]]...)
		gi.g.Count += cg.count
		gi.g.Failures += cg.fail
		for _, s := range cg.samples {
			if len(gi.g.Samples) >= m.st.samples {
				break
			}
			gi.g.Samples = append(gi.g.Samples, Sample{Position: pos(s.line, s.time), Text: s.text})
		}
		if len(gi.g.Samples) >= m.st.samples {
			gi.full.Store(true)
		}
	}
	for _, s := range r.unmatched {
		if len(m.unmatched) >= m.st.samples {
			break
		}
		m.unmatched = append(m.unmatched, Sample{Position: pos(s.line, s.time), Text: s.text})
	}
	if len(m.unmatched) >= m.st.samples {
		m.st.unmatchedFull.Store(true)
	}
	fs.add(r.counts)
	for i, n := range r.formats {
		m.formats[c.input][i] += n
	}
	if c.eof {
		fs.Gzip, fs.Read, fs.Bytes = c.gzip, c.read, c.bytes
		if c.err != nil {
			fs.Err = &ReadError{File: name, Line: fs.Lines, Offset: c.bytes, Err: c.err}
		}
	}
	m.st.putResult(r)
}

func (m *merger) summary() *Summary {
	sum := &Summary{UnmatchedSamples: m.unmatched}
	total := make([]int64, len(m.st.parser.formats))
	for i := range m.files {
		fs := &m.files[i]
		for j, n := range m.formats[i] {
			total[j] += n
			if n > 0 {
				fs.Formats = append(fs.Formats, FormatCount{Format: m.st.parser.formats[j].name, Lines: n})
			}
		}
		sum.add(fs.Counts)
		sum.Read += fs.Read
		sum.Bytes += fs.Bytes
		if fs.Err != nil {
			sum.Errors = append(sum.Errors, fs.Err)
		}
	}
	sum.Files = m.files
	for j, n := range total {
		if n > 0 {
			sum.Formats = append(sum.Formats, FormatCount{Format: m.st.parser.formats[j].name, Lines: n})
		}
	}
	sum.Groups = make([]Group, len(m.groups))
	for i, gi := range m.groups {
		sum.Groups[i] = gi.g
		sum.Groups[i].First.Time = strings.ToValidUTF8(string(gi.firstTime), "\uFFFD")
		sum.Groups[i].Last.Time = strings.ToValidUTF8(string(gi.lastTime), "\uFFFD")
	}
	slices.SortFunc(sum.Groups, func(a, b Group) int {
		if a.Count != b.Count {
			if a.Count > b.Count {
				return -1
			}
			return 1
		}
		return compareKeys(a.Key, b.Key)
	})
	return sum
}
