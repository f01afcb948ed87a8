package containerdriver

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/nomad/plugins/drivers"
	"github.com/hashicorp/nomad/plugins/shared/structs"
	"github.com/tartanhq/tartan/nomad/driverkit"
)

// Fingerprint reports the CLI's presence and the apiserver's health every
// 30 s.
func (d *Driver) Fingerprint(ctx context.Context) (<-chan *drivers.Fingerprint, error) {
	return driverkit.Periodic(ctx, fingerprintPeriod, d.ctx.Done(), d.ctx.Done(), func() (*drivers.Fingerprint, bool) {
		return d.fingerprint(ctx), true
	}), nil
}

func (d *Driver) fingerprint(ctx context.Context) *drivers.Fingerprint {
	d.mu.RLock()
	pc, client, clientErr := d.config, d.client, d.clientErr
	d.mu.RUnlock()
	if pc == nil {
		return &drivers.Fingerprint{Health: drivers.HealthStateUndetected, HealthDescription: "plugin not configured yet"}
	}
	if client == nil {
		return &drivers.Fingerprint{Health: drivers.HealthStateUndetected,
			HealthDescription: fmt.Sprintf("Apple's container CLI not found (%v): install it from https://github.com/apple/container/releases or set container_path in the plugin config", clientErr)}
	}
	attrs := map[string]*structs.Attribute{"driver.container.binary": structs.NewStringAttribute(client.Binary())}
	fp := &drivers.Fingerprint{Attributes: attrs, Health: drivers.HealthStateHealthy, HealthDescription: drivers.DriverHealthy}
	pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()

	v, err := client.CheckVersion(pctx)
	if !v.IsZero() {
		attrs["driver.container.version"] = structs.NewStringAttribute(v.String())
	}
	if err != nil {
		fp.Health, fp.HealthDescription = drivers.HealthStateUnhealthy, fmt.Sprintf("container CLI %s: %v", client.Binary(), err)
		return fp
	}
	st, err := client.SystemStatus(pctx)
	if err != nil {
		fp.Health, fp.HealthDescription = drivers.HealthStateUnhealthy, fmt.Sprintf("`container system status` failed: %v", err)
		return fp
	}
	if !st.Running {
		fp.Health = drivers.HealthStateUnhealthy
		fp.HealthDescription = fmt.Sprintf("the container API server is not running (status %q): run `container system start` as the Nomad client's user", st.Status)
		return fp
	}
	if st.APIServerVersion != "" {
		attrs["driver.container.apiserver_version"] = structs.NewStringAttribute(st.APIServerVersion)
	} else if infos, err := client.SystemVersion(pctx); err == nil {
		for _, in := range infos {
			if in.AppName != "" && in.AppName != "container" && in.Version != "" {
				attrs["driver.container.apiserver_version"] = structs.NewStringAttribute(in.Version)
			}
		}
	}
	if st.AppRoot != "" {
		attrs["driver.container.app_root"] = structs.NewStringAttribute(st.AppRoot)
	}
	return fp
}
