package app

import (
	"os"
	"strings"
	"testing"
)

// docs/roles.md shows the permission table as a matrix; it must say exactly
// what the code enforces.
func TestRolesDocMatchesPolicy(t *testing.T) {
	doc, err := os.ReadFile("../docs/roles.md")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[Action]bool{}
	for _, line := range strings.Split(string(doc), "\n") {
		cells := strings.Split(line, "|")
		if len(cells) != 7 || !strings.Contains(cells[1], ".") {
			continue
		}
		act := Action(strings.TrimSpace(cells[1]))
		seen[act] = true
		for i, role := range AllRoles {
			doc := strings.TrimSpace(cells[2+i]) == "✓"
			if code := Allowed([]string{role}, act); code != doc {
				t.Errorf("%s for %s: docs/roles.md says %v, the code says %v", act, role, doc, code)
			}
		}
	}
	for act := range permissions {
		if !seen[act] {
			t.Errorf("%s is in the permission table but not in docs/roles.md", act)
		}
	}
}
