package conntrack

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

func (p *lineParser) field(tok string) error {
	key, val, ok := strings.Cut(tok, "=")
	if !ok {
		return fmt.Errorf("unexpected %q", truncate(tok))
	}
	if err := p.setField(key, val); err != nil {
		return fmt.Errorf("%s=: %w", truncate(key), err)
	}
	return nil
}

func (p *lineParser) setField(key, val string) error {
	if field, bits := tupleKey(key); field != 0 {
		// The second src= starts the reply tuple.
		if field == hasSrc && p.part == inOrig && p.seen[inOrig]&hasSrc != 0 {
			p.part = inReply
		}
		// ICMP's id= belongs to a tuple, after its code= (only ICMP tuples
		// have one); any other id= is the entry's (-o id), printed last.
		if field != hasICMPID || p.part != inTrailer && p.seen[p.part]&(hasCode|hasICMPID) == hasCode {
			return p.setTupleField(field, bits, val)
		}
	}
	var err error
	switch key {
	case "id":
		p.e.ID, err = trailerUint[uint32](p, &p.e.HasID, val)
	case "zone-orig":
		err = setZone(&p.e.Orig, val)
	case "zone-reply":
		err = setZone(&p.e.Reply, val)
	case "mark":
		p.e.Mark, err = trailerUint[uint32](p, &p.e.HasMark, val)
	case "secmark":
		p.e.Secmark, err = trailerUint[uint32](p, &p.e.HasSecmark, val)
	case "zone":
		p.e.Zone, err = trailerUint[uint16](p, &p.e.HasZone, val)
	case "use":
		p.e.Use, err = trailerUint[uint32](p, &p.e.HasUse, val)
	case "delta-time":
		p.e.DeltaTime, err = trailerUint[uint64](p, &p.hasDelta, val)
	case "secctx":
		p.part = inTrailer
		p.e.Secctx = val
	case "helper":
		p.part = inTrailer
		p.e.Helper = val
	case "labels":
		p.part = inTrailer
		p.e.Labels = strings.Split(val, ",")
	default:
		p.e.Extra = append(p.e.Extra, key+"="+val)
	}
	return err
}

// tupleKey maps a key to its tuple field and the width of its value; zero
// for keys outside tuples.
func tupleKey(key string) (field, bits int) {
	switch key {
	case "src":
		return hasSrc, 0
	case "dst":
		return hasDst, 0
	case "sport":
		return hasSport, 16
	case "dport":
		return hasDport, 16
	case "type":
		return hasType, 8
	case "code":
		return hasCode, 8
	case "id":
		return hasICMPID, 16
	case "srckey":
		return hasSrcKey, 16
	case "dstkey":
		return hasDstKey, 16
	case "packets":
		return hasPackets, 64
	case "bytes":
		return hasBytes, 64
	}
	return 0, 0
}

func (p *lineParser) setTupleField(field, bits int, val string) error {
	if p.part == inTrailer {
		return errors.New("after the reply tuple")
	}
	if field&fieldsOf(p.e.Proto) == 0 {
		return fmt.Errorf("not a field of %s", p.e.Proto)
	}
	if p.seen[p.part]&field != 0 {
		return errors.New("twice in one tuple")
	}
	p.seen[p.part] |= field
	t := &p.e.Orig
	if p.part == inReply {
		t = &p.e.Reply
	}
	return setTuple(t, field, bits, val)
}

// setTuple sets one field of t from its printed value.
func setTuple(t *Tuple, field, bits int, val string) error {
	if field == hasSrc || field == hasDst {
		a, err := netip.ParseAddr(val)
		if err != nil {
			return err
		}
		if a.Zone() != "" {
			return fmt.Errorf("address %q with a zone", truncate(val))
		}
		if field == hasSrc {
			t.Src = a
		} else {
			t.Dst = a
		}
		return nil
	}
	base := 10
	if field == hasSrcKey || field == hasDstKey {
		// GRE keys print as 0x%x.
		var ok bool
		if val, ok = strings.CutPrefix(val, "0x"); !ok {
			return fmt.Errorf("%q: want 0x and hex digits", truncate(val))
		}
		base = 16
	}
	v, err := strconv.ParseUint(val, base, bits)
	if err != nil {
		return err
	}
	switch field {
	case hasSport:
		t.SrcPort = uint16(v)
	case hasDport:
		t.DstPort = uint16(v)
	case hasType:
		t.ICMPType = uint8(v)
	case hasCode:
		t.ICMPCode = uint8(v)
	case hasICMPID:
		t.ICMPID = uint16(v)
	case hasSrcKey:
		t.GREKeySrc = uint16(v)
	case hasDstKey:
		t.GREKeyDst = uint16(v)
	case hasPackets:
		t.Packets, t.HasCounters = v, true
	case hasBytes:
		t.Bytes, t.HasCounters = v, true
	}
	return nil
}

// trailerUint reads a field printed after the tuples, once.
func trailerUint[U uint16 | uint32 | uint64](p *lineParser, seen *bool, val string) (U, error) {
	if *seen {
		return 0, errors.New("twice")
	}
	var zero U
	v, err := strconv.ParseUint(val, 10, bitSize(zero))
	if err != nil {
		return 0, err
	}
	p.part, *seen = inTrailer, true
	return U(v), nil
}

func bitSize[U uint16 | uint32 | uint64](U) int {
	switch any(U(0)).(type) {
	case uint16:
		return 16
	case uint32:
		return 32
	}
	return 64
}

func setZone(t *Tuple, val string) error {
	if t.HasZone {
		return errors.New("twice")
	}
	v, err := strconv.ParseUint(val, 10, 16)
	if err != nil {
		return err
	}
	t.Zone, t.HasZone = uint16(v), true
	return nil
}

// fieldsOf are the tuple fields conntrack prints for a protocol.
func fieldsOf(p Proto) int {
	const always = hasSrc | hasDst | hasPackets | hasBytes
	switch {
	case p.HasPorts():
		return always | hasSport | hasDport
	case p.isICMP():
		return always | hasType | hasCode | hasICMPID
	case p == GRE:
		return always | hasSrcKey | hasDstKey
	}
	return always
}
