//go:build linux

package testnetns

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
)

// RandomHex returns n random bytes in hex (2n characters): container IDs
// are RandomHex(32).
func RandomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// RandomUID returns a random pod UID in the 8-4-4-4-12 form.
func RandomUID() string {
	h := RandomHex(16)
	return fmt.Sprintf("%s-%s-%s-%s-%s", h[:8], h[8:12], h[12:16], h[16:20], h[20:])
}
