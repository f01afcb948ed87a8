package drivertest

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/nomad/client/allocdir"
	"github.com/hashicorp/nomad/plugins/drivers"
	"github.com/shoenig/test/must"
)

func TestEventuallyPollsUntilTrue(t *testing.T) {
	n := 0
	Eventually(t, 10*time.Second, "the third poll", func() bool { n++; return n == 3 })
	must.Eq(t, 3, n)
}

func TestReadLog(t *testing.T) {
	dir := t.TempDir()
	task := &drivers.TaskConfig{Name: "web", AllocDir: dir}
	logDir := task.TaskDir().LogDir
	must.Eq(t, filepath.Join(dir, allocdir.SharedAllocName, allocdir.LogDirName), logDir)
	must.Eq(t, "", ReadLog(t, task, "stdout"))
	must.NoError(t, os.MkdirAll(logDir, 0o755))
	must.NoError(t, os.WriteFile(filepath.Join(logDir, "web.stdout.0"), []byte("hello\n"), 0o644))
	must.Eq(t, "hello\n", ReadLog(t, task, "stdout"))
}
