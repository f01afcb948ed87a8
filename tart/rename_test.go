package tart

import (
	"errors"
	"testing"
	"time"
)

func TestSimRename(t *testing.T) {
	c, _ := sim(t)
	mustClone(t, c, ubuntuImage, "a")
	ctx := ctxT(t, 30*time.Second)
	if err := c.Rename(ctx, "a", "b"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get(ctx, "b"); err != nil {
		t.Fatalf("renamed VM: %v", err)
	}
	mustClone(t, c, ubuntuImage, "a")
	if err := c.Rename(ctx, "a", "b"); !errors.Is(err, ErrUsage) {
		t.Fatalf("rename onto an existing VM: %v, want ErrUsage", err)
	}
	if _, err := RenameArgs("a", "ghcr.io/x/y:z"); !errors.Is(err, ErrUsage) {
		t.Fatalf("remote target accepted: %v", err)
	}
}
