package guest

import (
	"testing"
)

func TestSSHTransport(t *testing.T) {
	noLeaks(t)
	g := startGuest(t, nil)
	s := dial(t, g.ssh)
	testTransport(t, transportCase{tr: s, signalNameKnown: true})
}
