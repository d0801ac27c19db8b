package yamltree

import (
	"encoding/binary"
	"hash/maphash"
)

// Memoized values.
//
// Objects read from a cluster repeat whole subtrees: every Pod of a
// ReplicaSet carries the same containers, and the ReplicaSet the
// Deployment's template. A Parser with a Memo reads such a subtree once:
// where the Fields it follows name a memo scope for a field whose value is
// read whole and starts on the next line, it hashes the value's lines
// (indentation taken relative to the key, so the same text at another depth
// hashes the same) and asks the Memo. On a hit it passes over the lines
// unread and returns a Lazy node carrying what the Memo holds; on a miss it
// reads the value as usual and attaches the scope and hash, so that whoever
// turns the tree into values can store the result. What is stored is the
// Memo's business (the decoder stores decoded values).

// Lazy is the kind of a node whose lines were not read because its Memo
// already held its value (Node.Memo.Value).
const Lazy Kind = Null + 1

// SpanHash identifies the text of a value: 128 bits, so that two different
// texts sharing a hash is not a practical concern.
type SpanHash [2]uint64

// MemoRef links a node to the memo: the scope and the hash of its text
// (the key), and, for a Lazy node, the value the memo held.
type MemoRef struct {
	Scope any
	Hash  SpanHash
	Value any
}

// Memo holds values by scope and text hash.
type Memo interface {
	// Lookup returns the value held for scope and h, if any.
	Lookup(scope any, h SpanHash) (any, bool)
}

// MemoGate is implemented by a Memo that turns down some scopes (values
// that have not been repeating): the readers then read such a value as
// usual, without hashing its text. Shared tells it that a value its
// Lookup could not have held yet repeated one read earlier in the same
// stream value (a JSON List is read whole before anything is decoded): a
// hit for the scope all the same.
type MemoGate interface {
	Wants(scope any) bool
	Shared(scope any)
}

// memoScopeOf returns the memo scope of field key of a mapping read with
// fields, whose value is read with sub, or nil: only with a Memo m, only
// for a value read whole (sub nil), and only for a scope m wants.
func memoScopeOf(m Memo, fields, sub Fields, key string) any {
	if m == nil || fields == nil || sub != nil {
		return nil
	}
	mf, ok := fields.(MemoFields)
	if !ok {
		return nil
	}
	scope := mf.MemoScope(key)
	if g, ok := m.(MemoGate); ok && scope != nil && !g.Wants(scope) {
		return nil
	}
	return scope
}

// MemoFields is Fields that can name a memo scope for a field: a value
// comparable with ==, nil when the field's value is not memoized.
type MemoFields interface {
	Fields
	MemoScope(key string) any
}

// spanSeeds hash the text of values. They are fixed for the process (the
// hashes must agree between parsers and with the memo that stores them)
// and never change after start-up.
var spanSeeds = [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}

// valueEnd returns the index of the first line after the value of the key
// on line start (at indent ind) whose value starts on the next line: the
// lines indented deeper, and sequence items at the key's own indent.
func (p *parser) valueEnd(start, ind int) int {
	for i := start + 1; i < len(p.lines); i++ {
		ln := &p.lines[i]
		if !ln.blank && int(ln.indent) <= ind && !(int(ln.indent) == ind && isSeqItem(ln.text)) {
			return i
		}
	}
	return len(p.lines)
}

// spanHash hashes lines [from, to), each as its indent relative to ind and
// its text, and whether the span ends the document without a line break
// (block scalars read differently then). The lines are copied into one
// buffer first: hashing it whole is several times faster than hashing
// line by line.
func (p *parser) spanHash(from, to, ind int) SpanHash {
	b := p.hashBuf[:0]
	for i := from; i < to; i++ {
		ln := &p.lines[i]
		if rel := int(ln.indent) - ind; uint(rel) < 64 && len(ln.text) < 128 {
			// The two varints' bytes when each fits in one, as most do.
			b = append(b, byte(rel<<1), byte(len(ln.text)))
		} else {
			b = binary.AppendVarint(b, int64(rel))
			b = binary.AppendUvarint(b, uint64(len(ln.text)))
		}
		b = append(b, ln.text...)
	}
	if to == len(p.lines) && p.openEnd {
		b = append(b, 1)
	}
	p.hashBuf = b
	return SpanHash{maphash.Bytes(spanSeeds[0], b), maphash.Bytes(spanSeeds[1], b)}
}

// memoValue reads the value of the key on the current line (at indent ind)
// that starts on the next line, through the memo: a Lazy node on a hit,
// otherwise the value read as usual with its MemoRef attached. ok is false
// when the value is empty (nothing worth remembering); the caller then reads
// it itself.
func (p *parser) memoValue(ind int, scope any) (n *Node, ok bool, err error) {
	start := p.pos
	end := p.valueEnd(start, ind)
	from := start + 1
	for from < end && p.lines[from].blank {
		from++
	}
	if from == end {
		return nil, false, nil
	}
	h := p.spanHash(start+1, end, ind)
	if v, hit := p.memo.Lookup(scope, h); hit {
		n = p.mem.node(Lazy, "")
		n.Line = from + 1
		n.Memo = p.mem.memoRef(MemoRef{Scope: scope, Hash: h, Value: v})
		p.pos = end
		return n, true, nil
	}
	if n, err = p.nestedValue(ind); err != nil {
		return nil, true, err
	}
	n.Memo = p.mem.memoRef(MemoRef{Scope: scope, Hash: h})
	return n, true, nil
}
