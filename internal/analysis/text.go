package analysis

import "fmt"

// FirstN keeps the first n items of a list for a message or evidence,
// and, when there are more, ends it with "and M more".
func FirstN(items []string, n int) []string {
	if len(items) <= n {
		return items
	}
	return append(items[:n:n], fmt.Sprintf("and %d more", len(items)-n))
}
