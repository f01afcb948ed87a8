package warm

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"

	"github.com/tartanhq/tartan/tart"
)

// Prefix starts the tart name of every VM this package manages.
const Prefix = "tartan-warm-"

// buildPrefix marks a snapshot still being built (never used by jobs).
const buildPrefix = Prefix + "build-"

// Spec is what a snapshot is built from. Two specs with the same Key share
// snapshots; any other difference means another snapshot.
type Spec struct {
	Image  string // tart name to clone: remote (registry) or local
	Digest string // image digest ("sha256:…"); "" = resolved with `tart fqn` for a remote name
	// Size applied with `tart set` before the snapshot boots (0 = the image's).
	CPU, MemoryMB, DiskSizeGB int
	// Shares of the VM. Their names, tags and read-only flags are part of
	// the saved state's configuration: jobs must run the clone with the
	// same set (their host paths may be per-job stable directories).
	Shares []tart.Share
	// WarmUp is an admin script run in the guest (by /bin/sh) after it is
	// ready and before it is suspended ("" = none).
	WarmUp      string
	Credentials *tart.Credentials // registry credentials for the clone; not part of the key
	// Configure, when set, sizes the fresh clone instead of CPU/MemoryMB/
	// DiskSizeGB: the tool's own cold-path `tart set` code, so a warm VM
	// is configured exactly like a cold one. ConfigKey must then describe
	// its inputs (it is part of the key). Build sets a random MAC after it.
	Configure func(ctx context.Context, vm string) error
	ConfigKey string
}

// Key is a short hash of everything that makes a snapshot of s differ.
func (s Spec) Key() string {
	h := sha256.New()
	fmt.Fprintf(h, "image=%s\ndigest=%s\ncpu=%d\nmem=%d\ndisk=%d\nconfig=%s\n", s.Image, s.Digest, s.CPU, s.MemoryMB, s.DiskSizeGB, s.ConfigKey)
	for _, k := range shareKeys(s.Shares) {
		fmt.Fprintf(h, "share=%s\n", k)
	}
	fmt.Fprintf(h, "warmup=%x\n", sha256.Sum256([]byte(s.WarmUp)))
	return hex.EncodeToString(h.Sum(nil))[:12]
}

// imageID identifies the image (not its digest): a snapshot of a new
// digest replaces the slot's snapshot of the same image.
func (s Spec) imageID() string {
	sum := sha256.Sum256([]byte(s.Image))
	return hex.EncodeToString(sum[:])[:8]
}

func shareKeys(shares []tart.Share) []string {
	out := make([]string, 0, len(shares))
	for _, sh := range shares {
		out = append(out, fmt.Sprintf("%s|%s|%v", sh.Name, sh.Tag, sh.ReadOnly))
	}
	sort.Strings(out)
	return out
}

// SameShares reports whether dirs can be used with a snapshot of s: the
// same names, tags and read-only flags (paths may differ).
func (s Spec) SameShares(dirs []tart.Share) bool {
	return strings.Join(shareKeys(s.Shares), ",") == strings.Join(shareKeys(dirs), ",")
}

// validSlot: slot IDs end up in VM and file names.
func validSlot(slot string) error {
	if slot == "" || len(slot) > 32 {
		return fmt.Errorf("%w: slot %q: use 1-32 characters [a-z0-9-]", ErrInvalid, slot)
	}
	for _, r := range slot {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return fmt.Errorf("%w: slot %q: use 1-32 characters [a-z0-9-]", ErrInvalid, slot)
		}
	}
	return nil
}

// SnapshotName is the tart name of slot's snapshot of s.
func SnapshotName(s Spec, slot string) string {
	return Prefix + slot + "-" + s.imageID() + "-" + s.Key()
}

func buildName(s Spec, slot string) string {
	return buildPrefix + slot + "-" + s.imageID() + "-" + s.Key()
}
