package tartsim

import (
	"bytes"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func writeSparse(t *testing.T, path string) []byte {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(sparseTestSize); err != nil {
		t.Fatal(err)
	}
	data := bytes.Repeat([]byte("tart"), 4096)
	if _, err := f.WriteAt(data, 10<<20); err != nil {
		t.Fatal(err)
	}
	return data
}

func checkSparseCopy(t *testing.T, dst string, data []byte) {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Stat(dst, &st); err != nil {
		t.Fatal(err)
	}
	if st.Size != sparseTestSize || st.Blocks*512 > 8<<20 {
		t.Fatalf("copy size %d allocated %d: holes were written", st.Size, st.Blocks*512)
	}
	f, err := os.Open(dst)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got := make([]byte, len(data))
	if _, err := f.ReadAt(got, 10<<20); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("data lost: %v", err)
	}
}

func TestCopySparseKeepsHolesAndData(t *testing.T) {
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	data := writeSparse(t, src)
	if err := copySparse(src, dst); err != nil {
		t.Fatal(err)
	}
	checkSparseCopy(t, dst, data)
}

func TestCopyNonZeroFallback(t *testing.T) {
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	data := writeSparse(t, src)
	in, _ := os.Open(src)
	defer in.Close()
	out, _ := os.Create(dst)
	if err := out.Truncate(sparseTestSize); err != nil {
		t.Fatal(err)
	}
	if err := copyNonZero(in, out, 0, sparseTestSize); err != nil {
		t.Fatal(err)
	}
	out.Close()
	checkSparseCopy(t, dst, data)
}

const sparseTestSize = 64 << 20
