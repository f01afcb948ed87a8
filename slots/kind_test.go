package slots

import (
	"testing"

	"github.com/shoenig/test/must"
)

func TestKindForOS(t *testing.T) {
	cases := []struct {
		in   string
		want Kind
		err  error
	}{
		{"darwin", KindMacOS, nil},
		{"macOS", KindMacOS, nil},
		{" linux ", KindLinux, nil},
		{"windows", "", ErrUnknownKind},
		{"", "", ErrUnknownKind},
	}
	for _, c := range cases {
		got, err := KindForOS(c.in)
		must.ErrorIs(t, err, c.err, must.Sprintf("input %q", c.in))
		must.EqOp(t, c.want, got, must.Sprintf("input %q", c.in))
	}
}

func TestDefaultLimits(t *testing.T) {
	must.MapEq(t, map[Kind]int{KindMacOS: 2, KindLinux: Unlimited}, DefaultLimits())
	must.EqOp(t, "/var/tmp/tartan-slots", DefaultDir())
}
