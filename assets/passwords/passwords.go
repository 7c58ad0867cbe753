// Package passwords ships the list of commonly used passwords that Ward
// refuses for new passwords (NIST SP 800-63B §5.1.1.2). common.txt is
// derived from SecLists' "10 million password list, top 1,000,000" (Mark
// Burnett's 2015 corpus): lowercased, 8–128 characters, duplicates removed,
// the 100,000 most frequent, most frequent first. docs/passwords.md says
// where it came from, its license and how to rebuild it.
package passwords

import (
	_ "embed"
	"sort"
	"strings"
	"sync"
)

//go:embed common.txt
var common string

var (
	once   sync.Once
	sorted []string // substrings of common: no copy of the list is made
)

func load() {
	sorted = strings.Split(strings.TrimRight(common, "\n"), "\n")
	sort.Strings(sorted)
}

// Common tells whether pw (already lowercased by the caller) is on the
// list. The first call sorts the list once (≈100k strings, a few ms).
func Common(lowered string) bool {
	once.Do(load)
	i := sort.SearchStrings(sorted, lowered)
	return i < len(sorted) && sorted[i] == lowered
}

// Len is the number of passwords on the list.
func Len() int {
	once.Do(load)
	return len(sorted)
}
