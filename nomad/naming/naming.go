// Package naming derives host-unique, CLI-safe workload names from Nomad
// allocations and tasks. The Tart and Apple container drivers share it.
package naming

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"strings"
)

// hashSuffixLen is "-" plus 8 hex digits.
const hashSuffixLen = 9

var (
	unsafeChars = regexp.MustCompile(`[^a-z0-9-]+`)
	allocIDRE   = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
)

// Part turns a task name into a name part of at most max characters
// (max > hashSuffixLen) made of [a-z0-9-], neither starting nor ending with
// '-'. A name that is already such a part and at most max-9 long is kept.
// Otherwise it is sanitised, cut to max-9 characters and given
// "-<8 hex of sha256(name)>", so two names that sanitising or cutting merged
// stay apart. (The Tart driver's VM names depend on exactly this rule: a
// change would orphan VMs across a plugin upgrade.)
func Part(name string, max int) string {
	t := strings.Trim(unsafeChars.ReplaceAllString(strings.ToLower(name), "-"), "-")
	cut := max - hashSuffixLen
	if t != "" && t == name && len(t) <= cut {
		return t
	}
	sum := sha256.Sum256([]byte(name))
	if len(t) > cut {
		t = t[:cut]
	}
	t = strings.Trim(t, "-") + "-" + hex.EncodeToString(sum[:4])
	return strings.TrimPrefix(t, "-")
}

// IsAllocID reports whether s has the shape of a Nomad allocation ID.
func IsAllocID(s string) bool { return allocIDRE.MatchString(s) }
