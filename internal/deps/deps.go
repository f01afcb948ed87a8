// Package deps pins the module's third-party dependencies while the packages
// that use them are being written. It is removed once every dependency has a
// real importer.
package deps

import (
	_ "github.com/BurntSushi/toml"
	_ "github.com/creack/pty"
	_ "github.com/hashicorp/go-hclog"
	_ "github.com/hashicorp/nomad/api"
	_ "github.com/hashicorp/nomad/drivers/shared/eventer"
	_ "github.com/hashicorp/nomad/plugins"
	_ "github.com/hashicorp/nomad/plugins/drivers"
	_ "github.com/hashicorp/nomad/plugins/drivers/testutils"
	_ "github.com/hashicorp/nomad/plugins/shared/hclspec"
	_ "github.com/shoenig/test/must"
	_ "golang.org/x/crypto/ssh"
	_ "golang.org/x/sys/unix"
)
