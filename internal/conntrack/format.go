package conntrack

import (
	"net/netip"
	"strconv"
	"strings"
)

// String prints the entry as `conntrack -L` does (libnetfilter_conntrack's
// default format; the layer 3 prefix of -o extended is left out), fields
// this package does not model last. For a live entry it is the evidence a
// text entry's Raw is.
func (e *Entry) String() string {
	var b []byte
	if e.Event != "" {
		b = append(b, "["+e.Event+"] "...)
	}
	name := e.Proto.String()
	if _, ok := protoNames[e.Proto]; !ok {
		name = "unknown"
	}
	b = append(b, name...)
	for n := len(name); n < 8; n++ {
		b = append(b, ' ')
	}
	b = append(b, ' ')
	b = strconv.AppendUint(b, uint64(e.Proto), 10)
	if e.HasTimeout {
		b = appendUint(append(b, ' '), e.Timeout)
	}
	if e.State != "" {
		b = append(append(b, ' '), e.State...)
	}
	b = e.appendTuple(b, &e.Orig, "zone-orig")
	if e.Flags.Has(FlagUnreplied) {
		b = append(b, " [UNREPLIED]"...)
	}
	b = e.appendTuple(b, &e.Reply, "zone-reply")
	for _, fw := range flagWords[1:] {
		if e.Flags.Has(fw.flag) {
			b = append(append(b, ' '), fw.word...)
		}
	}
	b = appendField(b, "mark", e.HasMark, e.Mark)
	b = appendField(b, "secmark", e.HasSecmark, e.Secmark)
	if e.Secctx != "" {
		b = append(b, " secctx="+e.Secctx...)
	}
	b = appendField(b, "zone", e.HasZone, e.Zone)
	b = appendField(b, "delta-time", e.DeltaTime != 0, e.DeltaTime)
	if e.Helper != "" {
		b = append(b, " helper="+e.Helper...)
	}
	b = appendField(b, "use", e.HasUse, e.Use)
	b = appendField(b, "id", e.HasID, e.ID)
	if e.Labels != nil {
		b = append(b, " labels="+strings.Join(e.Labels, ",")...)
	}
	for _, x := range e.Extra {
		b = append(append(b, ' '), x...)
	}
	return string(b)
}

func (e *Entry) appendTuple(b []byte, t *Tuple, zoneKey string) []byte {
	b = appendAddrsPorts(b, e.Proto, t, "")
	b = appendField(b, zoneKey, t.HasZone, t.Zone)
	b = appendField(b, "packets", t.HasCounters, t.Packets)
	return appendField(b, "bytes", t.HasCounters, t.Bytes)
}

// appendAddrsPorts prints a tuple's addresses and the protocol's port (or
// ICMP, or GRE key) fields, each key with prefix ("mask-", "master-" in
// expectations), as conntrack does for flows and expectations alike.
func appendAddrsPorts(b []byte, proto Proto, t *Tuple, prefix string) []byte {
	b = appendAddr(append(b, " "+prefix+"src="...), t.Src)
	b = appendAddr(append(b, " "+prefix+"dst="...), t.Dst)
	switch {
	case proto.HasPorts():
		b = appendField(b, "sport", true, t.SrcPort)
		b = appendField(b, "dport", true, t.DstPort)
	case proto.isICMP():
		b = appendField(b, "type", true, t.ICMPType)
		b = appendField(b, "code", true, t.ICMPCode)
		b = appendField(b, "id", true, t.ICMPID)
	case proto == GRE:
		b = strconv.AppendUint(append(b, " srckey=0x"...), uint64(t.GREKeySrc), 16)
		b = strconv.AppendUint(append(b, " dstkey=0x"...), uint64(t.GREKeyDst), 16)
	}
	return b
}

func appendAddr(b []byte, a netip.Addr) []byte {
	if !a.IsValid() {
		return append(b, '?')
	}
	return a.AppendTo(b)
}

func appendField[U uint8 | uint16 | uint32 | uint64](b []byte, key string, present bool, v U) []byte {
	if !present {
		return b
	}
	return appendUint(append(append(append(b, ' '), key...), '='), v)
}

func appendUint[U uint8 | uint16 | uint32 | uint64](b []byte, v U) []byte {
	return strconv.AppendUint(b, uint64(v), 10)
}
