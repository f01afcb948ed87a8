package containerdriver

import (
	"bytes"
	"testing"

	"github.com/shoenig/test/must"
)

func TestCRCollapser(t *testing.T) {
	for _, c := range []struct {
		in   []string
		want string
	}{
		{[]string{"1\r\r\n2\r\n"}, "1\r\n2\r\n"},
		{[]string{"a\r", "\r\nb"}, "a\r\nb"},
		{[]string{"progress 1\rprogress 2\r", "done\n"}, "progress 1\rprogress 2\rdone\n"},
		{[]string{"plain\n", "no cr"}, "plain\nno cr"},
		{[]string{"trailing\r"}, "trailing\r"},
		{[]string{"\r\r\r"}, "\r\r\r"},
	} {
		var out bytes.Buffer
		w := &crCollapser{w: &out}
		for _, s := range c.in {
			n, err := w.Write([]byte(s))
			must.NoError(t, err)
			must.Eq(t, len(s), n)
		}
		must.NoError(t, w.Flush())
		must.Eq(t, c.want, out.String(), must.Sprintf("%q", c.in))
	}
}
