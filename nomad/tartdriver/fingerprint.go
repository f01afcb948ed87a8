package tartdriver

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"time"

	"github.com/hashicorp/nomad/plugins/drivers"
	"github.com/hashicorp/nomad/plugins/shared/structs"
	"github.com/tartanhq/tartan/nomad/driverkit"
	"github.com/tartanhq/tartan/slots"
	"github.com/tartanhq/tartan/tart"
	"golang.org/x/sys/unix"
)

// Fingerprint reports tart's presence and health every 30 s.
func (d *Driver) Fingerprint(ctx context.Context) (<-chan *drivers.Fingerprint, error) {
	return driverkit.Periodic(ctx, fingerprintPeriod, d.ctx.Done(), d.ctx.Done(), func() (*drivers.Fingerprint, bool) {
		return d.fingerprint(ctx), true
	}), nil
}

func (d *Driver) fingerprint(ctx context.Context) *drivers.Fingerprint {
	d.mu.RLock()
	pc, client, pool := d.config, d.tart, d.pool
	d.mu.RUnlock()
	if pc == nil {
		return &drivers.Fingerprint{Health: drivers.HealthStateUndetected, HealthDescription: "plugin not configured yet"}
	}
	if client == nil {
		_, err := tart.New(tart.Options{Binary: pc.TartBinary})
		return &drivers.Fingerprint{Health: drivers.HealthStateUndetected,
			HealthDescription: fmt.Sprintf("tart not found (%v): install it (brew install cirruslabs/cli/tart) or set tart_binary in the plugin config", err)}
	}
	attrs := map[string]*structs.Attribute{"driver.tart.binary": structs.NewStringAttribute(client.Binary())}
	fp := &drivers.Fingerprint{Attributes: attrs, Health: drivers.HealthStateHealthy, HealthDescription: drivers.DriverHealthy}

	pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	v, err := client.Version(pctx)
	if err != nil {
		fp.Health, fp.HealthDescription = drivers.HealthStateUnhealthy, fmt.Sprintf("`%s --version` failed: %v", client.Binary(), err)
		return fp
	}
	attrs["driver.tart.version"] = structs.NewStringAttribute(v.String())
	// The probe really runs tart against TART_HOME, as the driver will.
	if _, err := client.List(pctx, tart.ListOptions{Source: "local"}); err != nil {
		fp.Health = drivers.HealthStateUnhealthy
		fp.HealthDescription = fmt.Sprintf("`tart list` failed: %v; check that TART_HOME (%s) is writable by the Nomad client's user and, on macOS 15+, that this user's login keychain is unlocked", err, tartHome(pc))
		return fp
	}
	for _, k := range slots.Kinds() {
		holders, err := pool.Holders(k)
		if err != nil {
			continue
		}
		limit := pool.Limit(k)
		attrs[fmt.Sprintf("driver.tart.%s_vms_running", k)] = structs.NewIntAttribute(int64(len(holders)), "")
		if limit > 0 {
			attrs[fmt.Sprintf("driver.tart.%s_vms_max", k)] = structs.NewIntAttribute(int64(limit), "")
			attrs[fmt.Sprintf("driver.tart.%s_slots_free", k)] = structs.NewIntAttribute(int64(max(limit-len(holders), 0)), "")
		}
	}
	if free, err := freeBytes(tartHome(pc)); err == nil {
		attrs["driver.tart.home_free_gb"] = structs.NewIntAttribute(int64(free>>30), "GB")
	}
	if runtime.GOOS == "darwin" {
		if w := dhcpLeaseWarning(ctx); w != "" {
			attrs["driver.tart.dhcp_lease_warning"] = structs.NewStringAttribute(w)
		}
	}
	return fp
}

// tartHome is where tart keeps VMs: the plugin option, $TART_HOME, ~/.tart.
func tartHome(pc *PluginConfig) string {
	if pc.TartHome != "" {
		return pc.TartHome
	}
	if h := os.Getenv("TART_HOME"); h != "" {
		return h
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".tart")
}

// freeBytes is the space available to unprivileged users on path's file
// system (the nearest existing parent when path does not exist yet).
func freeBytes(path string) (uint64, error) {
	for p := path; ; p = filepath.Dir(p) {
		var st unix.Statfs_t
		err := unix.Statfs(p, &st)
		if err == nil {
			return uint64(st.Bavail) * uint64(st.Bsize), nil
		}
		if p == filepath.Dir(p) {
			return 0, err
		}
	}
}

const internetSharingPlist = tart.InternetSharingPlist

// leaseSeconds reads DHCPLeaseTimeSecs from `defaults read ... bootpd`
// output; absent means macOS's one-day default.
func leaseSeconds(defaultsOutput string) int {
	return tart.DHCPLeaseSeconds([]byte(defaultsOutput))
}

// leaseWarning applies the one lease rule shared with the GitLab executor.
func leaseWarning(secs int) string { return tart.DHCPLeaseWarning(secs, internetSharingPlist) }

func dhcpLeaseWarning(ctx context.Context) string {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	out, _ := exec.CommandContext(ctx, "/usr/bin/defaults", "read", internetSharingPlist, "bootpd").Output()
	return leaseWarning(leaseSeconds(string(out)))
}
