package decode

import (
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/meshdoctor/meshdoctor/internal/snapshot"
	"github.com/meshdoctor/meshdoctor/internal/yamltree"
)

// unknownSpecFields finds the unknown keys of an Istio spec in a JSON
// object. Istio's generated UnmarshalJSON accepts unknown fields silently,
// so a typo such as `subnet:` for `subset:` would vanish.
func unknownSpecFields(data []byte, spec proto.Message) ([]FieldIssue, error) {
	n, _, err := yamltree.ParseJSON(data)
	if err != nil {
		return nil, err
	}
	var out []FieldIssue
	// Get matches keys exactly, as Kubernetes does ("speC" is not the spec).
	if s := n.Get("spec"); s != nil {
		walkProtoTree(spec.ProtoReflect().Descriptor(), s, []pathStep{{key: "spec"}}, &out)
	}
	return out, nil
}

// opaqueMessages accept arbitrary JSON (or a scalar form) and are not walked.
var opaqueMessages = map[protoreflect.FullName]bool{
	"google.protobuf.Struct": true, "google.protobuf.Value": true, "google.protobuf.ListValue": true,
	"google.protobuf.Any": true, "google.protobuf.Duration": true, "google.protobuf.Timestamp": true,
	"google.protobuf.FieldMask": true, "google.protobuf.Empty": true,
	"google.protobuf.BoolValue": true, "google.protobuf.StringValue": true, "google.protobuf.BytesValue": true,
	"google.protobuf.Int32Value": true, "google.protobuf.Int64Value": true, "google.protobuf.UInt32Value": true,
	"google.protobuf.UInt64Value": true, "google.protobuf.FloatValue": true, "google.protobuf.DoubleValue": true,
}

// walkProtoTree collects the keys of n that message md does not define,
// recursing into messages, lists and maps of messages. at is the path to
// n as a stack, extended in place and made into a Path only for an
// unknown key, since nearly every spec has none.
func walkProtoTree(md protoreflect.MessageDescriptor, n *yamltree.Node, at []pathStep, out *[]FieldIssue) {
	w := protoWalker{at: at, out: out}
	w.walk(md, n)
}

type protoWalker struct {
	at  []pathStep
	out *[]FieldIssue
}

func (w *protoWalker) walk(md protoreflect.MessageDescriptor, n *yamltree.Node) {
	if opaqueMessages[md.FullName()] || n.Kind != yamltree.Map {
		return
	}
	fields := md.Fields()
	for i, k := range n.Keys {
		val := n.Children[i]
		fd := fields.ByJSONName(k)
		if fd == nil {
			fd = fields.ByName(protoreflect.Name(k))
		}
		if fd == nil {
			*w.out = append(*w.out, FieldIssue{Path: ownedPath(w.at, k)})
			continue
		}
		switch {
		case fd.Kind() != protoreflect.MessageKind && fd.Kind() != protoreflect.GroupKind && !fd.IsMap():
			// A scalar or a list of scalars: nothing below to check.
		case fd.IsMap():
			if fd.MapValue().Kind() == protoreflect.MessageKind && val.Kind == yamltree.Map {
				for j, mk := range val.Keys {
					w.at = append(w.at, pathStep{key: k}, pathStep{key: mk, index: -1})
					w.walk(fd.MapValue().Message(), val.Children[j])
					w.at = w.at[:len(w.at)-2]
				}
			}
		case fd.IsList():
			if val.Kind == yamltree.Seq {
				for j, e := range val.Children {
					w.at = append(w.at, pathStep{key: k}, pathStep{index: j})
					w.walk(fd.Message(), e)
					w.at = w.at[:len(w.at)-2]
				}
			}
		default:
			w.at = append(w.at, pathStep{key: k})
			w.walk(fd.Message(), val)
			w.at = w.at[:len(w.at)-1]
		}
	}
}

// ownedPath makes the path at plus key, every string copied: the keys of
// a yamltree walk may share memory with the document buffer, which the
// reader reuses for the next document, so an issue that outlives the walk
// must own its path (a VirtualService's unknown field once printed as
// fragments of a later file's base64 certificate).
func ownedPath(at []pathStep, key string) snapshot.Path {
	out := make(snapshot.Path, 0, len(at)+1)
	for _, e := range at {
		if e.key != "" || e.index < 0 {
			out = append(out, strings.Clone(e.key))
		} else {
			out = append(out, e.index)
		}
	}
	return append(out, strings.Clone(key))
}
