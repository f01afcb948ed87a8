package tartsim

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func testHome(t *testing.T) (*home, *env) {
	t.Helper()
	var stderr bytes.Buffer
	root := t.TempDir()
	e := &env{stderr: &stderr, getenv: func(k string) string {
		if k == "TART_HOME" {
			return root
		}
		return ""
	}}
	h, err := openHome(e)
	if err != nil {
		t.Fatal(err)
	}
	e.home = h
	return h, e
}

// A held entry survives GC; released, it is gone.
func TestTmpEntryHeldAgainstGC(t *testing.T) {
	h, e := testHome(t)
	dir, err := h.newTmpDir("work")
	if err != nil {
		t.Fatal(err)
	}
	file, err := h.newTmpFile("set-disk-x")
	if err != nil {
		t.Fatal(err)
	}
	h.gcTmp(e)
	for _, te := range []*tmpEntry{dir, file} {
		if _, err := os.Stat(te.path); err != nil {
			t.Fatalf("GC removed held entry %s: %v", te.path, err)
		}
		te.release()
		if _, err := os.Stat(te.path); !os.IsNotExist(err) {
			t.Fatalf("released entry %s still exists (%v)", te.path, err)
		}
	}
}

// A resumable entry held by another command is waited for, then reused.
func TestTmpEntryWaitsForHolder(t *testing.T) {
	h, _ := testHome(t)
	p := filepath.Join(h.tmpDir(), "md5")
	if err := os.Mkdir(p, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(p, "partial"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	holder, err := flockPath(p, false)
	if err != nil || holder == nil {
		t.Fatalf("lock: %v", err)
	}
	got := make(chan *tmpEntry, 1)
	go func() {
		te, err := h.newTmpDir("md5")
		if err != nil {
			t.Error(err)
		}
		got <- te
	}()
	select {
	case <-got:
		t.Fatal("entry handed out while another command holds it")
	case <-time.After(200 * time.Millisecond): // proves the wait; not a synchronisation
	}
	holder.unlock()
	select {
	case te := <-got:
		if _, err := os.Stat(filepath.Join(te.path, "partial")); err != nil {
			t.Fatalf("partial download lost: %v", err)
		}
		te.unlock()
	case <-time.After(10 * time.Second):
		t.Fatal("still waiting after the holder released the entry")
	}
}

// Releasing an entry that was moved into place never deletes a newer entry
// that took its name.
func TestTmpEntryReleaseSparesNewerEntry(t *testing.T) {
	h, _ := testHome(t)
	old, err := h.newTmpDir("md5")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(old.path, filepath.Join(h.root, "moved")); err != nil {
		t.Fatal(err)
	}
	newer, err := h.newTmpDir("md5")
	if err != nil {
		t.Fatal(err)
	}
	defer newer.release()
	old.release()
	if _, err := os.Stat(newer.path); err != nil {
		t.Fatalf("newer entry deleted: %v", err)
	}
	if _, err := os.Stat(filepath.Join(h.root, "moved")); err != nil {
		t.Fatalf("moved entry deleted: %v", err)
	}
}
