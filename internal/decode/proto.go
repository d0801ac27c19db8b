package decode

import (
	"bytes"
	"encoding/json"
	"fmt"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

// unknownSpecFields walks the JSON spec against the protobuf descriptor.
// Istio's generated UnmarshalJSON accepts unknown fields silently, so a typo
// such as `subnet:` for `subset:` would vanish; this finds every such key.
func unknownSpecFields(data []byte, spec proto.Message) ([]FieldIssue, error) {
	// A map, not a struct: encoding/json matches struct fields ignoring
	// case, and Kubernetes does not ("speC" is not the spec).
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	raw := doc["spec"]
	if len(raw) == 0 {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("spec: %w", err)
	}
	var out []FieldIssue
	walkProto(spec.ProtoReflect().Descriptor(), v, snapshot.P("spec"), &out)
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

func walkProto(md protoreflect.MessageDescriptor, v any, at snapshot.Path, out *[]FieldIssue) {
	if opaqueMessages[md.FullName()] {
		return
	}
	m, ok := v.(map[string]any)
	if !ok {
		return
	}
	fields := md.Fields()
	for k, val := range m {
		fd := fields.ByJSONName(k)
		if fd == nil {
			fd = fields.ByName(protoreflect.Name(k))
		}
		if fd == nil {
			*out = append(*out, FieldIssue{Path: at.Child(k)})
			continue
		}
		child := at.Child(k)
		switch {
		case fd.IsMap():
			if fd.MapValue().Kind() != protoreflect.MessageKind {
				continue
			}
			if mm, ok := val.(map[string]any); ok {
				for mk, mv := range mm {
					walkProto(fd.MapValue().Message(), mv, child.Child(mk), out)
				}
			}
		case fd.Kind() != protoreflect.MessageKind && fd.Kind() != protoreflect.GroupKind:
		case fd.IsList():
			if l, ok := val.([]any); ok {
				for i, e := range l {
					walkProto(fd.Message(), e, child.Child(i), out)
				}
			}
		default:
			walkProto(fd.Message(), val, child, out)
		}
	}
}
