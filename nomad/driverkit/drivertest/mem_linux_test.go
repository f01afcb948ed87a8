package drivertest

import (
	"os"
	"testing"

	"github.com/shoenig/test/must"
)

func TestMemoryOfThisProcess(t *testing.T) {
	rss := RSS(os.Getpid())
	must.Positive(t, rss)
	private := PrivateMemory(os.Getpid())
	must.Positive(t, private)
	must.Eq(t, int64(0), RSS(0))
	must.Eq(t, int64(0), PrivateMemory(-1))
}
