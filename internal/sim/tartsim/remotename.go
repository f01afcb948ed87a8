package tartsim

import (
	"fmt"
	"regexp"
	"strings"
)

// remoteName is host[:port]/namespace[:tag|@sha256:hex] (tart-cli.md §2).
type remoteName struct {
	host      string // with ":port" when given
	namespace string
	tag       string // "latest" when neither tag nor digest was given
	digest    string // "sha256:<hex>"
}

var remoteNameRE = regexp.MustCompile(`^([A-Za-z0-9]+(?:[.-][A-Za-z0-9]+)*(?::[0-9]+)?)/` +
	`([A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*(?:/[A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*)*)` +
	`(?::([A-Za-z0-9._-]+)|@(sha256:[a-f0-9]{64}))?$`)

func parseRemoteName(s string) (remoteName, error) {
	m := remoteNameRE.FindStringSubmatch(s)
	if m == nil || strings.Contains(s, "..") {
		return remoteName{}, fmt.Errorf("failed to parse remote name: %s", s)
	}
	rn := remoteName{host: m[1], namespace: m[2], tag: m[3], digest: m[4]}
	if rn.tag == "" && rn.digest == "" {
		rn.tag = "latest"
	}
	return rn, nil
}

func (r remoteName) String() string {
	if r.digest != "" {
		return r.host + "/" + r.namespace + "@" + r.digest
	}
	return r.host + "/" + r.namespace + ":" + r.tag
}

func (r remoteName) withDigest(d string) remoteName {
	return remoteName{host: r.host, namespace: r.namespace, digest: d}
}

// hostDir is the cache directory name of the host (":" percent-encoded).
func (r remoteName) hostDir() string { return strings.ReplaceAll(r.host, ":", "%3A") }
