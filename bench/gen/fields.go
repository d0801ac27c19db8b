package main

// Derivation of metadata.managedFields[].fieldsV1 sets from object content,
// following the structured-merge-diff conventions closely enough to look
// like real API server output:
//   - map keys become "f:<key>"
//   - lists with a merge key become "k:{<json of key fields>}" entries
//   - sets of strings (finalizers) become "v:<json>" entries
//   - other lists and label selectors are atomic ("{}")
//   - "." marks maps/list items that exist as a whole

// listKeys gives the merge key fields of associative lists by field name.
func listKeys(field string, first Node) []string {
	switch field {
	case "containers", "initContainers", "ephemeralContainers", "env", "volumes", "imagePullSecrets":
		return []string{"name"}
	case "volumeMounts":
		return []string{"mountPath"}
	case "ownerReferences":
		return []string{"uid"}
	case "conditions":
		return []string{"type"}
	case "podIPs", "hostIPs":
		return []string{"ip"}
	case "ports":
		if _, ok := first.get("containerPort"); ok {
			return []string{"containerPort", "protocol"}
		}
		if _, ok := first.get("port"); ok {
			return []string{"port", "protocol"}
		}
	}
	return nil
}

// noDot lists struct-valued fields that never get a "." entry.
var noDot = map[string]bool{
	"metadata": true, "spec": true, "template": true, "strategy": true, "status": true,
}

// fieldsV1 returns the field set of a map node. depth > 0 limits how deep
// the set is spelled out (deeper fields collapse to "{}"), which keeps the
// compact profile's objects small; depth <= 0 means unlimited.
func fieldsV1(n Node, depth int) Node {
	if depth <= 0 {
		depth = 1 << 30
	}
	return fset(n.m, false, depth)
}

func fset(m []Field, dot bool, depth int) Node {
	fs := make([]Field, 0, len(m)+1)
	if dot {
		fs = append(fs, Field{k: ".", v: Node{k: kMap}})
	}
	for _, f := range m {
		fs = append(fs, Field{k: "f:" + f.k, v: fval(f.k, f.v, depth-1)})
	}
	return Node{k: kMap, m: fs} // already sorted: "." < "f:..." and m is sorted
}

func fval(k string, v Node, depth int) Node {
	if depth <= 0 {
		return Node{k: kMap}
	}
	switch v.k {
	case kMap:
		if len(v.m) == 0 {
			return Node{k: kMap}
		}
		if k == "selector" {
			if _, ok := v.get("matchLabels"); ok {
				return Node{k: kMap} // LabelSelector is atomic
			}
		}
		return fset(v.m, !noDot[k], depth)
	case kList:
		if len(v.l) == 0 {
			return Node{k: kMap}
		}
		if k == "finalizers" {
			fs := make([]Field, 0, len(v.l)+1)
			fs = append(fs, Field{k: ".", v: Node{k: kMap}})
			for _, it := range v.l {
				fs = append(fs, Field{k: "v:" + string(compactJSON(nil, it)), v: Node{k: kMap}})
			}
			return M(fs...)
		}
		keys := listKeys(k, v.l[0])
		if keys == nil || v.l[0].k != kMap {
			return Node{k: kMap}
		}
		fs := make([]Field, 0, len(v.l)+1)
		fs = append(fs, Field{k: ".", v: Node{k: kMap}})
		var buf []byte
		for _, it := range v.l {
			kv := make([]Field, 0, len(keys))
			for _, kk := range keys {
				if x, ok := it.get(kk); ok {
					kv = append(kv, Field{k: kk, v: x})
				}
			}
			buf = append(buf[:0], "k:"...)
			buf = compactJSON(buf, M(kv...))
			fs = append(fs, Field{k: string(buf), v: fset(it.m, true, depth-1)})
		}
		return M(fs...)
	}
	return Node{k: kMap}
}

// managedEntry builds one metadata.managedFields item.
func managedEntry(apiVersion, manager, operation, subresource, time string, fields Node) Node {
	f := []Field{
		FS("apiVersion", apiVersion),
		FS("fieldsType", "FieldsV1"),
		F("fieldsV1", fields),
		FS("manager", manager),
		FS("operation", operation),
		FS("time", time),
	}
	if subresource != "" {
		f = append(f, FS("subresource", subresource))
	}
	return M(f...)
}
