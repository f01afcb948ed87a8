// Command gitlab-tart-executor is the GitLab Runner custom executor for
// Tart VMs: `gitlab-tart-executor config|prepare|run|cleanup`. See
// docs/gitlab.md.
package main

import (
	"os"

	"github.com/tartanhq/tartan/gitlab"
)

func main() {
	os.Exit(gitlab.Main(os.Args[1:], os.Stdout, os.Stderr))
}
