package tart

import (
	"slices"
	"strings"
	"testing"
)

func TestRedactArgs(t *testing.T) {
	tests := []struct {
		in, want []string
	}{
		{[]string{"get", "vm"}, []string{"get", "vm"}},
		{[]string{"run", "vm", "--dir", "w:https://bob:hunter2@example.com/a.tar.gz:ro"},
			[]string{"run", "vm", "--dir", "w:https://bob:REDACTED@example.com/a.tar.gz:ro"}},
		{[]string{"run", "vm", "--disk", "nbd://u:pw@nas:10809/x:sync=full"},
			[]string{"run", "vm", "--disk", "nbd://u:REDACTED@nas:10809/x:sync=full"}},
		{[]string{"run", "vm", "--dir", "https://example.com/public.tar.gz"}, []string{"run", "vm", "--dir", "https://example.com/public.tar.gz"}},
		{[]string{"exec", "-i", "vm", "sh", "-c", "TOKEN=abc ./deploy"}, []string{"exec", "-i", "vm", "sh", "<2 args redacted>"}},
		{[]string{"exec", "vm", "env"}, []string{"exec", "vm", "env"}},
		{[]string{"x", "API_TOKEN=abc", "--password=xyz", "mode=fast"}, []string{"x", "API_TOKEN=REDACTED", "--password=REDACTED", "mode=fast"}},
	}
	for _, tt := range tests {
		got := RedactArgs(tt.in)
		if !slices.Equal(got, tt.want) {
			t.Errorf("RedactArgs(%q)\n got %q\nwant %q", tt.in, got, tt.want)
		}
		for _, s := range []string{"hunter2", ":pw@", "abc", "xyz"} {
			if strings.Contains(strings.Join(got, " "), s) {
				t.Errorf("secret %q survived in %q", s, got)
			}
		}
	}
}

func TestCredentialsNeverPrinted(t *testing.T) {
	c := Credentials{Username: "bob", Password: "hunter2", Hostname: "ghcr.io"}
	for _, s := range []string{c.String(), c.GoString()} {
		if strings.Contains(s, "hunter2") {
			t.Fatalf("password printed: %s", s)
		}
	}
}
