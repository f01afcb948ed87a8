package slots

import (
	"fmt"
	"strings"
)

// Kind is a class of guest that has its own limit.
type Kind string

const (
	KindMacOS Kind = "macos"
	KindLinux Kind = "linux"
)

// Unlimited as a limit means "count the holders but never make anyone wait".
const Unlimited = 0

// DefaultMacOSLimit is Apple's licence limit: two macOS guests per host.
const DefaultMacOSLimit = 2

// DefaultLinuxLimit is Unlimited: the licence limit concerns macOS guests only
// (tart-cli.md §4.1 leaves open whether the framework counts Linux guests;
// operators who find it does can set a limit).
const DefaultLinuxLimit = Unlimited

// Kinds lists every kind this package knows, in a stable order.
func Kinds() []Kind { return []Kind{KindMacOS, KindLinux} }

// DefaultLimits returns a fresh map of the default limit per kind.
func DefaultLimits() map[Kind]int {
	return map[Kind]int{KindMacOS: DefaultMacOSLimit, KindLinux: DefaultLinuxLimit}
}

func (k Kind) valid() bool { return k == KindMacOS || k == KindLinux }

// KindForOS maps an operating system name as tart reports it (`tart get`
// says "darwin" or "linux") or as users write it ("macos") to a Kind.
func KindForOS(os string) (Kind, error) {
	switch strings.ToLower(strings.TrimSpace(os)) {
	case "darwin", "macos", "macosx", "osx":
		return KindMacOS, nil
	case "linux":
		return KindLinux, nil
	}
	return "", fmt.Errorf("%w: guest OS %q (want darwin/macos or linux)", ErrUnknownKind, os)
}
