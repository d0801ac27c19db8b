package kube

import (
	"bytes"
	"encoding/json"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// continueToken reads the list's metadata.continue.
func continueToken(body []byte) (string, error) {
	lm, err := listMeta(body)
	return lm.Continue, err
}

// listMeta reads the list's metadata (continue token, remainingItemCount).
// The API server writes the list's metadata before its items, so the scan
// usually stops after a few hundred bytes instead of reading the whole
// page again.
func listMeta(body []byte) (metav1.ListMeta, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return metav1.ListMeta{}, fmt.Errorf("a LIST response that is not a JSON object")
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return metav1.ListMeta{}, fmt.Errorf("reading a LIST response: %w", err)
		}
		key, _ := t.(string)
		if key != "metadata" {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return metav1.ListMeta{}, fmt.Errorf("reading a LIST response: %w", err)
			}
			continue
		}
		var lm metav1.ListMeta
		if err := dec.Decode(&lm); err != nil {
			return metav1.ListMeta{}, fmt.Errorf("reading a LIST response's metadata: %w", err)
		}
		return lm, nil
	}
	return metav1.ListMeta{}, nil
}

// asKind turns a PartialObjectMetadataList into a list of gk objects that
// carry only their metadata, so they are read like any other page.
func asKind(body []byte, gk schema.GroupKind, gv schema.GroupVersion) ([]byte, error) {
	var pl metav1.PartialObjectMetadataList
	if err := json.Unmarshal(body, &pl); err != nil {
		return nil, err
	}
	type item struct {
		APIVersion string            `json:"apiVersion"`
		Kind       string            `json:"kind"`
		Metadata   metav1.ObjectMeta `json:"metadata"`
	}
	list := struct {
		APIVersion string          `json:"apiVersion"`
		Kind       string          `json:"kind"`
		Metadata   metav1.ListMeta `json:"metadata"`
		Items      []item          `json:"items"`
	}{APIVersion: gv.String(), Kind: gk.Kind + "List", Metadata: pl.ListMeta, Items: make([]item, 0, len(pl.Items))}
	for _, it := range pl.Items {
		list.Items = append(list.Items, item{APIVersion: gv.String(), Kind: gk.Kind, Metadata: it.ObjectMeta})
	}
	return json.Marshal(list)
}
