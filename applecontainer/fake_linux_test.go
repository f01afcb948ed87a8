package applecontainer

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shoenig/test/must"
)

// gone reports whether pid no longer runs (absent or a zombie).
func gone(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && i+2 < len(s) && s[i+2] == 'Z'
}

// TestCancelKillsProcessGroup: a cancelled call returns promptly and the
// CLI's own children die with it.
func TestCancelKillsProcessGroup(t *testing.T) {
	c, dir := fakeCLI(t, "1.2.2", `sleep 300 &
echo $! > "`+"$(dirname \"$0\")"+`/child"
wait`)
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.List(ctx, true)
	must.ErrorIs(t, err, ErrTimeout)
	must.ErrorIs(t, err, context.DeadlineExceeded)
	must.Less(t, 10*time.Second, time.Since(start))

	b, err := os.ReadFile(filepath.Join(dir, "child"))
	must.NoError(t, err)
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	must.NoError(t, err)
	deadline := time.Now().Add(5 * time.Second)
	for !gone(pid) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	must.True(t, gone(pid), must.Sprintf("child sleep %d survived the cancel", pid))
}
